"""`qabot code …`, `qabot person unbind`, `qabot staff …`: who can reach the bot (SPEC §5)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bot.runtime import Runtime
from bot.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int | None]


def add_parsers(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    row_id: Callable[[str], int],
) -> None:
    """Register the subcommands on the `qabot` parser."""
    code = commands.add_parser("code", help="binding codes").add_subparsers(
        dest="action", required=True
    )
    reissue = code.add_parser("reissue", help="a new code; the old ones stop working")
    whose = reissue.add_mutually_exclusive_group(required=True)
    whose.add_argument("--person", type=row_id, help="an officer, supervisor or admin")
    whose.add_argument("--enterprise", type=row_id, help="the enterprise's staff code")
    reissue.add_argument("--json", action="store_true")
    revoke = code.add_parser("revoke", help="make a (leaked) code unusable")
    revoke.add_argument("code")
    revoke.add_argument("--json", action="store_true")

    person = commands.add_parser("person", help="people's chat accounts").add_subparsers(
        dest="action", required=True
    )
    unbind = person.add_parser("unbind", help="detach a lost phone's accounts")
    unbind.add_argument("id", type=row_id)
    unbind.add_argument("--channel", choices=["telegram", "wecom", "console"])
    unbind.add_argument("--json", action="store_true")

    staff = commands.add_parser("staff", help="enterprise staff").add_subparsers(
        dest="action", required=True
    )
    listing = staff.add_parser("list", help="an enterprise's staff")
    listing.add_argument("--enterprise", type=row_id, required=True)
    listing.add_argument("--json", action="store_true")
    remove = staff.add_parser("remove", help="a staff member who left")
    remove.add_argument("id", type=row_id)
    remove.add_argument("--json", action="store_true")


def cmd_code(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases import access

    async def work(runtime: Runtime) -> dict[str, Any]:
        now = runtime.core.clock.now()
        async with runtime.core.sessions() as session, session.begin():
            if args.action == "revoke":
                revoked = await access.revoke_code(session, args.code, now)
                return {"code": revoked.code, "revoked": True}
            if args.person is not None:
                code, expires = await access.reissue_person_code(session, args.person, now)
                owner = {"person": args.person}
            else:
                code, expires = await access.reissue_enterprise_code(session, args.enterprise, now)
                owner = {"enterprise": args.enterprise}
            return {**owner, "code": code, "expires_at": expires.isoformat()}

    result = _run(settings, work)
    if args.action == "revoke":
        text = f"code {result['code']} revoked"
    else:
        text = f"code {result['code']}  (valid until {result['expires_at'][:10]})"
    _print(args, result, text)


def cmd_person(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases.access import unbind_person

    async def work(runtime: Runtime) -> int:
        async with runtime.core.sessions() as session, session.begin():
            return await unbind_person(session, args.id, args.channel, runtime.core.clock.now())

    removed = _run(settings, work)
    result = {"id": args.id, "channel": args.channel, "unbound": removed}
    _print(args, result, f"person {args.id}: {removed} account(s) unbound")


def cmd_staff(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases.access import list_staff, remove_staff

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.core.sessions() as session, session.begin():
            if args.action == "list":
                return {
                    "enterprise": args.enterprise,
                    "staff": await list_staff(session, args.enterprise),
                }
            person = await remove_staff(session, args.id, runtime.core.clock.now())
            return {"id": person.id, "name": person.name, "removed": True}

    result = _run(settings, work)
    if args.action == "list":
        lines = [
            f"{s['id']}  {s['name']}  {','.join(s['channels']) or '-'}  {s['joined_at'][:10]}"
            for s in result["staff"]
        ]
        text = "\n".join(lines) or "no staff"
    else:
        text = f"staff {result['id']} {result['name']} removed"
    _print(args, result, text)


def _run(settings: Settings, work: Callable[[Runtime], Any]) -> Any:
    from bot.cli import _with_runtime

    return _with_runtime(settings, work)


def _print(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    from bot.cli import _print as print_result

    print_result(args, result, text)


COMMANDS: dict[str, Command] = {"code": cmd_code, "person": cmd_person, "staff": cmd_staff}
