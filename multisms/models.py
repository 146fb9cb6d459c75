"""The tables, as SQLAlchemy 2 mapped classes. Schema changes go through Alembic (migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, or_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Always an aware UTC datetime, also on SQLite (which stores no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None) if value and dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class Batch(Base):
    """One bulk send: a body, a sender and its recipients, followed in one Slack message."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="draft", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    """Who asked for it: `slack:U…`, `api`, `panel`, `shell`."""
    approved_by: Mapped[str | None] = mapped_column(String(64))
    """The second person who approved a batch above MULTI_SMS_APPROVAL_THRESHOLD."""
    encoding: Mapped[str] = mapped_column(String(8), default="GSM-7")
    segments: Mapped[int] = mapped_column(Integer, default=1)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    """Entries refused at intake (invalid numbers); they have no recipient row."""
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    """The intake report: invalid entries with reasons, duplicates, opted-out numbers."""
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    legacy_ref: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    """Set on batches brought over from the old app (`v3:…`), so a second import adds nothing."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    recipients: Mapped[list[Recipient]] = relationship(back_populates="batch", order_by="Recipient.id")


class Recipient(Base):
    """One number of a batch; its status only moves forward (see multisms.batches)."""

    __tablename__ = "recipients"
    __table_args__ = (
        UniqueConstraint("batch_id", "number_normalized", name="uq_recipients_batch_number"),
        Index("ix_recipients_batch_status", "batch_id", "status"),
        Index("ix_recipients_status_status_at", "status", "status_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    number_raw: Mapped[str] = mapped_column(String(64))
    number_normalized: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    """This recipient's own text when it differs from the batch's (personal texts); None: the batch body."""
    name: Mapped[str | None] = mapped_column(Text)
    """The contact's name when the batch was made: a report says who was texted even after a rename."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_at: Mapped[datetime | None]
    """When `status` last changed: a `sent` without a receipt is final once the receipt window has passed."""
    checked_at: Mapped[datetime | None]
    """When the delivery poller last asked Twilio about this message (its backoff starts here)."""
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    not_before: Mapped[datetime | None]
    """Quiet hours: not sent before this moment (a deferral, never a drop)."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="recipients")

    @classmethod
    def due_by(cls, now: datetime):
        """SQL condition: not held back by quiet hours at `now` (the send job's claim honours it)."""
        return or_(cls.not_before.is_(None), cls.not_before <= now)


class Message(Base):
    """Every SMS in and out, batch or not: the history the old app kept in `messages`."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_from_created", "from_number", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    """`inbound` or `outbound`."""
    from_number: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="SET NULL"))
    legacy_ref: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    """Set on messages brought over from the old app (`v3:…`): the key for those without a SID."""
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32), index=True)
    """A person's reply in a conversation thread that this SMS texted: where its delivery status is shown."""
    checked_at: Mapped[datetime | None]
    """When the delivery poller last asked Twilio about this thread reply (its backoff starts here)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OptOut(Base):
    """A number that asked not to be texted; no batch, reply or AI answer goes to it."""

    __tablename__ = "opt_outs"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(32))
    """`stop_keyword`, `slack`, `api`, `twilio_21610`."""


class Conversation(Base):
    """Which Slack thread holds the exchange with a number, and whether the AI may answer."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32), index=True)
    ai_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    last_batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeDocument(Base):
    """A text the AI may answer from; its `text` is the source of truth every index is built from."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (UniqueConstraint("source", "source_ref", name="uq_knowledge_documents_source_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    """`slack` (text typed in Slack), `slack_file`, `folder` (scripts/build_index.py)."""
    source_ref: Mapped[str | None] = mapped_column(String(500))
    """The Slack file id or the path inside the folder; None for typed text."""
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of title and text: an index re-embeds a document only when this changes."""
    chunk_count: Mapped[int | None] = mapped_column(Integer)
    """Set by the rebuild job; None until the document has been indexed once."""
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KnowledgeGap(Base):
    """A question the AI could not answer from the knowledge base: what to write down next."""

    __tablename__ = "knowledge_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    """`sms` (an inbound text) or `slack` (`/multisms ask`)."""
    reason: Mapped[str] = mapped_column(String(200))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    asked_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Reminder(Base):
    """A recurring send: a message, numbers and a schedule. Each occurrence becomes a normal batch
    (`kind` reminder), or an AI-written text that waits for someone's approval (`kind` digest)."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="reminder")
    body: Mapped[str] = mapped_column(Text)
    """The message (reminder) or the source text the digest is written from."""
    numbers: Mapped[str] = mapped_column(Text)
    """As typed; checked again at each run, so later opt-outs are honoured."""
    sender: Mapped[str | None] = mapped_column(String(64))
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    approved_size: Mapped[int | None]
    """How many recipients a second person approved (over MULTI_SMS_APPROVAL_THRESHOLD); None: not approved.
    Runs above the threshold go only up to this size; growing past it needs approval again."""
    approved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderRun(Base):
    """One occurrence of a reminder; unique per (reminder, time), so no occurrence runs twice."""

    __tablename__ = "reminder_runs"
    __table_args__ = (UniqueConstraint("reminder_id", "occurrence_at", name="uq_reminder_runs_occurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id", ondelete="CASCADE"))
    occurrence_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(24), index=True)
    """`sent` (a batch), `missed`, `failed`, `refused` (its author may no longer send), `unapproved` (too big
    for its approval); digests: `drafting`, `awaiting_approval`, `approved`, `dropped`, `expired`,
    `nothing_new` (its feeds and topics brought nothing not already sent: nothing written)."""
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)
    """The digest's text, as written by the AI and shown for approval."""
    error: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    source_errors: Mapped[dict | None] = mapped_column(JSON)
    """Digests: `{"feed:<url>" or "kb:<topic>": why it could not be read}` at this run; `{}` when every
    source was read, None when the run never got to read them. A source is reported once when it starts failing."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestItem(Base):
    """A news item or knowledge document one digest run saw: cited in its draft, or passed over as older.

    `key` (a hash of the feed's guid, else its link, else title and date; or of the document and its
    content) is what keeps an item out of later digests of the same reminder once this run was approved.
    """

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("run_id", "key", name="uq_digest_items_run_key"),
                      Index("ix_digest_items_reminder_key", "reminder_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reminder_runs.id", ondelete="CASCADE"))
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))
    """`feed` or `kb`."""
    origin: Mapped[str] = mapped_column(Text)
    """The feed's address, or the knowledge-base topic."""
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None]
    """The feed's date for the item; a document's last change."""
    cited: Mapped[bool] = mapped_column(Boolean, default=True)
    """False: beyond the items one digest can tell, older ones are passed over (and not offered again)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """A person the team texts: one E.164 number, a name and the other columns of the CSV it came from.

    No sending history points here, so removing a contact leaves batches, recipients and messages as they were.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    """For people to read (lists, reports, `{name}`): from the CSV's name column(s)."""
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    """Every CSV column but the number, keyed by its header as written (`Imię`, `Plate`): what `{field}` names."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactList(Base):
    """A named group of contacts (`drivers`), sent to with `list:drivers`."""

    __tablename__ = "contact_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    """As first written (`Night shift`)."""
    name_key: Mapped[str] = mapped_column(String(100), unique=True)
    """Casefolded name: `night shift`, `NIGHT SHIFT` and `Night Shift` are one list."""
    fields: Mapped[list] = mapped_column(JSON, default=list)
    """Field names its imports brought (CSV headers): a preview knows `{plate}` is a real field."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListMember(Base):
    """A contact in a list; removed with either of them."""

    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ForgottenNumber(Base):
    """A number erased on request: only its keyed hash, so an import can recognise it without keeping it."""

    __tablename__ = "forgotten_numbers"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    """HMAC-SHA256 of the E.164 number, hex (see multisms.forget)."""
    key_id: Mapped[str] = mapped_column(String(16))
    """Which key made `digest`: a changed key is noticed instead of silently matching nothing."""
    forgotten_at: Mapped[datetime] = mapped_column(default=utcnow)
