"""The Telegram channel, the only package that imports python-telegram-bot.

channel.py (lifecycle, polling, webhook, one update's turn), receiving.py (update → event),
rendering.py (reply → HTML messages), sending.py (Bot API calls, outbox delivery), pacing.py.
"""

from __future__ import annotations

import os

# Opt in to python-telegram-bot's coming API (time spans as timedelta): retry_after_seconds
# reads both forms, and PTB stops warning on every 429 otherwise, also inside the library.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.telegram.channel import TelegramChannel  # noqa: E402
from bot.telegram.pacing import Pacer  # noqa: E402

__all__ = ["Pacer", "TelegramChannel"]
