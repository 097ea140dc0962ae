"""`qabot files copy-to-database`: the local folder's attachments into the database store."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import _print, _with_runtime
from bot.runtime import Runtime
from bot.settings import Settings
from storage.files import DatabaseFileStore, LocalFileStore, copy_files


def add_parsers(commands: Any) -> None:
    """Register `qabot files …` on the CLI's subcommands."""
    files = commands.add_parser("files", help="where attachments are stored")
    files.set_defaults(run=cmd_files)
    actions = files.add_subparsers(dest="action", required=True)
    copying = actions.add_parser(
        "copy-to-database",
        help="copy every attachment from QABOT_DATA_DIR/files into the database "
        "(before QABOT_FILE_STORE=database; safe to repeat)",
    )
    copying.add_argument("--json", action="store_true")


def cmd_files(args: argparse.Namespace, settings: Settings) -> None:
    async def work(runtime: Runtime) -> dict[str, Any]:
        core = runtime.core
        copied = await copy_files(
            core.sessions,
            LocalFileStore(settings.data_dir / "files"),
            DatabaseFileStore(core.sessions, core.clock),
        )
        return copied.as_dict()

    result = _with_runtime(settings, work)
    text = (
        f"copied {result['copied']}, already in the database {result['already_there']}, "
        f"missing from {settings.data_dir / 'files'}: {result['missing']}"
    )
    _print(args, result, text)
