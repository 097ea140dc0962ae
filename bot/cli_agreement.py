"""`qabot agreement set|show`: an agreement's period and signatories (audited)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from bot.cli_args import row_id
from bot.runtime import Runtime
from bot.settings import Settings
from domain.agreements import days_left, mean_score
from domain.errors import DomainError, NotFound
from domain.roles import Party


def add_parser(commands: Any) -> None:
    """Register `agreement set` and `agreement show` under the `qabot` subcommands."""
    agreement = commands.add_parser("agreement", help="an agreement's period and signatories")
    actions = agreement.add_subparsers(dest="action", required=True)
    setting = actions.add_parser("set", help="set the period and signatories (audited)")
    setting.add_argument("--enterprise", required=True, type=row_id)
    setting.add_argument("--start", required=True, help="YYYY-MM-DD")
    setting.add_argument("--end", required=True, help="YYYY-MM-DD")
    setting.add_argument("--bureau-signatory", help="who signed for the bureau")
    setting.add_argument(
        "--bureau-signatory-id", type=row_id, help="the bureau's signing person, as a person id"
    )
    setting.add_argument("--enterprise-signatory", help="who signed for the enterprise")
    setting.add_argument("--json", action="store_true")
    showing = actions.add_parser("show", help="the period, days left, open commitments")
    showing.add_argument("--enterprise", required=True, type=row_id)
    showing.add_argument("--json", action="store_true")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError("error.date_invalid", value=value[:40]) from None


def cmd_agreement(args: argparse.Namespace, settings: Settings) -> None:
    from bot.cli import _with_runtime

    if args.action == "set":
        from handlers.usecases.agreements import AgreementTerms

        terms = AgreementTerms(
            starts_on=_date(args.start),
            ends_on=_date(args.end),
            bureau_signatory=args.bureau_signatory,
            enterprise_signatory=args.enterprise_signatory,
            bureau_signatory_id=args.bureau_signatory_id,
        )
        shown = _with_runtime(settings, lambda runtime: _set(runtime, args.enterprise, terms))
    else:
        shown = _with_runtime(settings, lambda runtime: _show(runtime, args.enterprise))
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        print(_text(shown))


async def _set(runtime: Runtime, enterprise_id: int, terms: Any) -> dict[str, Any]:
    from handlers.usecases.agreements import set_terms

    core = runtime.core
    async with core.sessions() as session, session.begin():
        await set_terms(session, enterprise_id, terms, core.clock.now())
    return await _show(runtime, enterprise_id)


async def _show(runtime: Runtime, enterprise_id: int) -> dict[str, Any]:
    from handlers.usecases.agreements import evaluations_of, find_agreement, open_counts
    from storage.models import Enterprise

    core = runtime.core
    today = core.today()
    async with core.sessions() as session:
        enterprise = await session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise NotFound("error.enterprise_unknown", id=enterprise_id)
        agreement = await find_agreement(session, enterprise_id)
        shown: dict[str, Any] = {
            "enterprise": enterprise.id,
            "enterprise_name": enterprise.name,
            "agreement": None,
            "start": None,
            "end": None,
            "bureau_signatory": None,
            "bureau_signatory_id": None,
            "enterprise_signatory": None,
            "days_left": None,
            "open_commitments": {"bureau": 0, "enterprise": 0},
            "evaluations": {},
        }
        if agreement is None:
            return shown
        counts = await open_counts(session, agreement.id)
        evaluations = await evaluations_of(session, agreement)
        shown.update(
            agreement=agreement.id,
            start=agreement.starts_on.isoformat() if agreement.starts_on else None,
            end=agreement.ends_on.isoformat() if agreement.ends_on else None,
            bureau_signatory=agreement.bureau_signatory,
            bureau_signatory_id=agreement.bureau_signatory_id,
            enterprise_signatory=agreement.enterprise_signatory,
            days_left=days_left(agreement.ends_on, today) if agreement.ends_on else None,
            open_commitments={party.value: counts[party] for party in Party},
            evaluations={
                party.value: {
                    "submitted": e.submitted_at.isoformat() if e.submitted_at else None,
                    "rated": len(e.ratings),
                    "mean": mean_score(e.ratings),
                    "comment": e.comment,
                }
                for party, e in evaluations.items()
            },
        )
        return shown


def _text(shown: dict[str, Any]) -> str:
    lines = [f"enterprise {shown['enterprise']} {shown['enterprise_name']}"]
    if shown["end"] is None:
        lines.append("period: not set")
    else:
        lines.append(f"period: {shown['start']} – {shown['end']} ({shown['days_left']} days left)")
    signer = shown["bureau_signatory_id"]
    lines.append(
        f"signatories: bureau {shown['bureau_signatory'] or '—'}"
        + (f" (person {signer})" if signer else "")
        + f", enterprise {shown['enterprise_signatory'] or '—'}"
    )
    open_ = shown["open_commitments"]
    lines.append(f"open commitments: bureau {open_['bureau']}, enterprise {open_['enterprise']}")
    for party, evaluation in shown["evaluations"].items():
        state = (
            f"submitted {evaluation['submitted'][:10]}, mean {evaluation['mean']}"
            if evaluation["submitted"]
            else f"in progress, {evaluation['rated']} rated"
        )
        lines.append(f"evaluation by {party}: {state}")
    return "\n".join(lines)
