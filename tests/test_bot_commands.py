"""The command registry, told as stories: a new command is one decorated function; who may use
each command is declared with it; buttons on messages posted before a deploy keep working."""

from __future__ import annotations

import html

import pytest

from bot.blocks import batch as batch_blocks
from bot.blocks import contacts as contact_blocks
from bot.blocks import knowledge as kb_blocks
from bot.blocks import scheduling as schedule_blocks
from bot.commands import Call, Usage, parse, registry, run
from bot.commands.registry import button, command
from bot.context import Bot, Caller, Reply, say
from bot.modals import CALLBACK_ID, new_batch_view
from multisms.storage import BatchCounts
from tests.contact_helpers import import_file
from tests.slack_helpers import button_values, text_of
from tests.test_bot_blocks import a_batch

ACTION_IDS_IN_POSTED_MESSAGES = frozenset({
    "confirm_batch", "cancel_batch", "approve_batch", "retry_batch", "resume_batch", "view_recipients",
    "resume_ai", "approve_digest", "drop_digest", "approve_reminder", "confirm_import", "cancel_import",
})
"""The buttons of every message this app has posted so far; Slack sends these ids back on a click."""


@pytest.fixture
def scratch_registry():
    """Commands registered inside a test are forgotten after it."""
    saved = dict(registry.COMMANDS), dict(registry.BUTTONS), list(registry.HELP_LINES)
    yield
    for table, before in zip((registry.COMMANDS, registry.BUTTONS, registry.HELP_LINES), saved, strict=True):
        table.clear()
        table.extend(before) if isinstance(table, list) else table.update(before)


def times(verb: str, rest: str) -> int:
    if not rest.isdigit():
        raise Usage("How many waves? Give a number.", f"{verb} 3")
    return int(rest)


def test_a_new_command_is_one_decorated_function_found_by_help_parse_and_run(scratch_registry, slack, configure):
    @command("wave", grammar=times, access="read", help={"wave <times>": "the bot waves back"})
    def wave(bot: Bot, caller: Caller, count: int) -> Reply:
        return say("👋" * count + f" from {caller.created_by}")

    assert parse("WAVE 3") == Call("wave", 3)
    assert parse("wave lots") == Usage("How many waves? Give a number.", "wave 3")
    assert "`/multisms wave <times>`: the bot waves back" in html.unescape(text_of(slack.command("help")))
    assert slack.command("wave 3", user="U7")["text"] == "👋👋👋 from slack:U7"
    assert "Example: `/multisms wave 3`" in html.unescape(text_of(slack.command("wave")))
    assert "help, wave." in slack.command("wiggle")["text"]  # the unknown-command answer lists it too
    settings = configure()
    assert run(Bot(settings, prefix=""), Caller.shell(settings), parse("wave 2")).text == "👋👋 from shell"


def test_a_new_button_is_one_decorated_function_and_slack_routes_its_clicks(scratch_registry, make_slack):
    @button("wave_back", access="read")
    def wave_back(bot: Bot, caller: Caller, count: int) -> Reply:
        return say("👋" * count)

    slack = make_slack()  # the app registers every button in the registry when it is built

    assert slack.click("wave_back", 2, ephemeral=False)["text"] == "👋👋"


def test_a_verb_or_button_cannot_be_claimed_twice(scratch_registry):
    with pytest.raises(ValueError, match="'send' is already a command"):
        command("send", access="open", help={})(lambda bot, caller, args: say("again"))
    with pytest.raises(ValueError, match="'confirm_batch' is already a button"):
        button("confirm_batch", access="open")(lambda bot, caller, value: say("again"))


@pytest.mark.parametrize(("text", "doing"), [
    ("send +48600100001 | Hi", "send texts"), ("new", "send texts"), ("cancel 1", "send texts"),
    ("retry 1", "send texts"), ("resume 1", "send texts"), ("approve 1", "send texts"),
    ("optout add +48600100001", "send texts"), ("autoreply off", "send texts"), ("kb add Parking", "send texts"),
    ("reschedule 1 in 2h", "send texts"), ("remind approve 1", "send texts"), ("remind delete 1", "send texts"),
    ("contacts import drivers F0123ABCD", "send texts"), ("contacts remove drivers", "send texts"),
    ("forget +48600100001", "send texts"), ("unforget +48600100001", "send texts"),
    ("status 1", "read what was sent"), ("list", "read what was sent"), ("ask Is parking free?", "read what was sent"),
    ("schedule list", "read what was sent"), ("optout list", "read what was sent"), ("autoreply", "read what was sent"),
    ("kb list", "read what was sent"), ("kb search parking", "read what was sent"), ("kb gaps", "read what was sent"),
    ("remind list", "read what was sent"), ("digest list", "read what was sent"),
    ("contacts lists", "read what was sent"), ("contacts list drivers", "read what was sent"),
    ("report 1", "read what was sent"),
])
def test_someone_not_on_the_allowed_list_may_neither_read_nor_send(make_slack, text, doing):
    slack = make_slack(MULTISMS_ALLOWED_USERS="U1")

    answer = slack.command(text, user="U3")["text"]

    assert f"not on the list of people who may {doing}" in answer, answer


def test_help_is_for_everyone(make_slack):
    assert "multisms commands" in make_slack(MULTISMS_ALLOWED_USERS="U1").command("help", user="U3")["text"]


@pytest.mark.parametrize("action_id", sorted(ACTION_IDS_IN_POSTED_MESSAGES))
def test_buttons_refuse_someone_not_on_the_allowed_list(make_slack, action_id):
    slack = make_slack(MULTISMS_ALLOWED_USERS="U1")

    answer = slack.click(action_id, 424242, user="U3", ephemeral=False)["text"]

    doing = "read what was sent" if action_id == "view_recipients" else "send texts"
    assert f"not on the list of people who may {doing}" in answer, answer


def test_every_button_on_an_already_posted_message_still_has_a_listener():
    assert set(registry.BUTTONS) == ACTION_IDS_IN_POSTED_MESSAGES


@pytest.mark.parametrize("action_id", sorted(ACTION_IDS_IN_POSTED_MESSAGES))
def test_a_click_on_each_button_is_answered(slack, action_id):
    answer = slack.click(action_id, 424242, ephemeral=False)

    assert "#424242" in answer["text"] and not answer["text"].startswith("Sorry")


def test_every_button_the_bot_shows_is_one_it_answers(settings):
    batch, counts = a_batch(), BatchCounts({"sent": 3, "failed": 1})
    run = type("Run", (), {"id": 5, "body": "News", "deadline_at": batch.started_at})()
    reminder = type("Reminder", (), {"id": 3, "kind": "reminder", "body": "Stand-up", "cron": "0 9 * * 1-5",
                                     "timezone": "UTC", "created_by": "slack:U1", "approved_size": None})()
    shown = [
        batch_blocks.approval_request(batch, ["+48600100001"], threshold=1),
        batch_blocks.pause_note(a_batch(status="paused"), counts),
        batch_blocks.summary(batch, counts),
        kb_blocks.ai_handoff("+48600100001", "Parking?", "no match", 3, holding=None),
        schedule_blocks.digest_request(run, count=2, schedule="every friday"),
        schedule_blocks.reminder_approval_request(reminder, count=3, threshold=2),
        contact_blocks.import_preview(import_file(settings, "drivers", "phone\n+48600100001\n", dry_run=True), 7,
                                      "drivers.csv"),
    ]
    action_ids = {action_id for content in shown for action_id in button_values({"blocks": content})}
    assert action_ids == ACTION_IDS_IN_POSTED_MESSAGES - {"confirm_batch"}  # confirm is on the ephemeral preview


def test_the_form_keeps_its_callback_and_block_ids(configure):
    settings = configure(TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32)

    view = new_batch_view(settings, Caller("slack:U1", "U1", "C1"))

    assert view["callback_id"] == CALLBACK_ID == "new_batch"
    assert [(b["block_id"], b["element"]["action_id"]) for b in view["blocks"]] == [
        ("numbers", "numbers"), ("message", "message"), ("sender", "sender"), ("send_at", "send_at")]


def test_slack_is_asked_for_the_authors_time_zone_only_when_a_time_is_read(slack, slack_api):
    slack.command("send +48600100001 | Hi now")
    slack.command("status 1")
    assert slack_api.calls("users.info") == []

    preview = slack.command("send +48600100001 | Hi in 2h")

    assert [call["user"] for call in slack_api.calls("users.info")] == ["U1"]
    assert "Scheduled: goes out" in text_of(preview)
