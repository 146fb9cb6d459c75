"""Settings, read once from the environment (and a local `.env`), in one place.

Every other module receives a `Settings` object or calls `get_settings()`; nothing
else reads `os.environ`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from multisms.quiet_hours import QuietHours
from multisms.timespec import zone_of

DEFAULT_DATABASE_URL = "sqlite:///data/app.db"
"""Local default: a SQLite file under ./data (created on demand)."""

DEFAULT_MAX_RECIPIENTS = 250
"""Unique sendable numbers allowed in one batch (the old app's limit)."""

CONSOLE_SENDER = "CONSOLE"
"""Sender shown for messages printed by the console gateway (no Twilio configured)."""

AUTO_REPLY_MODES = ("off", "template", "ai")
"""How incoming texts are answered: not at all, with AUTO_REPLY_TEMPLATE, or by the AI."""

MAX_BODY_CHARS = 1600
"""Twilio refuses longer message bodies."""

DEFAULT_IMPORT_MAX_ROWS = 50_000
"""Rows one contacts CSV may hold: a team's whole roster, far above one batch's recipients."""

DEFAULT_IMPORT_MAX_BYTES = 10 * 1024 * 1024
"""Bytes one contacts CSV may hold (10 MB: 50 000 rows of number, name and a few fields fit); above
the 1 MB every other request is held to, so the import routes and Slack downloads check this one."""

DEFAULT_FEED_MAX_BYTES = 2_000_000
"""A news feed bigger than this is refused while it downloads (a real feed is a few hundred KB)."""


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
    knowledge_dir: str = "data/knowledge"
    """Where each process keeps its FAISS index (a cache: rebuilt from the database when missing)."""
    ai_min_score: float = 0.35
    """Cosine similarity the best excerpt needs before the model is asked; below it a person answers."""
    ai_top_k: int = 4
    ai_max_replies: int = 5
    ai_reply_window_minutes: float = 60
    """At most AI_MAX_REPLIES AI answers per number in this many minutes."""
    ai_max_calls_per_hour: int = 500
    """Model calls (answers, `ask`, digests) allowed per clock hour across every worker; past it, people answer."""
    ai_holding_reply: str | None = None
    """Texted when the AI hands a question to a person; unset → nothing is sent."""

    api_token: str | None = None

    multi_sms_max_recipients: int = DEFAULT_MAX_RECIPIENTS
    multi_sms_send_delay_seconds: float = 0.0
    contacts_import_max_rows: int = DEFAULT_IMPORT_MAX_ROWS
    contacts_import_max_bytes: int = DEFAULT_IMPORT_MAX_BYTES
    default_region: str | None = None
    multi_sms_mps: float | None = None
    multi_sms_concurrency: int = 64
    """Requests to Twilio in flight per worker (README, "How sending works", says why 64)."""
    multi_sms_approval_threshold: int | None = None
    """Batches with more recipients than this wait for a second person's approval in Slack."""
    multi_sms_approval_hours: float = 24
    """A batch nobody approves within this long is cancelled."""
    multi_sms_pause_threshold: int = 10
    worker_heartbeat_seconds: float = 10
    """A send job's heartbeat lives this long; a dead worker's claims are taken over after it lapses."""
    recovery_interval_seconds: float = 10
    """How often an idle worker looks for orphaned batches and due work."""
    multi_sms_price_per_segment: float = 0.0083
    multi_sms_currency: str = "USD"
    multi_sms_validity_seconds: int = 14400
    """Twilio drops a message still queued after this long (ValidityPeriod), so none arrives hours late."""
    multi_sms_receipt_window_seconds: int = 3600
    """A `sent` message with no delivery receipt after this long is final: many carriers never send one."""
    quiet_hours: str | None = None
    """e.g. `21:00-08:00`: recipients for whom it is that time locally get their text when it ends."""
    default_timezone: str = "UTC"
    """How times are read when the author's own zone is unknown (terminal chat, API reminders)."""
    digest_approval_minutes: int = 120
    """A digest nobody approves within this long is dropped."""
    digest_max_chars: int = 320
    """The longest SMS a digest may be (the model is asked for less)."""
    feed_allowed_hosts: str = ""
    """Extra `host:port` pairs a feed may come from although they are not public (an intranet feed)."""
    feed_max_bytes: int = DEFAULT_FEED_MAX_BYTES
    feed_timeout_seconds: float = 10.0
    """The whole fetch of one feed (connecting, redirects, download) must finish within this."""
    multisms_allowed_users: str = ""
    multisms_allowed_channels: str = ""
    slack_inbox_channel: str | None = None
    slack_approvals_channel: str | None = None
    """Where big batches ask for approval; unset → SLACK_INBOX_CHANNEL, then the batch's own channel."""
    conversation_window_hours: float = 72
    auto_reply_mode: Literal[AUTO_REPLY_MODES] = "off"
    auto_reply_template: str = "Thanks for your message! Someone from our team will get back to you soon."
    auto_reply_window_minutes: float = 60
    inbound_help_text: str = "You are receiving texts from our team. Reply STOP to opt out, START to opt back in."
    panel_password: str | None = None
    trusted_proxies: int = 0
    """How many proxies in front of the web process add to X-Forwarded-For (Heroku's router: 1). Client
    addresses (the panel's login limit) come from that many hops back; more entries could be forged."""
    secret_key: str | None = None
    """Signs panel sessions; unset → derived from PANEL_PASSWORD so every web worker agrees."""
    forget_key: str | None = None
    """Keys the hashes of forgotten numbers; unset → SECRET_KEY. Must outlive key rotations (see multisms.forget)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_driver(cls, url: str) -> str:
        """Heroku hands out `postgres://`; SQLAlchemy wants a dialect+driver name."""
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, window: str | None) -> str | None:
        if window:
            QuietHours.parse(window)
        return window

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone_of(name)
        return name

    @field_validator("multi_sms_validity_seconds")
    @classmethod
    def _validity_range(cls, seconds: int) -> int:
        if not 1 <= seconds <= 36000:
            raise ValueError("MULTI_SMS_VALIDITY_SECONDS must be 1–36000 (Twilio's range)")
        return seconds

    @field_validator("feed_allowed_hosts")
    @classmethod
    def _host_port_pairs(cls, value: str) -> str:
        _destinations(value)
        return value

    @field_validator("feed_max_bytes", "feed_timeout_seconds", "contacts_import_max_rows", "contacts_import_max_bytes")
    @classmethod
    def _positive(cls, number: float) -> float:
        if number <= 0:
            raise ValueError("must be greater than 0")
        return number

    @field_validator("trusted_proxies")
    @classmethod
    def _hops(cls, count: int) -> int:
        if not 0 <= count <= 10:
            raise ValueError("TRUSTED_PROXIES must be 0–10: the number of proxies that add to X-Forwarded-For")
        return count

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, region: str | None) -> str | None:
        return region.upper() if region else None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, level: str) -> str:
        return level.upper() if isinstance(level, str) else level

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def status_callback_url(self) -> str | None:
        """Where Twilio reports delivery; only when Twilio can reach us (else the poller asks instead)."""
        if self.public_base_url and self.twilio_configured:
            return self.public_base_url.rstrip("/") + "/twilio/status"
        return None

    @property
    def webhooks_unverifiable(self) -> bool:
        """Twilio is configured but PUBLIC_BASE_URL is not: its signatures cannot be checked against the
        URL Twilio called, so the Twilio webhooks refuse to work (503)."""
        return self.twilio_configured and not self.public_base_url

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
    def quiet_window(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours) if self.quiet_hours else None

    @property
    def allowed_users(self) -> frozenset[str]:
        return _csv(self.multisms_allowed_users)

    @property
    def allowed_channels(self) -> frozenset[str]:
        return _csv(self.multisms_allowed_channels)

    @property
    def feed_allowed_destinations(self) -> frozenset[tuple[str, int]]:
        """FEED_ALLOWED_HOSTS as (lower-case host, port) pairs; IPv6 hosts without brackets."""
        return _destinations(self.feed_allowed_hosts)


def _destinations(value: str) -> frozenset[tuple[str, int]]:
    pairs = set()
    for entry in _csv(value):
        try:
            parts = urlsplit("//" + entry)
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if not host or not port or parts.path or parts.query or parts.fragment or parts.username:
            raise ValueError(f"FEED_ALLOWED_HOSTS: {entry!r} is not a host:port pair (e.g. feeds.intranet:8080)")
        pairs.add((host, port))
    return frozenset(pairs)


def _csv(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
