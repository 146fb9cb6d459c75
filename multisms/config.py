"""Settings, read once from the environment (and a local `.env`), in one place.

Every other module receives a `Settings` object or calls `get_settings()`; nothing
else reads `os.environ`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/app.db"
"""Local default: a SQLite file under ./data (created on demand)."""

DEFAULT_MAX_RECIPIENTS = 250
"""Unique sendable numbers allowed in one batch (the old app's limit)."""

CONSOLE_SENDER = "CONSOLE"
"""Sender shown for messages printed by the console gateway (no Twilio configured)."""

MAX_BODY_CHARS = 1600
"""Twilio refuses longer message bodies."""


class Settings(BaseSettings):
    """The deployment's configuration; field names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    port: int = 8000

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str | None = None
    slack_app_token: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_default_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    twilio_timeout_seconds: float = 10.0
    public_base_url: str | None = None

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_embedding_model: str = "text-embedding-3-small"

    api_token: str | None = None

    multi_sms_max_recipients: int = DEFAULT_MAX_RECIPIENTS
    multi_sms_send_delay_seconds: float = 0.0
    default_region: str | None = None
    multi_sms_mps: float | None = None
    multi_sms_concurrency: int = 16
    multi_sms_approval_threshold: int | None = None
    multi_sms_pause_threshold: int = 10
    multi_sms_price_per_segment: float = 0.0083
    multi_sms_currency: str = "USD"
    multisms_allowed_users: str = ""
    multisms_allowed_channels: str = ""
    slack_inbox_channel: str | None = None
    auto_reply_mode: Literal["off", "template", "ai"] = "off"
    panel_password: str | None = None

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_driver(cls, url: str) -> str:
        """Heroku hands out `postgres://`; SQLAlchemy wants a dialect+driver name."""
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, region: str | None) -> str | None:
        return region.upper() if region else None

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def default_sender(self) -> str | None:
        """The Messaging Service when configured (it spreads load), else the From number.

        With no Twilio credentials at all (local try-out, console gateway) the sender is
        `CONSOLE`, so a fresh checkout can send without configuring anything.
        """
        configured = self.twilio_messaging_service_sid or self.twilio_default_from
        return configured or (None if self.twilio_configured else CONSOLE_SENDER)

    @property
    def allowed_users(self) -> frozenset[str]:
        return _csv(self.multisms_allowed_users)

    @property
    def allowed_channels(self) -> frozenset[str]:
        return _csv(self.multisms_allowed_channels)


def _csv(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
