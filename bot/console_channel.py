"""Chat with the bot in a terminal: buttons become numbered choices, and notifications
for the person at the keyboard appear as they are delivered."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import sys
from pathlib import Path
from typing import TextIO

from bot.delivery import Delivery
from handlers.core import Core
from handlers.dispatcher import handle
from handlers.i18n import translate
from handlers.messages import Button, IncomingEvent, IncomingFile, Reply

CHANNEL = "console"
CHAT_ID = "local"


class ConsoleChannel:
    channel = CHANNEL
    max_per_second: float | None = None

    def __init__(self, core: Core, out: TextIO = sys.stdout, stdin: TextIO = sys.stdin) -> None:
        self.core = core
        self.out = out
        self.stdin = stdin
        self.choices: list[Button] = []

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """A notification for the console's person: shown with a bell."""
        self.show(reply, notification=True)

    def show(self, reply: Reply, notification: bool = False) -> None:
        lines = []
        if notification:
            lines.append("🔔 " + (reply.title or ""))
        elif reply.title:
            lines.append(f"【{reply.title}】")
        lines.append(reply.text)
        if reply.file is not None:
            lines.append(
                translate(self.core.default_language, "export.saved", path=self._save(reply))
            )
        lines.extend(self._attachment_lines(reply))
        buttons = reply.all_buttons()
        if buttons:
            self.choices = buttons
            lines.extend(f"  [{number}] {button.label}" for number, button in enumerate(buttons, 1))
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()

    def _attachment_lines(self, reply: Reply) -> list[str]:
        """A terminal cannot show a photo: each file shown is saved, and its path printed."""
        folder = self.core.files.root.parent / "received"
        lines = []
        for file in reply.files:
            folder.mkdir(parents=True, exist_ok=True)
            name = Path(file.file_name).name
            target = folder / (name if name not in ("", ".", "..") else "file")
            target.write_bytes(file.content)
            lines.append(f"📎 {target}")
        return lines

    def _save(self, reply: Reply) -> Path:
        """A terminal cannot show a file: it is written beside the data instead."""
        assert reply.file is not None
        folder = self.core.files.root.parent / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(reply.file.file_name).name
        target.write_bytes(reply.file.content)
        return target

    def event_for(self, line: str) -> IncomingEvent:
        """Turn a typed line into an event: a number presses a shown button."""
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return IncomingEvent(
                CHANNEL, CHAT_ID, CHAT_ID, payload=self.choices[int(text) - 1].payload
            )
        if text.startswith("/file "):
            return IncomingEvent(
                CHANNEL, CHAT_ID, CHAT_ID, file=_local_file(Path(text[6:].strip()))
            )
        return IncomingEvent.from_text(CHANNEL, CHAT_ID, CHAT_ID, text)

    async def say(self, line: str) -> None:
        for reply in (await handle(self.core, self.event_for(line))).replies:
            self.show(reply)

    async def run(self, code: str | None, delivery: Delivery) -> None:
        """Read lines until end of input, handling each as the console's person."""
        self.out.write(translate(self.core.default_language, "console.prompt_choice") + "\n\n")
        if code:
            await self.say(f"/start {code}")
        worker = asyncio.create_task(delivery.run_forever(idle_seconds=0.3))
        try:
            while True:
                line = await asyncio.to_thread(self.stdin.readline)
                if not line:
                    break
                if line.strip() in ("/quit", "/exit"):
                    break
                if line.strip():
                    await self.say(line)
                    delivery.wakeup.set()
            await delivery.run_once()
        finally:
            # Wait for the worker to unwind, so its database connection is given back
            # (an abandoned aiosqlite connection keeps the process from exiting).
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


def _local_file(path: Path) -> IncomingFile:
    size = path.stat().st_size if path.is_file() else 0
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"

    async def load() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    return IncomingFile(file_name=path.name, mime_type=mime, size=size, load=load)
