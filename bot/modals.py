"""The "new batch" form: numbers, contact lists (when there are any), message, sender (when there
is a choice) and a send time.

Its submission goes through the same validation as `/multisms send`; problems are shown
on the form's fields (`response_action: errors`), and a good batch gets the same preview,
posted ephemerally in the channel the form was opened from (kept in `private_metadata`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.commands.send import draft, preview_note, preview_reply
from bot.context import Bot, Caller, refusal
from multisms.batches import Validation
from multisms.config import MAX_BODY_CHARS, Settings
from multisms.contacts import ListSummary, list_lists
from multisms.errors import TimeProblem
from multisms.models import utcnow
from multisms.timespec import check_ahead

CALLBACK_ID = "new_batch"
NUMBERS, LISTS, MESSAGE, SENDER, SEND_AT = "numbers", "lists", "message", "sender", "send_at"
"""Block ids; each input's action id is the same word."""
FIELD_OF_PROBLEM = {"body": MESSAGE, "recipients": NUMBERS, "sender": SENDER}
"""Anything else (an unknown list, typed or picked) goes under Numbers."""
MAX_OPTIONS = 100
"""Slack's limit on a select's options; a workspace with more lists types `list:<name>` instead."""
MAX_OPTION_LABEL = 75


@dataclass(frozen=True)
class Submission:
    numbers: str
    body: str
    sender: str | None
    send_at: int | None
    channel: str | None
    lists: tuple[str, ...] = ()


def senders(settings: Settings) -> list[tuple[str, str]]:
    """(label, value) choices; only when both a Messaging Service and a From number are configured."""
    service, number = settings.twilio_messaging_service_sid, settings.twilio_default_from
    if not (service and number):
        return []
    return [(f"Messaging Service {service[:6]}…", service), (f"Number {number}", number)]


def form_view(bot: Bot, caller: Caller) -> dict:
    """The form with today's contact lists to pick from."""
    with bot.session() as session:
        lists = list_lists(session)
    return new_batch_view(bot.settings, caller, lists)


def new_batch_view(settings: Settings, caller: Caller, lists: Sequence[ListSummary] = ()) -> dict:
    blocks = [
        _input(NUMBERS, "Numbers", multiline=True, placeholder="+48600123456, +48600123457", optional=bool(lists),
               hint="Separate with spaces, commas, semicolons or new lines; `list:drivers` adds a list. "
                    f"Up to {settings.multi_sms_max_recipients} numbers."),
        *_list_picker(lists),
        _input(MESSAGE, "Message", multiline=True, max_length=MAX_BODY_CHARS,
               hint="{name} or any list column makes it personal ({name|there} when one may be missing). "
                    "The preview shows an example, the segments and the cost before anything is sent."),
    ]
    choices = senders(settings)
    if choices:
        options = [_option(label, value) for label, value in choices]
        blocks.append({"type": "input", "block_id": SENDER, "label": _text("Send from"),
                       "element": {"type": "static_select", "action_id": SENDER, "options": options,
                                   "initial_option": options[0]}})
    blocks.append({"type": "input", "block_id": SEND_AT, "optional": True, "label": _text("Send at"),
                   "hint": _text("Optional: leave it empty to send when you confirm."),
                   "element": {"type": "datetimepicker", "action_id": SEND_AT}})
    return {"type": "modal", "callback_id": CALLBACK_ID, "title": _text("New batch"),
            "submit": _text("Preview"), "close": _text("Cancel"),
            "private_metadata": json.dumps({"channel": caller.channel}), "blocks": blocks}


def _list_picker(lists: Sequence[ListSummary]) -> list[dict]:
    """A multi-select of contact lists, or nothing when there are none (Slack refuses an empty select)."""
    if not lists:
        return []
    options = [_option(f"{found.name} ({found.members})"[:MAX_OPTION_LABEL], found.name)
               for found in lists[:MAX_OPTIONS]]
    more = f" Only the first {MAX_OPTIONS} are offered; type `list:<name>` for others." \
        if len(lists) > MAX_OPTIONS else ""
    return [{"type": "input", "block_id": LISTS, "optional": True, "label": _text("Contact lists"),
             "hint": _text("Everyone in these lists, each number once; opted-out people are skipped." + more),
             "element": {"type": "multi_static_select", "action_id": LISTS, "options": options,
                         "placeholder": _text("Pick lists")}}]


def read_submission(view: dict) -> Submission:
    values = view.get("state", {}).get("values", {})

    def field(block: str, key: str):
        return (values.get(block, {}).get(block) or {}).get(key)

    sender = (field(SENDER, "selected_option") or {}).get("value")
    lists = tuple(option["value"] for option in field(LISTS, "selected_options") or ())
    metadata = json.loads(view.get("private_metadata") or "{}")
    return Submission(numbers=field(NUMBERS, "value") or "", body=field(MESSAGE, "value") or "", sender=sender,
                      send_at=field(SEND_AT, "selected_date_time"), channel=metadata.get("channel"), lists=lists)


def field_errors(validation: Validation, *, has_sender_field: bool) -> dict[str, str]:
    """Each problem under the field it is about; a missing sender goes under Message when there is no choice."""
    errors: dict[str, str] = {}
    for problem in validation.problems:
        field = FIELD_OF_PROBLEM.get(problem["field"], NUMBERS)
        if field == SENDER and not has_sender_field:
            field = MESSAGE
        errors.setdefault(field, problem["message"][:300])
    return errors


def submission_listener(bot: Bot):
    """Validate before ack (errors must come back in the ack), then post the preview ephemerally."""

    def on_submit(ack, body, view, client):
        submission = read_submission(view)
        caller = Caller.slack(body["user"]["id"], submission.channel, client=client,
                              default_zone=bot.settings.default_timezone)
        reason = refusal(bot.settings, caller, "send")
        choices = [value for _, value in senders(bot.settings)]
        if reason or (choices and submission.sender not in choices):
            ack(response_action="errors", errors={NUMBERS: reason or "Pick one of the senders offered."})
            return
        try:
            send_at = check_ahead(datetime.fromtimestamp(submission.send_at, UTC), utcnow()) \
                if submission.send_at else None
        except TimeProblem as exc:
            ack(response_action="errors", errors={SEND_AT: str(exc)})
            return
        validation, batch_id = draft(bot, caller, numbers=submission.numbers, body=submission.body,
                                     sender=submission.sender, send_at=send_at, lists=submission.lists)
        if batch_id is None:
            ack(response_action="errors", errors=field_errors(validation, has_sender_field=bool(choices)))
            return
        ack()
        zone = caller.zone if send_at else None
        reply = preview_reply(bot, validation, batch_id, preview_note(
            bot.settings, validation, batch_id, send_at=send_at, zone=zone))
        if caller.channel:
            client.chat_postEphemeral(channel=caller.channel, user=caller.user, text=reply.text, blocks=reply.blocks)
        else:
            client.chat_postMessage(channel=caller.user, text=reply.text, blocks=reply.blocks)

    return on_submit


def _input(block_id: str, label: str, *, multiline: bool = False, placeholder: str | None = None,
           hint: str | None = None, max_length: int | None = None, optional: bool = False) -> dict:
    element: dict = {"type": "plain_text_input", "action_id": block_id, "multiline": multiline}
    if placeholder:
        element["placeholder"] = _text(placeholder)
    if max_length:
        element["max_length"] = max_length
    block = {"type": "input", "block_id": block_id, "label": _text(label), "element": element}
    if optional:
        block["optional"] = True
    return {**block, "hint": _text(hint)} if hint else block


def _option(label: str, value: str) -> dict:
    return {"text": _text(label), "value": value}


def _text(text: str) -> dict:
    return {"type": "plain_text", "text": text}
