"""Settings from the environment or `.env` (SPEC §6): names exactly as operators use them."""

from __future__ import annotations

import hashlib
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./var/qabot.sqlite3", validation_alias="DATABASE_URL"
    )
    telegram_bot_token: str | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL"
    )
    telegram_file_base_url: str = Field(
        "https://api.telegram.org/file/bot", validation_alias="TELEGRAM_FILE_BASE_URL"
    )
    telegram_webhook_url: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    # Telegram's own limits are about 30/s overall and 1/s per chat; a self-hosted Bot API
    # server, paid broadcasts and benchmarks raise them.
    telegram_messages_per_second: float = Field(
        25, gt=0, validation_alias="TELEGRAM_MESSAGES_PER_SECOND"
    )
    telegram_chat_messages_per_second: float = Field(
        1, gt=0, validation_alias="TELEGRAM_CHAT_MESSAGES_PER_SECOND"
    )
    listen: str = Field("127.0.0.1:8080", validation_alias="QABOT_LISTEN")
    wecom_corp_id: str | None = Field(None, validation_alias="WECOM_CORP_ID")
    wecom_agent_id: str | None = Field(None, validation_alias="WECOM_AGENT_ID")
    wecom_secret: str | None = Field(None, validation_alias="WECOM_SECRET")
    wecom_token: str | None = Field(None, validation_alias="WECOM_TOKEN")
    wecom_aes_key: str | None = Field(None, validation_alias="WECOM_AES_KEY")
    wecom_api_base_url: str = Field(
        "https://qyapi.weixin.qq.com", validation_alias="WECOM_API_BASE_URL"
    )
    timezone: str = Field("Asia/Shanghai", validation_alias="QABOT_TIMEZONE")
    language: str = Field("zh_CN", validation_alias="QABOT_LANGUAGE")
    remind_at: time = Field(time(9, 0), validation_alias="QABOT_REMIND_AT")
    data_dir: Path = Field(Path("var"), validation_alias=AliasChoices("QABOT_DATA_DIR"))
    first_response_working_days: int = Field(
        2, ge=1, le=60, validation_alias=AliasChoices("QABOT_FIRST_RESPONSE_DAYS")
    )
    log_format: Literal["text", "json"] = Field("text", validation_alias="QABOT_LOG_FORMAT")
    # Named in every JSON log line and on the chats' inbox leases (unique per instance);
    # default host:pid.
    instance_name: str | None = Field(None, validation_alias="QABOT_INSTANCE")

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, colon, port = value.rpartition(":")
        if not colon or not port.isdecimal() or not 0 < int(port) < 65536:
            raise ValueError(f"QABOT_LISTEN must be host:port (e.g. 127.0.0.1:8080), not {value!r}")
        return value

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key(cls, value: str | None) -> str | None:
        if value:
            from bot.wecom.crypto import WeComCrypto

            try:
                WeComCrypto("token", value, "corp")  # derives the key, or says what is wrong
            except ValueError as error:
                raise ValueError(f"WECOM_AES_KEY: {error}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh_CN", "en"):
            raise ValueError("QABOT_LANGUAGE must be zh_CN or en")
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @property
    def webhook_secret(self) -> str:
        """TELEGRAM_WEBHOOK_SECRET, or one derived from the token: the header is always checked."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        token = self.telegram_bot_token or ""
        return hashlib.sha256(("qabot-webhook:" + token).encode()).hexdigest()

    def secret_values(self) -> list[str | None]:
        """Every configured secret, for redaction from logs and errors."""
        return [
            self.telegram_bot_token,
            self.webhook_secret if self.telegram_bot_token else self.telegram_webhook_secret,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
            self.database_password,
        ]

    @property
    def database_password(self) -> str | None:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.database_url).password  # type: ignore[return-value]
        except Exception:
            return None

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def wecom_enabled(self) -> bool:
        return all(
            (
                self.wecom_corp_id,
                self.wecom_agent_id,
                self.wecom_secret,
                self.wecom_token,
                self.wecom_aes_key,
            )
        )
