"""Every request body, query string and response of the REST API, as pydantic models (digest runs:
`webhooks.api.digest_models`).

The same classes validate what comes in, shape what goes out, and generate the OpenAPI
document (`webhooks.api.openapi`), so the document cannot say one thing while the API does
another. Response field names are the old app's, which its API clients know. The intake report
(`Validation`) lives in `validation_models`, contacts in `contact_models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from multisms import models as rows
from multisms.digest_sources import read_sources
from multisms.errors import TimeProblem
from multisms.models import utcnow
from multisms.reminders import MAX_SOURCE_CHARS
from multisms.storage import BatchCounts
from multisms.timespec import describe, parse_instant
from webhooks.api.validation_models import Problem, Validation

MAX_PAGE = 200

Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time"})]
"""Written as `datetime.isoformat()` (`+00:00`, as the old app wrote it), not pydantic's `Z`."""


def _future_instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise PydanticCustomError("instant", "Write the time as text: ISO 8601 with a UTC offset.")
    try:
        return parse_instant(value, now=utcnow())
    except TimeProblem as exc:
        raise PydanticCustomError("instant", "{reason}", {"reason": str(exc)}) from None


FutureInstant = Annotated[datetime, PlainValidator(_future_instant), WithJsonSchema({
    "type": "string", "format": "date-time",
    "description": "send later: ISO 8601 with a UTC offset, in the future (within a year)"})]


# --- requests ---------------------------------------------------------------------------------

class CreateBatch(BaseModel):
    """The body of `POST /api/multi-sms/batches`."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(description="1–1600 characters; `{name}`, `{field|fallback}` make it personal")
    recipients: list[str] | None = Field(default=None, max_length=5000)
    numbers: str | None = Field(default=None, max_length=200_000,
                                description="numbers separated by commas, spaces or lines (`list:<name>` too)")
    lists: list[str] = Field(default_factory=list, max_length=100, description="contact lists to send to as well")
    sender: str | None = Field(default=None, description="+E.164 number, MG… service SID or alphanumeric")
    dry_run: bool = Field(default=False, description="validate only; nothing is stored or sent")
    scheduled_at: FutureInstant | None = None

    @model_validator(mode="after")
    def _one_list(self):
        if self.recipients is None and self.numbers is None and not self.lists:
            raise ValueError("give `recipients` (a list of numbers), `numbers` (text) or `lists`")
        if self.recipients is not None and self.numbers is not None:
            raise ValueError("give either `recipients` or `numbers`, not both")
        return self


class Reschedule(BaseModel):
    """The body of `POST /api/multi-sms/batches/{batch_id}/reschedule`."""

    model_config = ConfigDict(extra="forbid")

    scheduled_at: FutureInstant


class CreateReminder(BaseModel):
    """The body of `POST /api/reminders`."""

    model_config = ConfigDict(extra="forbid")

    schedule: str = Field(min_length=1, max_length=200, description=(
        "`every weekday at 9:00`, `every day at 18:30`, `every monday at 10:00`, or a cron expression "
        "(`0 9 * * 1-5`); may end with a time zone"))
    timezone: str | None = Field(default=None, max_length=64, description="IANA name; default DEFAULT_TIMEZONE")
    body: str = Field(min_length=1, max_length=MAX_SOURCE_CHARS, description=(
        "the message (reminder), or what the AI writes from (digest): `feed:<address>` (RSS or Atom) and "
        "`kb:<topic>` (`kb:\"opening hours\"` for several words) are sources, the rest is pasted text"))
    numbers: str = Field(min_length=1, max_length=200_000)
    sender: str | None = None
    kind: Literal["reminder", "digest"] = "reminder"


MAX_QUERY_DIGITS = 10


def _plain_digits(value: object) -> object:
    """A number in a query string is the digits 0–9 only: `int()` (and pydantic, depending on its
    version) also reads `²`, `٣`, `１２`, ` 5`, `5.0` or `1_0`, and a huge one costs time to read."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= MAX_QUERY_DIGITS):
        raise PydanticCustomError("plain_digits", f"Write a whole number: at most {MAX_QUERY_DIGITS} digits 0-9.")
    return value


QueryInt = Annotated[int, BeforeValidator(_plain_digits)]  # `?limit=20`; anything else is a 400 naming the field


class Page(BaseModel):
    """`limit` and `offset` in a query string."""

    limit: QueryInt = Field(default=50, ge=1, le=MAX_PAGE)
    offset: QueryInt = Field(default=0, ge=0, le=10**9)


class BatchListQuery(Page):
    include_recipients: bool = Field(default=False, description="each batch with its recipients")


class RecipientQuery(Page):
    limit: Annotated[int | None, BeforeValidator(_plain_digits)] = Field(
        default=None, ge=1, le=MAX_PAGE, description="all recipients when left out")
    status: str | None = Field(default=None, description="only recipients in this status")


class OptOutQuery(Page):
    format: Literal["json", "csv"] = Field(default="json", description="`csv` downloads them all")


# --- responses --------------------------------------------------------------------------------

class Error(BaseModel):
    """Every refusal: a sentence, and for bad input the fields at fault."""

    error: str
    problems: list[Problem] = Field(default_factory=list)
    validation: Validation | None = None


class Recipient(BaseModel):
    id: int
    batch_id: int
    number_raw: str
    number_normalized: str
    status: str
    sid: str | None
    error: str | None
    error_code: int | None
    attempts: int
    created_at: Timestamp
    sent_at: Timestamp | None

    @classmethod
    def of(cls, row: rows.Recipient) -> Recipient:
        error = f"{row.error_code}: {row.error_message}" if row.error_code else row.error_message
        return cls(id=row.id, batch_id=row.batch_id, number_raw=row.number_raw,
                   number_normalized=row.number_normalized, status=row.status, sid=row.sid, error=error,
                   error_code=row.error_code, attempts=row.attempts, created_at=row.created_at, sent_at=row.sent_at)


BatchStatus = Literal["draft", "awaiting_approval", "scheduled", "pending", "processing", "paused", "completed",
                      "completed_with_errors", "failed", "cancelled"]


class Batch(BaseModel):
    """One bulk send and its counters, derived from its recipients."""

    id: int
    body: str
    sender_identity: str
    status: BatchStatus
    error: str | None
    total_recipients: int
    success_count: int = Field(description="accepted by Twilio: queued, sent or delivered")
    failure_count: int = Field(description="failed or undelivered")
    invalid_count: int = Field(description="invalid numbers, refused at intake or by Twilio")
    pending_count: int = Field(description="not handed to Twilio yet; 0 once the batch has finished")
    delivered_count: int = Field(description="delivery receipt: delivered")
    undelivered_count: int = Field(description="delivery receipt: undelivered (also in failure_count)")
    opted_out_count: int
    status_counts: dict[str, int] = Field(description="recipients by status")
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    created_by: str
    created_at: Timestamp
    confirmed_at: Timestamp | None
    scheduled_at: Timestamp | None
    started_at: Timestamp | None
    completed_at: Timestamp | None
    recipients: list[Recipient] = Field(default_factory=list, description="only with include_recipients")

    @classmethod
    def of(cls, row: rows.Batch, counts: BatchCounts, recipients: list[rows.Recipient] | None = None) -> Batch:
        extra = {} if recipients is None else {"recipients": [Recipient.of(r) for r in recipients]}
        return cls(
            id=row.id, body=row.body, sender_identity=row.sender, status=row.status, error=row.error,
            total_recipients=counts.total, success_count=counts.success, failure_count=counts.failure,
            invalid_count=counts.invalid, pending_count=counts.pending, delivered_count=counts.delivered,
            undelivered_count=counts.undelivered, opted_out_count=counts.by_status.get("opted_out", 0),
            status_counts=counts.by_status, encoding=row.encoding, segments=row.segments, created_by=row.created_by,
            created_at=row.created_at, confirmed_at=row.confirmed_at, scheduled_at=row.scheduled_at,
            started_at=row.started_at, completed_at=row.completed_at, **extra)


class QuietHours(BaseModel):
    """Recipients in quiet hours (QUIET_HOURS, their local time) when the batch goes; they get it when
    the window ends."""

    deferred_count: int
    deferred_until: Timestamp | None


class CreatedBatch(BaseModel):
    batch: Batch
    validation: Validation
    quiet_hours: QuietHours


class DryRun(BaseModel):
    validation: Validation
    quiet_hours: QuietHours


class OneBatch(BaseModel):
    batch: Batch


class BatchPage(BaseModel):
    items: list[Batch]
    count: int
    total: int
    limit: int
    offset: int


class RecipientPage(BaseModel):
    items: list[Recipient]
    count: int
    total: int


class OptOut(BaseModel):
    number: str
    since: Timestamp
    source: str

    @classmethod
    def of(cls, row: rows.OptOut) -> OptOut:
        return cls(number=row.number, since=row.since, source=row.source)


class OptOutPage(BaseModel):
    items: list[OptOut]
    count: int
    total: int


class DigestSources(BaseModel):
    """What a digest is written from, as read from its body."""

    feeds: list[str]
    topics: list[str] = Field(description="knowledge-base topics")
    text: str = Field(description="the pasted text")


class Reminder(BaseModel):
    id: int
    kind: Literal["reminder", "digest"]
    schedule: str = Field(description="the schedule in words")
    cron: str
    timezone: str
    body: str
    numbers: str
    sender: str | None
    paused: bool
    next_run_at: Timestamp
    last_run_at: Timestamp | None
    created_by: str
    created_at: Timestamp
    sources: DigestSources | None = Field(description="digests only")

    @classmethod
    def of(cls, row: rows.Reminder) -> Reminder:
        return cls(id=row.id, kind=row.kind, schedule=describe(row.cron), cron=row.cron, timezone=row.timezone,
                   body=row.body, numbers=row.numbers, sender=row.sender, paused=row.paused,
                   next_run_at=row.next_run_at, last_run_at=row.last_run_at, created_by=row.created_by,
                   created_at=row.created_at, sources=DigestSources.model_validate(
                       read_sources(row.body), from_attributes=True) if row.kind == "digest" else None)


class OneReminder(BaseModel):
    reminder: Reminder


class ReminderList(BaseModel):
    items: list[Reminder]
    count: int


class Deleted(BaseModel):
    deleted: int


class HealthCheck(BaseModel):
    model_config = ConfigDict(extra="allow")

    ok: bool
    error: str | None = None
    count: int | None = Field(default=None, description="workers with a recent heartbeat")
    failed: int | None = Field(default=None, description="jobs in RQ's failed registries (retries spent)")
    failed_recently: int | None = Field(default=None, description="of those, failed in the last 15 minutes")


class Health(BaseModel):
    """Each check by name; `failing` names the ones that did not pass."""

    status: Literal["ok", "unhealthy"]
    checks: dict[str, HealthCheck]
    failing: list[str] = Field(default_factory=list)
