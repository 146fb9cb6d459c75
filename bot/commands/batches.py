"""Batch controls: `status`, `list`, `cancel`, `retry`, `resume`, `approve`, `report`, and the batch buttons.

A command and the button of the same name run the same function (`cancel 12` = Cancel on
batch #12). The status changes themselves are `multisms.controls`: single conditional
UPDATEs, so two clicks can never send twice. Sends are queued only after the change is committed.
A batch over MULTI_SMS_APPROVAL_THRESHOLD waits (`multisms.approvals`); a worker posts the request
for a second person where `approvals.channel_for` says, and tidies it once someone decides.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from bot.blocks.batch import batch_list, progress_text, recipients_view, status_label
from bot.blocks.batch import status as status_blocks
from bot.blocks.primitives import plural, who
from bot.blocks.scheduling import slack_time
from bot.commands.registry import Usage, button, command
from bot.context import Bot, Caller, Reply, refusal, say
from multisms import approvals, controls, scheduling
from multisms.batches import parse_id
from multisms.errors import BatchRejected, InvalidTransition
from multisms.models import utcnow
from multisms.queues import (
    SHOW_APPROVAL_DECISION,
    UPLOAD_REPORT,
    enqueue,
    enqueue_approval_request,
    enqueue_progress,
    enqueue_send,
)
from multisms.reports import batch_report_csv
from multisms.storage import batch_counts, get_batch, list_batches, list_recipients

LIST_LIMIT = 10


def batch_number(verb: str, rest: str) -> int:
    """`12` or `#12`."""
    batch_id = parse_id(rest)
    if batch_id is None:
        given = f"“{rest}” is not a batch number" if rest else "Which batch? Add its number"
        raise Usage(f"{given} (the # you see in the preview, e.g. 12).", f"{verb} 12")
    return batch_id


def list_scope(verb: str, rest: str) -> str:
    """`mine` (the default) or `channel`."""
    scope = rest.lower() or "mine"
    if scope not in ("mine", "channel"):
        raise Usage(f"`list` shows `mine` or `channel`, not “{rest}”.", "list channel")
    return scope


@command("status", grammar=batch_number, access="read", help={"status <id>": "what happened to a batch"})
def status(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        batch = get_batch(session, batch_id)
        counts = batch_counts(session, [batch.id])[batch.id]
        return Reply(progress_text(batch, counts), status_blocks(batch, counts))


@command("list", grammar=list_scope, access="read",
         help={"list": "your recent batches; `list channel` for this channel's"})
def list_recent(bot: Bot, caller: Caller, scope: str) -> Reply:
    if scope == "channel" and not caller.channel:
        return say("`list channel` works in a Slack channel; here, use `list`.")
    with bot.session() as session:
        if scope == "channel":
            title = f"Batches in <#{caller.channel}>"
            found, total = list_batches(session, limit=LIST_LIMIT, channel=caller.channel)
        else:
            title = "Your recent batches"
            found, total = list_batches(session, limit=LIST_LIMIT, created_by=caller.created_by)
        counts = batch_counts(session, [batch.id for batch in found])
        return Reply(title, batch_list(found, counts, title=title, total=total))


@command("report", grammar=batch_number, access="read", help={
    "report <id>": "the batch's delivery report (CSV): numbers masked in the channel; the full file in a DM to "
                   "whoever may send"})
def report(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """The upload is a job (three Slack calls); the terminal chat saves the full file where it runs."""
    with bot.session() as session:
        get_batch(session, batch_id)
        if caller.user is None:
            path = Path.cwd() / f"batch-{batch_id}-report.csv"
            path.write_bytes(batch_report_csv(session, batch_id, masked=False))
            return say(f"Saved the delivery report of batch #{batch_id} to {path}.")
    full = refusal(bot.settings, caller) is None
    enqueue(bot.redis, UPLOAD_REPORT, batch_id, caller.user, caller.channel, full,
            job_id=f"report-{batch_id}-{uuid.uuid4().hex[:8]}")
    return say(f"Preparing the delivery report of batch #{batch_id}…")


@button("confirm_batch", access="send")
def confirm(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """The author's go-ahead: send now, or ask for a second person above the threshold (refused when
    nobody could approve: Slack not configured, no channel to ask in)."""
    try:
        with bot.session() as session:
            batch = get_batch(session, batch_id)
            if batch.created_by != caller.created_by:
                return say(f"Only {who(batch.created_by)} can confirm batch #{batch_id}: it is their draft.")
            try:
                controls.confirm(session, batch_id, by=caller.created_by)
            except InvalidTransition:
                return say(_already(batch))
            waits_for_approval = approvals.hold(session, bot.settings, batch)
            channel = batch.slack_channel
            held = None if waits_for_approval else scheduling.hold(session, bot.settings, batch, utcnow())
    except BatchRejected as exc:
        return say(f"Batch #{batch_id} can't be confirmed, so it stays a draft: {exc.problems[0]['message']}")
    if waits_for_approval:
        return _ask_for_approval(bot, batch)
    if held:
        return _waiting_reply(bot, batch_id, held, batch.scheduled_at, channel)
    _start(bot, batch_id, channel)
    where = f" Follow it in <#{channel}>." if channel else ""
    return say(f"Confirmed: batch #{batch_id} is on its way.{where}", follow=batch_id)


@button("cancel_batch", access="stop")
@command("cancel", grammar=batch_number, access="stop",
         help={"cancel <id>": "stop a batch (recipients not yet sent are skipped)"})
def cancel(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        stopped = controls.cancel(session, batch_id)
        batch = get_batch(session, batch_id)
        has_message, asked = batch.slack_ts is not None, approvals.request_message(batch) is not None
    if has_message:
        enqueue_progress(bot.redis, batch_id, final=True)
    if asked:
        enqueue(bot.redis, SHOW_APPROVAL_DECISION, batch_id)
    return say(f"Batch #{batch_id} is cancelled: {plural(stopped, 'recipient')} will not get it.")


@button("retry_batch", access="send")
@command("retry", grammar=batch_number, access="send", help={"retry <id>": "send again to recipients that failed"})
def retry(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        again = controls.retry(session, batch_id)
        channel = get_batch(session, batch_id).slack_channel
    _start(bot, batch_id, channel)
    return say(f"Sending batch #{batch_id} again to {plural(again, 'recipient')} that failed.", follow=batch_id)


@button("resume_batch", access="send")
@command("resume", grammar=batch_number, access="send", help={"resume <id>": "continue a paused batch"})
def resume(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    with bot.session() as session:
        channel = controls.resume(session, batch_id).slack_channel
    _start(bot, batch_id, channel)
    return say(f"Batch #{batch_id} is sending again.", follow=batch_id)


@button("approve_batch", access="approve")
@command("approve", grammar=batch_number, access="approve",
         help={"approve <id>": "let someone else's big batch go (the author cannot)"})
def approve(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """A second person lets a big batch go; `controls.approve` refuses its author (`NotAllowed`)."""
    with bot.session() as session:
        batch = controls.approve(session, bot.settings, batch_id, caller.actor)
        channel = batch.slack_channel
        held = scheduling.hold(session, bot.settings, batch, utcnow())
    enqueue(bot.redis, SHOW_APPROVAL_DECISION, batch_id)
    if held:
        return _waiting_reply(bot, batch_id, held, batch.scheduled_at, channel)
    _start(bot, batch_id, channel)
    return say(f"Thanks! Batch #{batch_id} is approved and on its way.", follow=batch_id)


@button("view_recipients", access="read")
def recipients(bot: Bot, caller: Caller, batch_id: int) -> Reply:
    """Everyone may look; only the batch's author sees full numbers."""
    with bot.session() as session:
        batch = get_batch(session, batch_id)
        rows, _ = list_recipients(session, batch_id)
        view = [(r.number_normalized, r.status, r.error_message) for r in rows]
        masked = batch.created_by != caller.created_by
    return Reply(f"Recipients of batch #{batch_id}", recipients_view(batch_id, view, masked=masked))


def _waiting_reply(bot: Bot, batch_id: int, reason: str, when: datetime, channel: str | None) -> Reply:
    """After a confirm or approve that left the batch `scheduled` (a send time, or quiet hours for
    everyone): arm its start, say when."""
    scheduling.queue_start(bot.redis, batch_id, "scheduled", when, channel, now=utcnow())
    at = slack_time(when)
    if reason == "quiet":
        return say(f"Everyone in batch #{batch_id} is in quiet hours now, so it goes out {at}, when their night "
                   f"is over. `cancel {batch_id}` stops it.")
    return say(f"Scheduled: batch #{batch_id} goes out {at}. Until then `cancel {batch_id}` stops it and "
               f"`reschedule {batch_id} <time>` moves it.")


def _ask_for_approval(bot: Bot, batch) -> Reply:
    """The author is told where; a worker posts the request (masked numbers, Approve / Cancel)."""
    enqueue_approval_request(bot.redis, batch.id)
    where = approvals.channel_for(bot.settings, batch)
    return say(f"Batch #{batch.id} is big enough to need a second person's approval "
               f"(more than {bot.settings.multi_sms_approval_threshold} recipients). I've asked in <#{where}>; "
               f"a teammate can also type `/multisms approve {batch.id}`. Nothing is sent until then.")


def _start(bot: Bot, batch_id: int, channel: str | None) -> None:
    """Queue the send (after commit) and, for Slack batches, the channel message."""
    enqueue_send(bot.redis, batch_id)
    if channel:
        enqueue_progress(bot.redis, batch_id)


def _already(batch) -> str:
    if batch.status in ("pending", "processing"):
        return f"Batch #{batch.id} is already on its way."
    if batch.status == "awaiting_approval":
        return f"Batch #{batch.id} is already waiting for a second person's approval."
    if batch.status == "scheduled":
        return f"Batch #{batch.id} is already scheduled; `schedule list` shows when it goes."
    if batch.status == "cancelled":
        return f"Batch #{batch.id} was cancelled, so it can't be confirmed."
    return f"Batch #{batch.id} can't be confirmed: it is {status_label(batch.status)}."
