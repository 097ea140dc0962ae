"""`qabot officer list|edit|deactivate`, `qabot enterprise list|edit|reassign`, `qabot audit`:
running the programme for a year. Every change is audited."""

from __future__ import annotations

import argparse
from datetime import datetime, time
from typing import Any

from bot.cli import CliError, _print, _with_runtime
from bot.cli_args import row_id
from bot.runtime import Runtime
from bot.settings import Settings
from domain.dates import parse_date
from domain.roles import Role
from handlers.usecases import admin


def add_parsers(commands: Any, officer_actions: Any, enterprise_actions: Any) -> None:
    """Register the management subcommands beside `officer add` and `enterprise add`."""
    listing = officer_actions.add_parser("list", help="officers, supervisors and admins")
    listing.add_argument("--city", help="only this city's bureau (or 省局)")
    listing.add_argument("--all", action="store_true", help="include deactivated people")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_officer_list)
    edit = officer_actions.add_parser("edit", help="change name, role or bureau")
    edit.add_argument("id", type=row_id)
    edit.add_argument("--name")
    edit.add_argument("--role", choices=["officer", "supervisor", "admin"])
    edit.add_argument("--city", help="move to this city's bureau (or 省局)")
    edit.add_argument("--json", action="store_true")
    edit.set_defaults(run=cmd_officer_edit)
    deactivate = officer_actions.add_parser(
        "deactivate", help="someone who left: codes stop working, no more notifications"
    )
    deactivate.add_argument("id", type=row_id)
    deactivate.add_argument("--json", action="store_true")
    deactivate.set_defaults(run=cmd_officer_deactivate)

    listing = enterprise_actions.add_parser("list", help="enterprises and their officers")
    listing.add_argument("--officer", type=row_id)
    listing.add_argument("--city")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_enterprise_list)
    edit = enterprise_actions.add_parser("edit", help="change name or credit code")
    edit.add_argument("id", type=row_id)
    edit.add_argument("--name")
    edit.add_argument("--credit-code")
    edit.add_argument("--json", action="store_true")
    edit.set_defaults(run=cmd_enterprise_edit)
    reassign = enterprise_actions.add_parser(
        "reassign", help="give enterprises (IDs, or all of --from) to another officer"
    )
    reassign.add_argument("ids", type=row_id, nargs="*", metavar="ID")
    reassign.add_argument("--from", dest="from_officer", type=row_id, help="all of this officer's")
    reassign.add_argument("--officer", type=row_id, required=True, help="the new officer")
    reassign.add_argument(
        "--open-reports", action="store_true", help="also the open reports the old officer took"
    )
    reassign.add_argument("--json", action="store_true")
    reassign.set_defaults(run=cmd_enterprise_reassign)

    trail = commands.add_parser("audit", help="the audit trail, readable")
    trail.add_argument("--enterprise", type=row_id)
    trail.add_argument("--person", type=row_id)
    trail.add_argument("--since", help="YYYY-MM-DD (local day)")
    trail.add_argument("--limit", type=int, default=1000, help="the newest N (default 1000)")
    trail.add_argument("--json", action="store_true")
    trail.set_defaults(run=cmd_audit)


def _in_transaction(settings: Settings, work: Any) -> Any:
    async def go(runtime: Runtime) -> Any:
        async with runtime.core.sessions() as session, session.begin():
            return await work(session, runtime.core.clock.now())

    return _with_runtime(settings, go)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    return "\n".join("  ".join(str(row[c]) for c in columns) for row in rows)


def cmd_officer_list(args: argparse.Namespace, settings: Settings) -> None:
    rows = _in_transaction(
        settings, lambda session, now: admin.list_officers(session, args.city, args.all)
    )
    for row in rows:
        row["state"] = "active" if row["active"] else "deactivated"
    _print(
        args,
        {"officers": [{k: v for k, v in row.items() if k != "state"} for row in rows]},
        _table(rows, ["id", "name", "role", "bureau", "enterprises", "state"]),
    )


def cmd_officer_edit(args: argparse.Namespace, settings: Settings) -> None:
    if args.name is None and args.role is None and args.city is None:
        raise CliError("nothing to change: give --name, --role or --city")

    async def work(session: Any, now: datetime) -> dict[str, Any]:
        person = await admin.edit_officer(
            session,
            args.id,
            now,
            name=args.name,
            role=Role(args.role) if args.role else None,
            city=args.city,
        )
        return {"id": person.id, "name": person.name, "role": person.role.value}

    result = _in_transaction(settings, work)
    _print(args, result, f"officer {result['id']}: {result['name']} ({result['role']})")


def cmd_officer_deactivate(args: argparse.Namespace, settings: Settings) -> None:
    async def work(session: Any, now: datetime) -> dict[str, Any]:
        person = await admin.deactivate_officer(session, args.id, now)
        return {"id": person.id, "name": person.name, "deactivated_at": person.deactivated_at}

    result = _in_transaction(settings, work)
    result["deactivated_at"] = result["deactivated_at"].isoformat()
    _print(
        args,
        result,
        f"officer {result['id']} {result['name']} deactivated: codes revoked, no notifications",
    )


def cmd_enterprise_list(args: argparse.Namespace, settings: Settings) -> None:
    rows = _in_transaction(
        settings, lambda session, now: admin.list_enterprises(session, args.officer, args.city)
    )
    _print(
        args,
        {"enterprises": rows},
        _table(rows, ["id", "name", "city", "officer_id", "officer", "credit_code"]),
    )


def cmd_enterprise_edit(args: argparse.Namespace, settings: Settings) -> None:
    if args.name is None and args.credit_code is None:
        raise CliError("nothing to change: give --name or --credit-code")

    async def work(session: Any, now: datetime) -> dict[str, Any]:
        enterprise = await admin.edit_enterprise(
            session, args.id, now, name=args.name, credit_code=args.credit_code
        )
        return {"id": enterprise.id, "name": enterprise.name, "credit_code": enterprise.credit_code}

    result = _in_transaction(settings, work)
    _print(
        args, result, f"enterprise {result['id']}: {result['name']} {result['credit_code'] or ''}"
    )


def cmd_enterprise_reassign(args: argparse.Namespace, settings: Settings) -> None:
    if not args.ids and args.from_officer is None:
        raise CliError("name the enterprises: IDs, or --from OFFICER for all of theirs")

    async def work(session: Any, now: datetime) -> list[dict[str, Any]]:
        ids = list(args.ids)
        if args.from_officer is not None:
            ids += [row["id"] for row in await admin.list_enterprises(session, args.from_officer)]
        moved = await admin.reassign(session, ids, args.officer, now, args.open_reports)
        return [m.__dict__ for m in moved]

    moved = _in_transaction(settings, work)
    lines = [
        f"enterprise {m['enterprise_id']} {m['enterprise']}: officer {m['from_officer']} -> "
        f"{args.officer} ({m['commitments']} bureau commitments, {m['reports']} open reports)"
        for m in moved
    ]
    _print(
        args,
        {"officer": args.officer, "reassigned": moved},
        "\n".join(lines) or "no enterprise to reassign",
    )


def cmd_audit(args: argparse.Namespace, settings: Settings) -> None:
    since = None
    if args.since:
        day = parse_date(args.since)
        if day is None:
            raise CliError(f"--since: {args.since!r} is not a date (YYYY-MM-DD)")
        since = datetime.combine(day, time.min, tzinfo=settings.tz)
    if args.limit < 1:
        raise CliError("--limit: at least 1")
    entries = _in_transaction(
        settings,
        lambda session, now: admin.audit_entries(
            session, args.enterprise, args.person, since, args.limit
        ),
    )
    _print(args, {"entries": entries}, "\n".join(_audit_line(e, settings) for e in entries))


def _audit_line(entry: dict[str, Any], settings: Settings) -> str:
    at = datetime.fromisoformat(entry["at"]).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    who = f"{entry['actor']} (#{entry['actor_id']})" if entry["actor_id"] else "system/cli"
    subject = entry["subject_type"]
    if entry["subject_id"] is not None:
        subject += f" {entry['subject'] or ''}#{entry['subject_id']}".replace(" #", " #")
    detail = ", ".join(f"{k}={_safe(v)}" for k, v in sorted(entry["detail"].items()))
    return f"{at}  {who:<16}  {entry['action']:<26}  {subject}  {detail}".rstrip()


def _safe(value: Any) -> str:
    # Names and texts come from users: no control characters reach the operator's terminal.
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))
