"""Contacts from Slack, told as a team would use them: import a spreadsheet shared in a channel,
look at the lists, text a list with a personal text, forget a number on request.

Everything goes through signed requests to `/slack/events`, the real slack_sdk and Bolt, the
Slack stand-in (files, DMs) and RQ's SimpleWorker for the jobs.
"""

from __future__ import annotations

import html

import pytest

from multisms.contacts import list_lists
from multisms.db import session_scope
from multisms.models import Batch
from tests.contact_helpers import LUCJA, NANDU, POLISH_EXCEL, ZAZOLC, import_file, members
from tests.slack_helpers import button_values, eventually, text_of

FILE_ID = "F0KIEROWCY1"
LINK = f"https://yourteam.slack.com/files/U0123ABCD/{FILE_ID}/kierowcy.csv"


@pytest.fixture
def slack(make_slack):
    return make_slack(DEFAULT_REGION="PL", FORGET_KEY="a long random key kept for good")


@pytest.fixture
def settings(slack):
    from multisms.config import get_settings

    return get_settings()


def shown_to(slack_api, user: str = "U1") -> list[dict]:
    """What the worker showed a person (ephemeral messages), oldest first."""
    return [call for call in slack_api.calls("chat.postEphemeral") if call["user"] == user]


def readable(message: dict) -> str:
    return html.unescape(text_of(message))


def list_names(settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [found.name for found in list_lists(session)]


def batches(settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.query(Batch).count()


def test_a_polish_excel_file_is_previewed_with_its_bad_lines_then_imported_on_confirm(slack, slack_api, settings,
                                                                                     run_jobs):
    slack_api.add_file(FILE_ID, "kierowcy.csv", POLISH_EXCEL, "text/csv")

    answer = slack.command(f"contacts import kierowcy {LINK}")
    run_jobs()

    assert "before anything is imported" in answer["text"]
    [preview] = shown_to(slack_api)
    text = readable(preview)
    assert "*3* will be added" in text and "3 bad rows skipped" in text
    assert "line 4: `zadzwoń później`" in text and "line 5: `+48 600 12`" in text and "line 6: (empty)" in text
    assert "Windows-1250, semicolons" in text and "“Telefon”" in text and "`{Imię}`" in text
    assert list_names(settings) == []  # a preview stores nothing, not even the list

    draft = button_values(preview)["confirm_import"]
    done = slack.click("confirm_import", draft)
    again = slack.click("confirm_import", draft)

    assert "Imported into kierowcy: 3 added, 0 updated" in done["text"]
    assert members(settings, "kierowcy") == {
        LUCJA: ("Łucja", {"Imię": "Łucja"}, False),
        ZAZOLC: ("Zażółć Gęślą", {"Imię": "Zażółć Gęślą"}, False),
        NANDU: ("Ńandu", {"Imię": "Ńandu"}, False),
    }
    assert "expired or was already imported" in again["text"]


def test_only_the_person_who_previewed_an_import_confirms_it_and_cancel_imports_nothing(slack, slack_api, settings,
                                                                                       run_jobs):
    slack_api.add_file(FILE_ID, "kierowcy.csv", POLISH_EXCEL, "text/csv")
    slack.command(f"contacts import kierowcy {LINK}")
    run_jobs()
    draft = button_values(shown_to(slack_api)[0])["confirm_import"]

    theirs = slack.click("confirm_import", draft, user="U2")
    cancelled = slack.click("cancel_import", draft)
    late = slack.click("confirm_import", draft)

    assert "Only the person who previewed" in theirs["text"]
    assert cancelled["text"] == "Cancelled: nothing was imported."
    assert "expired or was already imported" in late["text"]
    assert list_names(settings) == []


def test_a_file_over_the_import_limit_is_refused_while_it_downloads(make_slack, slack_api, run_jobs):
    slack = make_slack(DEFAULT_REGION="PL", CONTACTS_IMPORT_MAX_BYTES=64)
    slack_api.add_file(FILE_ID, "kierowcy.csv", POLISH_EXCEL, "text/csv")

    slack.command(f"contacts import kierowcy {LINK}")
    run_jobs()

    [answer] = shown_to(slack_api)
    assert "Nothing was imported" in answer["text"] and "is over" in answer["text"]
    assert "confirm_import" not in button_values(answer)


def test_a_file_that_is_not_a_contacts_csv_is_refused_naming_why(slack, slack_api, run_jobs):
    slack_api.add_file(FILE_ID, "kierowcy.csv", "Telefon;Imię\nzadzwoń;Łucja\n".encode("cp1250"), "text/csv")

    slack.command(f"contacts import kierowcy {LINK}")
    run_jobs()

    text = readable(shown_to(slack_api)[0])
    assert "Nothing was imported" in text and "line 2" in text and "`zadzwoń`" in text


def test_a_list_texted_from_slack_gives_each_person_their_own_text_once(slack, slack_api, settings, twilio_api,
                                                                        run_jobs):
    import_file(settings, "x", POLISH_EXCEL)

    preview = slack.command(f"send list:x {LUCJA} | Cześć {{imię|}}, jutro o 6:00")
    text = readable(preview)

    assert "*3 recipients* will get this message. From list *x*." in text  # the pasted member is sent once
    assert f"*Example*, to Łucja (`{LUCJA}`)\\n> Cześć Łucja, jutro o 6:00" in text
    assert f"*Longest*, to Zażółć Gęślą (`{ZAZOLC}`): 32 characters, 1 segment" in text
    assert "up to 1 segment per message · 3 in all" in text and "Estimated cost:" in text
    slack.click("confirm_batch", button_values(preview)["confirm_batch"])
    run_jobs()

    sent = sorted((message["to"], message["body"]) for message in twilio_api.messages)
    assert sent == [(LUCJA, "Cześć Łucja, jutro o 6:00"), (ZAZOLC, "Cześć Zażółć Gęślą, jutro o 6:00"),
                    (NANDU, "Cześć Ńandu, jutro o 6:00")]


def test_an_unknown_placeholder_is_refused_in_the_slack_preview(slack, settings):
    import_file(settings, "x", POLISH_EXCEL)

    answer = slack.command("send list:x | Cześć {imie}, twoja rejestracja {rejestracja}")
    text = readable(answer)

    assert "nothing was saved" in text
    assert "Unknown field {imie}: no contact or CSV column has it. Did you mean {Imię}?" in text
    assert "Unknown field {rejestracja}" in text
    assert "confirm_batch" not in button_values(answer)
    assert batches(settings) == 0


def test_lists_and_their_people_masked_in_a_channel_and_in_full_in_a_dm(slack, settings):
    import_file(settings, "Night shift", POLISH_EXCEL)
    import_file(settings, "day", f"phone,name\n{LUCJA},Łucja\n")

    lists = readable(slack.command("contacts lists"))
    in_channel = readable(slack.command('contacts list "night shift"', channel="C1"))
    in_dm = readable(slack.command("contacts list list:Night shift", channel="D1"))

    assert "*day*: 1 member" in lists and "*Night shift*: 3 members" in lists
    assert "`+48••••••456` Łucja" in in_channel and LUCJA not in in_channel and "masked in channels" in in_channel
    assert f"`{LUCJA}` Łucja" in in_dm and f"`{NANDU}` Ńandu" in in_dm


def test_removing_a_list_keeps_its_people_and_the_batches_sent_to_them(slack, settings, twilio_api, run_jobs):
    import_file(settings, "x", POLISH_EXCEL)
    import_file(settings, "y", f"phone\n{LUCJA}\n")
    slack.click("confirm_batch", button_values(slack.command("send list:x | Hi"))["confirm_batch"])
    run_jobs()

    answer = slack.command("contacts remove X")
    unknown = slack.command("contacts list x")

    assert "Removed the list “x” (3 members)" in answer["text"]
    assert "No list named “x”" in unknown["text"]
    assert list(members(settings, "y")) == [LUCJA] and batches(settings) == 1


def test_a_forgotten_number_is_not_imported_again_until_unforgotten(slack, slack_api, settings, run_jobs):
    import_file(settings, "kierowcy", POLISH_EXCEL)

    forgotten = readable(slack.command(f"forget {LUCJA}"))
    slack_api.add_file(FILE_ID, "kierowcy.csv", POLISH_EXCEL, "text/csv")
    slack.command(f"contacts import kierowcy {LINK}")
    run_jobs()
    preview = readable(shown_to(slack_api)[-1])
    unforgotten = slack.command(f"unforget {LUCJA}")

    assert "+48••••••456 is forgotten" in forgotten and "contact removed (from 1 list)" in forgotten
    assert LUCJA not in members(settings, "kierowcy")
    assert "1 forgotten on request, skipped" in preview and "line 2: +48••••••456" in preview
    assert unforgotten["text"] == "+48••••••456 may be imported again."
    assert "is not a phone number" in slack.command("forget call me")["text"]


def test_the_form_offers_the_lists_and_sends_to_the_picked_one(slack, slack_api, settings):
    import_file(settings, "x", POLISH_EXCEL)
    slack.command("new", wait=False)
    view = eventually(lambda: slack_api.calls("views.open"))[0]["view"]

    picker = next(block for block in view["blocks"] if block["block_id"] == "lists")
    assert [option["text"]["text"] for option in picker["element"]["options"]] == ["x (3)"]
    values = {"numbers": {"numbers": {"type": "plain_text_input", "value": None}},
              "lists": {"lists": {"type": "multi_static_select", "selected_options": [{"value": "x"}]}},
              "message": {"message": {"type": "plain_text_input", "value": "Cześć {imię}"}},
              "send_at": {"send_at": {"type": "datetimepicker", "selected_date_time": None}}}
    slack.submit({**view, "state": {"values": values}})

    preview = readable(eventually(lambda: slack_api.calls("chat.postEphemeral"))[0])
    assert "*3 recipients*" in preview and "From list *x*" in preview and "Cześć Łucja" in preview


def test_help_lists_contacts_personal_texts_forget_and_reports(slack):
    shown = readable(slack.command("help"))

    for usage in ("contacts import <list> <Slack file link>", "contacts lists", "contacts list <name>",
                  "contacts remove <name>", "send list:<name> <numbers> | Hi {name|there}", "forget <number>",
                  "unforget <number>", "report <id>"):
        assert f"/multisms {usage}" in shown, usage

