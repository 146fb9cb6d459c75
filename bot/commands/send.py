"""`send` and `new`: a batch is checked, stored as a draft and previewed; Confirm or Cancel follow.

`send <numbers> | <message>` previews at once; a time at the end of the message (`at 2026-12-01
09:00`, `in 2h`) makes it a send-later batch, read in the author's time zone. `new` (or nothing)
opens the form, whose submission (`bot.modals`) uses the same `draft` and `preview_reply`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.blocks.batch import preview, problems
from bot.blocks.primitives import notice, plural
from bot.blocks.scheduling import quiet_note, when_note
from bot.commands.registry import Usage, command
from bot.context import Bot, Caller, Reply
from multisms import intake
from multisms.batches import Validation
from multisms.config import Settings
from multisms.errors import TimeProblem
from multisms.models import utcnow
from multisms.quiet_hours import plan
from multisms.ratelimit import estimated_seconds
from multisms.timespec import resolve, split_send_time

SEND_EXAMPLE = "send +48600123456, +48600123457 | Hello from the team!"
LATER_EXAMPLE = "send +48600123456 | Hello at 2026-12-01 09:00"


@dataclass(frozen=True)
class Outgoing:
    """What `send` read: the numbers and the message as typed, and a send time if one ends the message."""

    numbers: str
    message: str
    when: str = ""


def read_send(verb: str, rest: str) -> Outgoing:
    if "|" not in rest:
        raise Usage("Put a `|` between the numbers and the message.", SEND_EXAMPLE)
    numbers, _, message = rest.partition("|")
    numbers, message = numbers.strip(), message.strip()
    if not numbers:
        raise Usage("Add the numbers before the `|`.", SEND_EXAMPLE)
    message, when = split_send_time(message)
    if not message:
        raise Usage("Write the message after the `|`.", SEND_EXAMPLE)
    return Outgoing(numbers, message, when or "")


@command("send", grammar=read_send, access="send", help={
    "send <numbers> | <message>": "preview a batch, then Confirm or Cancel. Numbers are separated by spaces, commas, "
                                  "semicolons or new lines; `|` separates them from the message",
    "send list:<name> <numbers> | Hi {name|there}": "text contact lists (and numbers), each person their own text: "
                                                    "`{field}` from the list's CSV columns, `{field|fallback}` when "
                                                    "one may be missing, `{{`/`}}` for braces"})
def send(bot: Bot, caller: Caller, outgoing: Outgoing) -> Reply:
    if not outgoing.when:
        return prepare(bot, caller, numbers=outgoing.numbers, body=outgoing.message)
    try:
        when = resolve(outgoing.when, now=utcnow(), zone=caller.zone)
    except TimeProblem as exc:
        raise Usage(str(exc), LATER_EXAMPLE) from exc
    return prepare(bot, caller, numbers=outgoing.numbers, body=outgoing.message, send_at=when, zone=caller.zone,
                   typed=outgoing.when)


@command("new", "", access="send", help={
    "new": "open a form for numbers, message and sender (also: the command with nothing after it)"})
def new(bot: Bot, caller: Caller, _: None) -> Reply:
    """The form: Slack opens its modal, the terminal chat asks for the two fields."""
    text = f"The form opens in Slack. Here, write `{bot.prefix}{SEND_EXAMPLE}`."
    return Reply(text, notice(text), form=True)


def prepare(bot: Bot, caller: Caller, *, numbers: str, body: str, send_at: datetime | None = None,
            zone: str | None = None, typed: str | None = None) -> Reply:
    """Validate and store a draft, then answer with its preview (or with what to fix).

    `send_at` makes it a send-later batch; `typed` is the time as the author wrote it.
    """
    validation, batch_id = draft(bot, caller, numbers=numbers, body=body, send_at=send_at)
    if batch_id is None:
        return Reply("I can't prepare this batch: " + validation.problems[0]["message"],
                     problems(validation, example=bot.prefix + SEND_EXAMPLE))
    note = preview_note(bot.settings, validation, batch_id, send_at=send_at, zone=zone, typed=typed)
    return preview_reply(bot, validation, batch_id, note)


def draft(bot: Bot, caller: Caller, *, numbers: str, body: str, sender: str | None = None,
          send_at: datetime | None = None, lists: Sequence[str] = ()) -> tuple[Validation, int | None]:
    """The validation, and the id of the stored draft (None when the batch has problems).

    `numbers` may hold `list:<name>` tokens; `lists` names more lists (the form's picker).
    """
    with bot.session() as session:
        validation = intake.check(session, bot.settings, body=body, numbers=numbers, sender=sender, lists=lists)
        if not validation.ok:
            return validation, None
        batch = intake.submit(session, validation, created_by=caller.created_by, confirmed=False)
        batch.slack_channel = caller.channel
        batch.scheduled_at = send_at
        session.flush()
        return validation, batch.id


def preview_reply(bot: Bot, validation: Validation, batch_id: int, note: str | None = None) -> Reply:
    settings = bot.settings
    seconds = estimated_seconds(validation.total_segments, validation.sender, settings)
    text = (f"Preview of batch #{batch_id}: {plural(len(validation.recipients), 'recipient')}, "
            f"{validation.total_segments} segments. Confirm or Cancel.")
    return Reply(text, preview(validation, batch_id=batch_id, price=settings.multi_sms_price_per_segment,
                               currency=settings.multi_sms_currency, seconds=seconds, note=note))


def preview_note(settings: Settings, validation: Validation, batch_id: int, *, send_at: datetime | None,
                 zone: str | None, typed: str | None = None) -> str | None:
    """What the preview adds: when a send-later batch goes, and who will be in quiet hours then."""
    notes = []
    if send_at:
        notes.append(when_note(batch_id, send_at, zone, typed))
    window = settings.quiet_window
    held = plan(validation.recipients, window, send_at or utcnow())
    if held:
        notes.append(quiet_note(len(held), len(validation.recipients), window.label, max(held.values()), zone))
    return "\n".join(notes) or None
