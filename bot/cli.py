"""The `qabot` command line (SPEC §5)."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

from pydantic import AliasChoices, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import cli_access, cli_agreement, logs
from bot.cli_args import row_id
from bot.errors import SetupError
from bot.redact import install as install_redaction
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from domain.errors import DomainError
from domain.roles import Party, Role
from domain.text import clean_input
from handlers.i18n import translate
from storage.migrate import upgrade, upgrade_unless_newer
from storage.models import Bureau

log = logging.getLogger("qabot")


class CliError(Exception):
    """Bad input on the command line: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as scripts expect; `qabot … --help` still shows the usage.
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qabot", description="质量帮扶助手 qabot")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="create or migrate the schema to the newest version")

    officer = commands.add_parser("officer", help="officers, supervisors, admins")
    officer_actions = officer.add_subparsers(dest="action", required=True)
    officer_add = officer_actions.add_parser("add", help="add a person")
    officer_add.add_argument("--name", required=True)
    where = officer_add.add_mutually_exclusive_group(required=True)
    where.add_argument("--city", help="city bureau, or 省局 for the provincial bureau")
    where.add_argument("--province", action="store_true", help="the provincial bureau")
    officer_add.add_argument(
        "--role", choices=["officer", "supervisor", "admin"], default="officer"
    )
    officer_add.add_argument("--json", action="store_true")

    enterprise = commands.add_parser("enterprise", help="enterprises")
    enterprise_actions = enterprise.add_subparsers(dest="action", required=True)
    enterprise_add = enterprise_actions.add_parser("add")
    enterprise_add.add_argument("--name", required=True)
    enterprise_add.add_argument("--city", required=True)
    enterprise_add.add_argument("--officer", required=True, type=row_id)
    enterprise_add.add_argument("--credit-code")
    enterprise_add.add_argument(
        "--industry-code", type=_industry_code, help="GB/T 4754, e.g. C3443"
    )
    enterprise_add.add_argument("--industry-name", help="e.g. 阀门和旋塞制造")
    enterprise_add.add_argument("--json", action="store_true")

    commitment = commands.add_parser("commitment", help="agreement commitments")
    commitment_add = commitment.add_subparsers(dest="action", required=True).add_parser("add")
    commitment_add.add_argument("--enterprise", required=True, type=row_id)
    commitment_add.add_argument("--party", required=True, choices=["bureau", "enterprise"])
    commitment_add.add_argument("--text", required=True)
    commitment_add.add_argument("--due", required=True, help="YYYY-MM-DD")
    commitment_add.add_argument("--json", action="store_true")

    run = commands.add_parser("run", help="run every configured channel and the reminder scheduler")
    run.add_argument(
        "--role",
        choices=["web", "worker", "all"],
        default="all",
        help="web: receive and take turns; worker: deliver and sweep; all: both",
    )
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--code", help="bind as the person of this code first")
    remind = commands.add_parser(
        "remind", help="one reminder/escalation sweep as of an instant, deliver, exit"
    )
    remind.add_argument(
        "--now",
        help="ISO-8601 instant to sweep as of (default: now; without an offset: QABOT_TIMEZONE)",
    )
    remind.add_argument("--json", action="store_true")
    importing = commands.add_parser(
        "import", help="bulk import of officers, enterprises and commitments (see README)"
    )
    importing.add_argument("file", nargs="?", help="FILE.xlsx or FILE.csv")
    importing.add_argument(
        "--template", metavar="FILE.xlsx", help="write an empty template with an example instead"
    )
    importing.add_argument("--json", action="store_true")
    export = commands.add_parser(
        "export", help="reports, commitments and fulfilment statistics as a workbook"
    )
    export.add_argument("file", help="FILE.xlsx")
    export.add_argument("--json", action="store_true")
    demo = commands.add_parser("demo", help="create demo data for a first try")
    demo.add_argument("--json", action="store_true")
    cli_agreement.add_parser(commands)
    cli_access.add_parsers(commands, row_id)
    # Management commands live in their own modules; each sets its handler as `run`.
    from bot import cli_admin, cli_calendar, cli_files

    cli_admin.add_parsers(commands, officer_actions, enterprise_actions)
    cli_calendar.add_parsers(commands)
    cli_files.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    # `kill -USR1 <pid>` prints every thread's stack: how a hung process is diagnosed.
    faulthandler.register(signal.SIGUSR1)
    logs.configure()
    redact = install_redaction([])
    as_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        args = build_parser().parse_args(argv)
        clean_arguments(args)
        settings = Settings()
        # The log handlers first: redaction is installed on the handlers that exist.
        logs.configure(settings.log_format, settings.instance_name)
        redact = install_redaction(settings.secret_values())
        command = getattr(args, "run", None) or COMMANDS[args.command]
        sys.exit(command(args, settings) or 0)
    except (CliError, SetupError) as error:
        _fail(redact(str(error)), as_json)
    except ValidationError as error:
        _fail(_setting_error(error), as_json)
    except DomainError as error:
        _fail(translate(Settings().language, error.key, **error.params), as_json)
    except (SQLAlchemyError, ConnectionError, socket.gaierror) as error:
        _fail(redact(database_error(error)), as_json)


def _setting_error(error: ValidationError) -> str:
    """Name the environment variable (QABOT_LISTEN), not the field, and never echo its value."""
    first = error.errors()[0]
    field_name = str(first["loc"][0]) if first["loc"] else ""
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field else None
    name = (
        alias
        if isinstance(alias, str)
        else (alias.choices[0] if isinstance(alias, AliasChoices) else field_name)
    )
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"setting {name}: {message}"


def clean_arguments(args: argparse.Namespace) -> None:
    """Control characters typed (or pasted) into arguments go the way of chat text."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, name, clean_input(value))


def database_error(error: BaseException) -> str:
    """One line for a database that cannot be reached or read (PostgreSQL down, not SQLite)."""
    original = getattr(error, "orig", None) or error
    reason = " ".join(str(original).split()) or type(original).__name__
    url = make_url(Settings().database_url).render_as_string(hide_password=True)
    return f"database {url}: {reason[:300]}"


def _fail(message: str, as_json: bool) -> NoReturn:
    # One line, whatever the error carried (a proxy's HTML page, a multi-line driver message).
    message = " ".join(message.split())
    message = message if len(message) <= 400 else message[:399] + "…"
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False))
    print(f"qabot: error: {message}", file=sys.stderr)
    sys.exit(2)


def _print(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if getattr(args, "json", False) else text)


def _with_runtime(
    settings: Settings,
    work: Callable[[Runtime], Awaitable[Any]],
    migrate: Callable[[str], object] = upgrade,
) -> Any:
    """Migrate, then run `work` against a fresh runtime and close it."""
    migrate(settings.database_url)

    async def go() -> Any:
        runtime = build_runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(go())


def cmd_db(args: argparse.Namespace, settings: Settings) -> None:
    upgrade(settings.database_url)
    print("database schema is up to date")


def cmd_officer(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases.people import add_officer

    city = "省局" if args.province else args.city

    async def work(runtime: Runtime) -> tuple[int, str, str]:
        async with runtime.core.sessions() as session, session.begin():
            person, code = await add_officer(
                session, args.name, city, Role(args.role), runtime.core.clock.now()
            )
            bureau = await session.get(Bureau, person.bureau_id)
            return person.id, code, bureau.name if bureau else city

    person_id, code, bureau = _with_runtime(settings, work)
    _print(
        args,
        {"id": person_id, "code": code, "name": args.name, "role": args.role, "bureau": bureau},
        f"id {person_id}  code {code}  ({args.role}, {bureau})",
    )


def _industry_code(text: str) -> str:
    from domain.industry import parse_industry_code

    code = parse_industry_code(text)
    if code is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a GB/T 4754 code (e.g. C3443)")
    return code


def cmd_enterprise(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases.people import add_enterprise

    async def work(runtime: Runtime) -> tuple[int, str, str | None]:
        async with runtime.core.sessions() as session, session.begin():
            enterprise, code = await add_enterprise(
                session,
                args.name,
                args.city,
                args.officer,
                args.credit_code,
                runtime.core.clock.now(),
            )
            enterprise.industry_code = args.industry_code
            enterprise.industry_name = (args.industry_name or "")[:100] or None
            return enterprise.id, code, enterprise.credit_code

    enterprise_id, code, credit_code = _with_runtime(settings, work)
    _print(
        args,
        {"id": enterprise_id, "code": code, "name": args.name, "credit_code": credit_code},
        f"id {enterprise_id}  staff code {code}",
    )


def cmd_commitment(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases.commitments import add_commitment

    try:
        due = date.fromisoformat(args.due)
    except ValueError:
        raise DomainError("error.date_invalid", value=args.due) from None

    async def work(runtime: Runtime) -> int:
        async with runtime.core.sessions() as session, session.begin():
            commitment = await add_commitment(
                session,
                args.enterprise,
                Party(args.party),
                args.text,
                due,
                runtime.core.clock.now(),
            )
            return commitment.id

    commitment_id = _with_runtime(settings, work)
    _print(args, {"id": commitment_id, "due": due.isoformat()}, f"id {commitment_id}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    from bot.demo import create_demo

    codes = _with_runtime(settings, lambda runtime: create_demo(runtime.core))
    _print(args, {"codes": [{"who": who, "code": code} for who, code in codes]}, _codes_text(codes))


def _codes_text(codes: list[tuple[str, str]]) -> str:
    lines = ["演示绑定码 / demo binding codes:"]
    lines += [f"  /start {code}    {who}" for who, code in codes]
    return "\n".join(lines)


def cmd_console(args: argparse.Namespace, settings: Settings) -> None:
    _with_runtime(settings, lambda runtime: _console(runtime, args.code))


async def _console(runtime: Runtime, code: str | None) -> None:
    from bot.console_channel import ConsoleChannel
    from bot.delivery import Delivery

    channel = ConsoleChannel(runtime.core, runtime.settings.data_dir)
    await channel.run(code, Delivery(runtime.core, [channel]))


def cmd_run(args: argparse.Namespace, settings: Settings) -> None:
    from bot.demo import create_demo

    if not (settings.telegram_enabled or settings.wecom_enabled):
        # Nothing configured: the embedded default with demo data, chatting in the terminal.
        def first_try(runtime: Runtime) -> Awaitable[None]:
            async def go() -> None:
                print(_codes_text(await create_demo(runtime.core)) + "\n")
                await _console(runtime, None)

            return go()

        _with_runtime(settings, first_try)
        return
    from bot.runner import run

    _with_runtime(settings, lambda runtime: run(settings, runtime, args.role), _migrate_for_run)


def _migrate_for_run(url: str) -> None:
    if not upgrade_unless_newer(url):
        log.warning("the database is at a newer release's migration; running this release on it")


def cmd_remind(args: argparse.Namespace, settings: Settings) -> int | None:
    from bot.delivery import Delivery, close_senders, open_senders
    from bot.remind_run import deliver_until_done, sleeper_for
    from bot.runner import configured_channels
    from domain.clock import FixedClock
    from domain.reminders import QuietHours
    from handlers.usecases.reminders import sweep

    instant = _instant(args.now, settings) if args.now else None

    async def work(runtime: Runtime) -> dict[str, Any]:
        if instant is not None:
            # The whole run, delivery and quiet hours included, happens "as of" that instant.
            runtime.core.clock = FixedClock(instant)
        swept = await sweep(runtime.core)
        channels = configured_channels(settings, runtime)
        await open_senders(channels)
        try:
            delivery = Delivery(
                runtime.core, list(channels), QuietHours(runtime.core.tz), runtime.limiter
            )
            delivered = None
            if channels:
                await delivery.recover()
                outcome = await deliver_until_done(
                    delivery, runtime.core, sleeper_for(runtime.core.clock)
                )
                delivered = {**outcome.report.__dict__, "undelivered": outcome.undelivered}
        finally:
            await close_senders(channels)
        result: dict[str, Any] = swept.to_json()
        result["channels"] = [channel.channel for channel in channels]
        result["delivery"] = delivered
        result["summary"] = swept.summary() + (
            "; delivered {sent}, retried {retried}, failed {failed}, deferred {deferred}".format(
                **delivered
            )
            + (
                f"; {delivered['undelivered']} NOT delivered (still in the outbox)"
                if delivered["undelivered"]
                else ""
            )
            if delivered
            else "; no channel configured, queued only"
        )
        return result

    result = _with_runtime(settings, work)
    _print(args, result, result["summary"])
    # Non-zero for cron: something the sweep queued did not reach its person in this run.
    return 1 if result["delivery"] and result["delivery"]["undelivered"] else None


def _instant(text: str, settings: Settings) -> datetime:
    """Parse --now; a value without an offset is local time in QABOT_TIMEZONE."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--now: not an ISO-8601 instant: {text!r}") from None
    return value if value.utcoffset() is not None else value.replace(tzinfo=settings.tz)


def cmd_import(args: argparse.Namespace, settings: Settings) -> None:
    from bot.importer import ImportFileError, ProgressBar, read_rows, write_template
    from handlers.usecases.bulk_import import ImportResult, ImportRowError, import_rows

    if args.template:
        try:
            write_template(Path(args.template))
        except ImportFileError as error:
            raise CliError(str(error)) from None
        _print(args, {"template": args.template}, f"{args.template}: empty import template")
        return
    if not args.file:
        raise CliError("give FILE.xlsx or FILE.csv to import, or --template FILE.xlsx")
    try:
        rows = read_rows(Path(args.file))
    except ImportFileError as error:
        raise CliError(str(error)) from None
    bar = ProgressBar.for_terminal(sys.stderr, len(rows))

    async def work(runtime: Runtime) -> ImportResult:
        async with runtime.core.sessions() as session, session.begin():
            return await import_rows(session, rows, runtime.core.clock.now(), bar)

    try:
        result = _with_runtime(settings, work)
    except ImportRowError as error:
        reason = error.error
        if isinstance(reason, DomainError):
            reason = translate(settings.language, reason.key, **reason.params)
        raise CliError(f"row {error.row}: {reason} (nothing was imported)") from None
    finally:
        if bar is not None:
            bar.close()
    lines = [f"officer {o['id']} {o['name']}: code {o['code']}" for o in result.officers]
    lines += [
        f"enterprise {e['id']} {e['name']}: staff code {e['code']}" for e in result.enterprises
    ]
    unchanged = result.unchanged
    if result.changed_nothing:
        lines.append(
            "nothing changed: every row matches a record already there "
            f"({unchanged['officers']} officers, {unchanged['enterprises']} enterprises, "
            f"{unchanged['commitments']} commitments)"
        )
    else:
        lines.append(
            f"{result.commitments} commitments added; already there and left as they were: "
            f"{unchanged['officers']} officers, {unchanged['enterprises']} enterprises, "
            f"{unchanged['commitments']} commitments"
        )
    lines.append(f"{result.registers} instruments and certificates")
    _print(args, {**result.__dict__, "changed": not result.changed_nothing}, "\n".join(lines))


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    from handlers.usecases.export import build_workbook

    target = Path(args.file)
    if target.suffix.lower() != ".xlsx":
        raise CliError(f"{args.file}: the file name must end in .xlsx")

    async def work(runtime: Runtime) -> bytes:
        core = runtime.core
        async with core.sessions() as session:
            return await build_workbook(
                session, settings.language, core.tz, core.today(), calendar=core.calendar
            )

    content = _with_runtime(settings, work)
    try:
        target.write_bytes(content)
    except OSError as error:
        raise CliError(f"{args.file}: {error.strerror}") from None
    _print(args, {"file": str(target), "bytes": len(content)}, f"{target} ({len(content)} bytes)")


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int | None]] = {
    "db": cmd_db,
    "officer": cmd_officer,
    "enterprise": cmd_enterprise,
    "commitment": cmd_commitment,
    "demo": cmd_demo,
    "export": cmd_export,
    "import": cmd_import,
    "console": cmd_console,
    "run": cmd_run,
    "remind": cmd_remind,
    "agreement": cli_agreement.cmd_agreement,
    **cli_access.COMMANDS,
}
