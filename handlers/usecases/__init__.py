"""Use cases: one function per action, each in the caller's transaction.

They check role and scope, apply the domain rules, write the timeline and the audit trail,
and queue notifications in the same transaction. Flows, the CLI and sweeps all call these.
"""
