"""Conversations with numbers: which Slack thread holds each, whether the AI may answer there,
and the counts the automatic-reply guardrails read.

One home for what the inbound job, the AI job, Slack's thread listener and the Resume AI button
all need. Pure storage and rules: no Slack, no Redis (the auto-reply mode is passed in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from multisms.batches import FAILURE
from multisms.config import Settings
from multisms.errors import NotFound
from multisms.models import Batch, Conversation, Message, Recipient, utcnow
from multisms.optouts import is_opted_out

LOOP_WINDOW = timedelta(minutes=10)
LOOP_LIMIT = 5
"""More texts than this from one number in LOOP_WINDOW: another auto-responder, not a person."""
REPEATS_LOOK_LIKE_A_BOT = 3
"""This many identical texts in a row from one number: another automated sender, not a person."""
_NOTE = re.compile(r"\s*note:", re.IGNORECASE)


@dataclass(frozen=True)
class Thread:
    """Where a conversation lives in Slack, and with whom."""

    conversation_id: int
    number: str
    channel: str | None
    thread_ts: str | None


def find_or_create(session: Session, number: str) -> Conversation:
    """The number's conversation, created once even when two messages race."""
    found = session.scalars(select(Conversation).where(Conversation.number == number)).first()
    if found:
        return found
    try:
        with session.begin_nested():
            created = Conversation(number=number)
            session.add(created)
        return created
    except IntegrityError:
        return session.scalars(select(Conversation).where(Conversation.number == number)).one()


def get(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"There is no conversation #{conversation_id}.")
    return conversation


def thread(session: Session, conversation_id: int) -> Thread:
    conversation = get(session, conversation_id)
    return Thread(conversation.id, conversation.number, conversation.slack_channel, conversation.slack_thread_ts)


def in_thread(session: Session, channel: str, thread_ts: str) -> int | None:
    """The conversation held by this Slack thread, if it is one (a batch's thread is not)."""
    return session.scalar(select(Conversation.id).where(
        Conversation.slack_channel == channel, Conversation.slack_thread_ts == thread_ts))


def is_internal_note(text: str) -> bool:
    """A reply in a conversation thread that starts with `note:` (any case, after spaces) is for the team:
    it stays in Slack and is never texted."""
    return bool(_NOTE.match(text or ""))


def texted_reply(session: Session, channel: str, ts: str) -> str | None:
    """The number a person's thread reply (its Slack channel and ts) was texted to, if the SMS went out."""
    row = session.execute(select(Message.to_number, Message.status).where(
        Message.slack_channel == channel, Message.slack_ts == ts, Message.direction == "outbound")).first()
    return row.to_number if row and row.status not in FAILURE else None


def thread_of_number(session: Session, number: str) -> Thread | None:
    conversation = session.scalars(select(Conversation).where(Conversation.number == number)).first()
    return thread(session, conversation.id) if conversation else None


def bind_thread(session: Session, conversation_id: int, channel: str, thread_ts: str) -> None:
    conversation = get(session, conversation_id)
    conversation.slack_channel, conversation.slack_thread_ts = channel, thread_ts


def note_inbound(session: Session, number: str, *, window: timedelta) -> tuple[Conversation, Batch | None]:
    """An inbound text: its conversation (stamped), and the batch it probably answers (sent to this
    number within `window`), whose thread gets a note too."""
    conversation = find_or_create(session, number)
    recent = session.scalars(
        select(Recipient).where(Recipient.number_normalized == number, Recipient.sent_at >= utcnow() - window)
        .order_by(Recipient.sent_at.desc()).limit(1)).first()
    batch = session.get(Batch, recent.batch_id) if recent else None
    conversation.last_inbound_at = utcnow()
    conversation.last_batch_id = batch.id if batch else conversation.last_batch_id
    return conversation, batch


def home_channel(session: Session, settings: Settings, conversation_id: int,
                 recent_batch_channel: str | None = None) -> str | None:
    """Where this conversation is followed in Slack, so a text or a hand-over always reaches people:
    SLACK_INBOX_CHANNEL; else the channel of the batch it answers; else where its thread already is;
    else the channel of the last batch sent to the number, however old; else the approvals channel.
    None only when Slack has no channel to offer at all (then SLACK_INBOX_CHANNEL must be set)."""
    if settings.slack_inbox_channel or recent_batch_channel:
        return settings.slack_inbox_channel or recent_batch_channel
    conversation = get(session, conversation_id)
    if conversation.slack_channel:
        return conversation.slack_channel
    last = session.scalar(select(Batch.slack_channel).join(Recipient, Recipient.batch_id == Batch.id).where(
        Recipient.number_normalized == conversation.number, Batch.slack_channel.is_not(None))
        .order_by(Recipient.id.desc()).limit(1))
    return last or settings.slack_approvals_channel


def pause_ai(session: Session, conversation_id: int) -> bool:
    """A person answered in the thread: the AI stays quiet here until someone resumes it.
    True when this paused it (it was answering until now)."""
    conversation = get(session, conversation_id)
    newly = not conversation.ai_paused
    conversation.ai_paused = True
    return newly


def resume_ai(session: Session, conversation_id: int) -> tuple[bool, str]:
    """Let the AI answer again; (whether it was paused, the number)."""
    conversation = get(session, conversation_id)
    was_paused, conversation.ai_paused = conversation.ai_paused, False
    return was_paused, conversation.number


def latest_inbound(session: Session, number: str) -> tuple[int, str] | None:
    """(message id, text) of the number's newest text to us."""
    row = session.execute(select(Message.id, Message.body).where(
        Message.direction == "inbound", Message.from_number == number)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    return (row.id, row.body) if row else None


def inbound_count(session: Session, number: str, since: datetime) -> int:
    """How many messages this number sent us since `since` (auto-responder loops send many)."""
    return session.scalar(select(func.count()).select_from(Message).where(
        Message.direction == "inbound", Message.from_number == number, Message.created_at >= since)) or 0


def looks_like_a_bot(session: Session, number: str) -> bool:
    """Another auto-responder repeats one text, or sends our own reply back to us."""
    inbound = list(session.scalars(select(Message.body).where(
        Message.direction == "inbound", Message.from_number == number)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(REPEATS_LOOK_LIKE_A_BOT)))
    if len(inbound) == REPEATS_LOOK_LIKE_A_BOT and len({body.strip().lower() for body in inbound}) == 1:
        return True
    last_sent = session.scalars(select(Message.body).where(
        Message.direction == "outbound", Message.to_number == number)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    return bool(inbound and last_sent and inbound[0].strip().lower() == last_sent.strip().lower())


def auto_reply_block(session: Session, conversation_id: int, mode: str, *, keyword: str | None = None) -> str | None:
    """Why no automatic reply may go to this conversation's number now (mode `template` or `ai`), or None.

    Checked when the text arrives and again by the AI job, since time passes in between (a STOP,
    a person's reply or a mode switch can arrive)."""
    if mode == "off":
        return "off"
    if keyword:
        return "keyword"
    conversation = get(session, conversation_id)
    number = conversation.number
    if is_opted_out(session, number):
        return "opted out"
    if mode == "ai" and conversation.ai_paused:
        return "paused: a person is answering this conversation"
    if inbound_count(session, number, utcnow() - LOOP_WINDOW) > LOOP_LIMIT:
        return "loop suspected: too many texts in a short time"
    if mode == "ai" and looks_like_a_bot(session, number):
        return "loop suspected: the number repeats itself or echoes our reply"
    return None
