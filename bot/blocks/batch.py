"""Block Kit for batches: the preview, the channel message and its thread posts, lists, recipients.

Renderers for channel messages (progress, approval request, failures, pause note, summary)
mask numbers themselves, so a caller cannot leak a full number into a channel by passing
the wrong list. Only the author's own views (preview, recipients unmasked) show full numbers.
The terminal chat prints these same blocks as text (`bot.shell.render`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.blocks.primitives import (
    LIST_BUDGET,
    actions,
    button,
    clip,
    code,
    context,
    duration,
    escape,
    fit,
    header,
    listing,
    money,
    plural,
    quote,
    section,
    slack_date,
    who,
)
from multisms.numbers import mask

if TYPE_CHECKING:
    from multisms.batches import Validation
    from multisms.storage import BatchCounts

STATUS_LABELS = {
    "draft": "draft, not confirmed", "awaiting_approval": "waiting for approval", "pending": "queued",
    "processing": "sending", "paused": "paused", "completed": "done", "completed_with_errors": "done, with errors",
    "failed": "failed", "cancelled": "cancelled", "scheduled": "scheduled",
}

"""Statuses a batch does not leave (the domain's list)."""


@dataclass(frozen=True)
class Tally:
    """What a person wants to know about a batch's recipients, from the raw counts."""

    sent: int
    """Accepted by Twilio (queued there, sent or delivered)."""
    delivered: int
    failed: int
    """Refused, failed or undelivered."""
    waiting: int
    """Not handed to Twilio yet."""
    opted_out: int
    cancelled: int
    invalid: int

    @classmethod
    def of(cls, counts: BatchCounts) -> Tally:
        by = counts.by_status
        return cls(sent=counts.success, delivered=counts.delivered, failed=counts.failure, waiting=counts.pending,
                   opted_out=by.get("opted_out", 0), cancelled=by.get("cancelled", 0), invalid=counts.invalid)

    @property
    def to_send(self) -> int:
        return self.sent + self.failed + self.waiting + self.cancelled

    @property
    def done(self) -> int:
        return self.to_send - self.waiting


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " "))


# --- the preview (ephemeral: full numbers are fine, only the author sees it) -------------------

def preview(v: Validation, *, batch_id: int, price: float, currency: str, seconds: float,
            note: str | None = None) -> list[dict]:
    seg = v.segments
    up_to = "up to " if v.personalized else ""
    encoding = f"*{seg.encoding}*, {up_to}{plural(seg.segments, 'segment')} per message · {v.total_segments} in all"
    if seg.ucs2_characters:
        forcing = ", ".join(code(ch) for ch in seg.ucs2_characters)
        encoding += f"\nForced to UCS-2 by {forcing}: replace them to fit more text per segment."
    lists = f" From {'list' if len(v.lists) == 1 else 'lists'} " + ", ".join(
        f"*{escape(name)}*" for name in v.lists) + "." if v.lists else ""
    blocks = [
        header(f"Preview of batch #{batch_id}"),
        section(f"*{plural(len(v.recipients), 'recipient')}* will get this message.{lists}\n"
                f"Invalid: *{len(v.invalid)}* · Duplicates: *{len(v.duplicates)}* · "
                f"Opted out: *{len(v.opted_out)}*"),
        section(f"*{'Personal text' if v.personalized else 'Message'}* (from {code(v.sender or '')})\n"
                f"{quote(v.body)}"),
        *_personal_texts(v),
        section(encoding),
        section(f"*Estimated cost:* {money(v.total_segments * price, currency)} "
                f"({v.total_segments} × {money(price, currency)}) · *Estimated time:* {duration(seconds)}"),
        *_entry_sections(v),
        section("*Recipients*\n" + listing([code(n) for n in v.recipients], sep=", ")),
    ]
    if note:
        blocks.append(context(note))
    blocks.append(actions(button("Confirm", "confirm_batch", batch_id, "primary"),
                          button("Cancel", "cancel_batch", batch_id, "danger")))
    return fit(blocks)


def _personal_texts(v: Validation) -> list[dict]:
    """A personal text as two people will get it: the first recipient's, and the longest one."""
    if not v.personalized or not v.texts:
        return []
    example, longest = v.texts[0], max(v.texts, key=lambda text: len(text.body))
    blocks = [section(f"*Example*, to {_addressee(v, example.e164)}\n{quote(example.body)}")]
    if longest.body != example.body:
        blocks.append(section(f"*Longest*, to {_addressee(v, longest.e164)}: {len(longest.body)} characters, "
                              f"{plural(longest.segments.segments, 'segment')}\n{quote(longest.body)}"))
    return blocks


def _addressee(v: Validation, number: str) -> str:
    name = v.names.get(number)
    return f"{escape(name)} ({code(number)})" if name else code(number)


def problems(v: Validation, *, example: str) -> list[dict]:
    """Why a batch cannot be prepared, what to fix, and nothing stored."""
    lines = "\n".join(f"• {escape(p['message'])}" for p in v.problems)
    blocks = [section(f"*I can't prepare this batch, so nothing was saved.*\n{lines}"), *_entry_sections(v),
              context(f"Example: {code(example)}")]
    return fit(blocks)


def _entry_sections(v: Validation) -> list[dict]:
    blocks = []
    if v.invalid:
        items = [f"• {code(e.raw)}: {escape(e.reason or 'not a phone number')}" for e in v.invalid]
        blocks.append(section("*Invalid, not sent*\n" + listing(items)))
    if v.duplicates:
        blocks.append(section("*Duplicates, sent once*\n" + listing(_duplicate_lines(v))))
    if v.opted_out:
        blocks.append(section("*Opted out, not sent*\n" + listing([code(n) for n in v.opted_out], sep=", ")))
    return blocks


def _duplicate_lines(v: Validation) -> list[str]:
    """One line per number given more than once, with the other ways it was written."""
    seen: dict[str, list[str]] = defaultdict(list)
    for duplicate in v.duplicates:
        seen[duplicate.first].append(duplicate.raw)
    lines = []
    for first, others in seen.items():
        spellings = [raw for raw in dict.fromkeys(others) if raw != first]
        also = f", also written {', '.join(code(raw) for raw in spellings)}" if spellings else ""
        lines.append(f"• {code(first)}: given {len(others) + 1} times{also}")
    return lines


# --- channel messages (masked numbers only) ----------------------------------------------------

def progress(batch, counts: BatchCounts) -> list[dict]:
    """The batch's one channel message, updated in place as it sends."""
    t = Tally.of(counts)
    percent = round(100 * t.done / t.to_send) if t.to_send else 100
    bar = "█" * (percent // 5) + "░" * (20 - percent // 5)
    lines = [f"*Batch #{batch.id}*: {status_label(batch.status)}",
             f"`{bar}` {percent}% · {t.done} of {t.to_send}",
             f"✅ {t.sent} sent{_delivered(t)} · ❌ {t.failed} failed · ⏳ {t.waiting} pending" + _extras(t)]
    about = f"by {who(batch.created_by)}"
    if batch.approved_by:
        about += f" · approved by {who(batch.approved_by)}"
    about += f" · {plural(batch.segments, 'segment')} ({batch.encoding}) per message"
    blocks = [section("\n".join(lines)), section(quote(batch.body, 500)), context(about)]
    if batch.status == "paused":
        blocks.append(context(f"⏸ Paused: {escape(batch.error or 'no reason given')}"))
    if batch.status == "cancelled" and batch.error:
        blocks.append(context(f"🛑 {escape(batch.error)} Nothing more is sent."))
    if batch.status == "scheduled" and batch.scheduled_at:
        blocks.append(context(f"⏰ Goes out {slack_date(batch.scheduled_at)}"))
    return blocks


def progress_text(batch, counts: BatchCounts) -> str:
    t = Tally.of(counts)
    delivered = f" ({t.delivered} delivered)" if t.delivered else ""
    return (f"Batch #{batch.id}: {status_label(batch.status)}, {t.sent} sent{delivered}, {t.failed} failed, "
            f"{t.waiting} pending")


def approval_request(batch, numbers: Sequence[str], *, threshold: int | None,
                     expires_at: datetime | None = None) -> list[dict]:
    """Posted where approvals are asked for when a batch is too big for one person; the author cannot approve it."""
    over = f" (more than {threshold})" if threshold else ""
    masked = [mask(n) for n in numbers]
    deadline = f" If nobody approves it by {slack_date(expires_at)}, it is cancelled." if expires_at else ""
    return fit([
        section(f"{who(batch.created_by)} wants to send batch #{batch.id} to *{len(numbers)}* numbers{over}. "
                "A second person has to approve it: please check it and click Approve." + deadline),
        section(quote(batch.body)),
        section("*Recipients*\n" + listing(masked, sep=", ")),
        actions(button("Approve", "approve_batch", batch.id, "primary"),
                button("Cancel", "cancel_batch", batch.id, "danger")),
    ])


def approval_decided(batch) -> list[dict]:
    """The request for approval once someone decided (or nobody did): no buttons, what happened, where it went."""
    follow = f" Follow it in <#{batch.slack_channel}>." if batch.slack_channel else ""
    if batch.approved_by:
        outcome = f"✅ Approved by {who(batch.approved_by)}: it is {status_label(batch.status)}.{follow}"
    elif batch.status == "cancelled":
        outcome = f"🛑 Cancelled: {escape(batch.error)} Nothing was sent." if batch.error else \
            "🛑 Cancelled: nothing was sent."
    else:
        outcome = f"It is {status_label(batch.status)}."
    return [section(f"*Batch #{batch.id}* by {who(batch.created_by)}\n{outcome}"), section(quote(batch.body, 500))]


def failure_rows(recipients: Iterable) -> list[tuple[str, int | None, str | None]]:
    """(number, error code, message) of recipients that could not be texted: failed or undelivered,
    or refused by Twilio as invalid or opted out (those carry an error code)."""
    return [(r.number_normalized, r.error_code, r.error_message) for r in recipients
            if r.status in ("failed", "undelivered") or (r.error_code and r.status in ("invalid", "opted_out"))]


def failures(batch_id: int, rows: Iterable[tuple[str, int | None, str | None]]) -> list[dict]:
    """Failed recipients grouped by reason (error code and message), most common first."""
    groups: dict[tuple[int | None, str], list[str]] = defaultdict(list)
    for number, error_code, message in rows:
        groups[(error_code, message or "no details")].append(mask(number))
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    total = sum(len(numbers) for _, numbers in ordered)
    blocks = [section(f"*{plural(total, 'recipient')} of batch #{batch_id} could not be texted*")]
    for (error_code, message), numbers in ordered:
        label = f"<https://www.twilio.com/docs/errors/{error_code}|{error_code}> " if error_code else ""
        blocks.append(section(f"• *{label}{escape(message)}*: {len(numbers)}\n" + listing(numbers, sep=", ")))
    return fit(blocks)


def pause_note(batch, counts: BatchCounts) -> list[dict]:
    t = Tally.of(counts)
    return [
        section(f"⏸ *Batch #{batch.id} is paused:* {escape(batch.error or 'no reason given')}\n"
                f"{t.sent} sent so far, {t.waiting} waiting. Fix the cause, then resume it."),
        actions(button("Resume", "resume_batch", batch.id, "primary"),
                button("Cancel", "cancel_batch", batch.id, "danger")),
    ]


def summary(batch, counts: BatchCounts) -> list[dict]:
    t = Tally.of(counts)
    headline = {
        "completed": f"✅ *Batch #{batch.id} is done:* all {t.sent} sent.",
        "completed_with_errors": f"⚠️ *Batch #{batch.id} is done, with errors.*",
        "failed": f"❌ *Batch #{batch.id} failed:* nothing was sent.",
        "cancelled": f"🛑 *Batch #{batch.id} was cancelled.*",
    }.get(batch.status, f"*Batch #{batch.id}*: {status_label(batch.status)}")
    line = f"✅ {t.sent} sent{_delivered(t)} · ❌ {t.failed} failed" + _extras(t)
    if batch.started_at and batch.completed_at:
        line += f" · took {duration((batch.completed_at - batch.started_at).total_seconds())}"
    retryable = t.failed and batch.status != "cancelled"
    buttons = [button("Retry failed", "retry_batch", batch.id, "primary")] if retryable else []
    buttons.append(button("View recipients", "view_recipients", batch.id))
    return [section(f"{headline}\n{line}"), actions(*buttons)]


def _delivered(t: Tally) -> str:
    """Delivery receipts, once any arrived: how many of the sent reached a phone."""
    return f" (📬 {t.delivered} delivered)" if t.delivered else ""


def _extras(t: Tally) -> str:
    parts = [(t.opted_out, "opted out"), (t.cancelled, "cancelled"), (t.invalid, "invalid")]
    return "".join(f" · {count} {word}" for count, word in parts if count)


# --- answers to one person (ephemeral) ----------------------------------------------------------

def status(batch, counts: BatchCounts) -> list[dict]:
    created = batch.created_at.strftime("%d %b %Y %H:%M UTC") if batch.created_at else "?"
    return [*progress(batch, counts), context(f"Created {created}")]


def batch_list(batches: Sequence, counts: dict[int, BatchCounts], *, title: str, total: int) -> list[dict]:
    if not batches:
        return [section(f"*{title}*\nNo batches yet. Start one with `send <numbers> | <message>`.")]
    lines = []
    for batch in batches:
        t = Tally.of(counts[batch.id])
        when = batch.created_at.strftime("%d %b %H:%M") if batch.created_at else ""
        if batch.status == "scheduled" and batch.scheduled_at:
            when = "⏰ " + slack_date(batch.scheduled_at)
        lines.append(f"*#{batch.id}* {status_label(batch.status)} · ✅ {t.sent} ❌ {t.failed} ⏳ {t.waiting} · "
                     f"{when} · _{escape(clip(batch.body.replace(chr(10), ' '), 40))}_")
    more = f" (newest {len(batches)} of {total})" if total > len(batches) else ""
    return [section(f"*{title}*{more}\n" + listing(lines))]


def recipients_view(batch_id: int, rows: Sequence[tuple[str, str, str | None]], *, masked: bool) -> list[dict]:
    """Every recipient by status; full numbers only when the viewer created the batch."""
    by_status: dict[str, list[str]] = defaultdict(list)
    for number, status_, error in rows:
        shown = code(mask(number) if masked else number)
        by_status[status_].append(shown + (f" ({escape(error)})" if error else ""))
    blocks = [section(f"*Recipients of batch #{batch_id}*" + (" (numbers masked)" if masked else ""))]
    for status_, items in sorted(by_status.items(), key=lambda item: -len(item[1])):
        for part, chunk in enumerate(_chunks(items)):
            title = f"*{status_label(status_)}* ({len(items)})" if part == 0 else ""
            blocks.append(section(f"{title}\n" + "\n".join(chunk)))
    return fit(blocks)


def _chunks(items: Sequence[str], budget: int = LIST_BUDGET) -> Iterable[list[str]]:
    chunk: list[str] = []
    used = 0
    for item in items:
        if chunk and used + len(item) + 1 > budget:
            yield chunk
            chunk, used = [], 0
        chunk.append(item)
        used += len(item) + 1
    if chunk:
        yield chunk
