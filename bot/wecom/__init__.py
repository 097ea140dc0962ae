"""The WeCom (企业微信) channel: channel.py (the callback, one message's turn), receiving.py
(callback → event), rendering.py (reply → text and template cards), sending.py (message/send,
outbox fallback; paced by bot/pacing.py, 30 per member per minute), api.py, crypto.py."""

from __future__ import annotations

from bot.wecom.channel import WeComChannel

__all__ = ["WeComChannel"]
