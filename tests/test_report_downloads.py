"""After a send the team downloads what happened, wherever they work: REST, Slack, the web panel.

A copy a channel can see masks numbers; the full-number file goes to the API token's owner, the
panel's users, or privately (a DM) to a Slack user who may send. Every file opens safely in a
spreadsheet: no cell runs as a formula.
"""

from __future__ import annotations

import csv
import io

import pytest

from multisms.db import session_scope
from multisms.models import Batch
from tests.contact_helpers import import_file
from tests.slack_helpers import button_values, eventually

GOOD, WRONG = "+48600100001", "+48600100002"
PEOPLE = f'phone,name\n{GOOD},"=HYPERLINK(""http://evil.example"",""win"")"\n{WRONG},@SUM(A1)\n'
FORMULA_STARTS = ("=", "+", "-", "@")


def rows_of(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def opens_safely(rows: list[list[str]]) -> bool:
    return not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


@pytest.fixture
def sent_from_slack(make_slack, slack_api, twilio_api, run_jobs):
    """A batch sent from channel C1 to a list: one person texted, one number Twilio refuses."""

    def send(**env):
        slack = make_slack(DEFAULT_REGION="PL", **env)
        from multisms.config import get_settings

        import_file(get_settings(), "crew", PEOPLE)
        twilio_api.fail_number(WRONG, 21211)
        preview = slack.command("send list:crew | Hi {name}, shift at 6", channel="C1")
        batch_id = int(button_values(preview)["confirm_batch"])
        slack.click("confirm_batch", batch_id, channel="C1")
        run_jobs()
        return slack, batch_id

    return send


def test_report_from_slack_is_masked_in_the_channel_and_full_in_a_dm(sent_from_slack, slack_api, run_jobs):
    slack, batch_id = sent_from_slack()

    asked = slack.command(f"report {batch_id}", channel="C1")
    run_jobs()

    assert f"Preparing the delivery report of batch #{batch_id}" in asked["text"]
    [in_channel] = slack_api.uploads("C1")[1:]  # the first is the thread's failures file
    [in_dm] = slack_api.uploads(slack_api.dm_channel("U1"))
    channel_rows, dm_rows = rows_of(in_channel["content"]), rows_of(in_dm["content"])
    assert [row[0] for row in channel_rows[1:]] == ["'+48••••••001", "'+48••••••002"]
    assert GOOD.encode() not in in_channel["content"] and "numbers masked" in in_channel["title"]
    assert [row[:3] for row in dm_rows[1:]] == [
        [f"'{GOOD}", "'=HYPERLINK(\"http://evil.example\",\"win\")", "queued"], [f"'{WRONG}", "'@SUM(A1)", "invalid"]]
    assert opens_safely(channel_rows) and opens_safely(dm_rows)
    told = eventually(lambda: [c for c in slack_api.calls("chat.postEphemeral") if "report" in c["text"]])[-1]
    assert "here (numbers masked) and in your DM with the app (full numbers)" in told["text"]


def test_someone_not_on_the_allowed_list_gets_no_report_at_all(sent_from_slack, slack_api, run_jobs):
    slack, batch_id = sent_from_slack(MULTISMS_ALLOWED_USERS="U1")

    answer = slack.command(f"report {batch_id}", user="U2", channel="C1")
    run_jobs()

    assert "not on the list of people who may read what was sent" in answer["text"]
    assert [u["filename"] for u in slack_api.uploads()] == [f"batch-{batch_id}-failures.csv"]  # the thread's only


def test_a_report_asked_for_in_a_dm_is_one_full_file_there(sent_from_slack, slack_api, run_jobs):
    slack, batch_id = sent_from_slack()

    slack.command(f"report {batch_id}", channel="D1")
    run_jobs()

    [only] = slack_api.uploads(slack_api.dm_channel("U1"))
    assert GOOD.encode() in only["content"] and len(slack_api.uploads()) == 2  # + the thread's failures file


def test_a_finished_batch_with_failures_carries_their_masked_csv_in_its_thread(sent_from_slack, slack_api, settings):
    _, batch_id = sent_from_slack()

    with session_scope(settings.database_url) as session:
        ts = session.get(Batch, batch_id).slack_ts
    [failures] = slack_api.uploads("C1")
    rows = rows_of(failures["content"])
    assert failures["thread_ts"] == ts and failures["filename"] == f"batch-{batch_id}-failures.csv"
    assert [(row[0], row[2], row[3]) for row in rows[1:]] == [("'+48••••••002", "invalid", "21211")]
    assert WRONG.encode() not in failures["content"] and opens_safely(rows)
    thread = [m for m in slack_api.messages("C1") if m.get("thread_ts") == ts]
    assert [bool(m.get("files")) for m in thread] == [False, True, False]  # failures, their file, the summary


def test_a_report_of_an_unknown_batch_says_so(slack):
    assert "No batch #999" in slack.command("report 999")["text"]


def test_the_rest_report_is_the_full_csv_for_the_token_owner(client, auth, settings, twilio_api, run_jobs):
    import_file(settings, "crew", PEOPLE)
    twilio_api.fail_number(WRONG, 21211)
    created = client.post("/api/multi-sms/batches", headers=auth, json={"body": "Hi {name}", "lists": ["crew"]})
    run_jobs()

    response = client.get(f"/api/multi-sms/batches/{created.json['batch']['id']}/report.csv", headers=auth)

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response.data)
    assert [(row[0], row[2]) for row in rows[1:]] == [(f"'{GOOD}", "queued"), (f"'{WRONG}", "invalid")]
    assert opens_safely(rows)
    assert client.get("/api/multi-sms/batches/999/report.csv", headers=auth).status_code == 404
    assert client.get(f"/api/multi-sms/batches/{created.json['batch']['id']}/report.csv").status_code == 401


def test_the_batch_page_in_the_panel_links_its_report(make_client, settings, twilio_api, run_jobs):
    from tests.test_panel import PASSWORD, Panel

    panel = Panel(make_client(PANEL_PASSWORD=PASSWORD))
    panel.login()
    import_file(settings, "crew", PEOPLE)
    panel.confirm("", "Hi {name}", lists="crew")
    run_jobs()

    page = panel.client.get("/panel/batches/1")
    download = panel.client.get("/panel/batches/1/report.csv")

    assert 'href="/panel/batches/1/report.csv" download>Download report (CSV)</a>' in page.text
    assert download.mimetype == "text/csv" and opens_safely(rows_of(download.data))
    assert [row[0] for row in rows_of(download.data)[1:]] == [f"'{GOOD}", f"'{WRONG}"]


def test_the_terminal_chat_saves_the_full_report_where_it_runs(settings, twilio_api, run_jobs, tmp_path, monkeypatch):
    from bot.commands import parse, run
    from bot.context import Bot, Caller
    from tests.contact_helpers import send_now

    batch_id = send_now(settings, f"{GOOD} {WRONG}", "Hi")
    run_jobs()
    monkeypatch.chdir(tmp_path)

    answer = run(Bot(settings, prefix=""), Caller.shell(settings), parse(f"report {batch_id}"))

    saved = tmp_path / f"batch-{batch_id}-report.csv"
    assert str(saved) in answer.text
    assert [row[0] for row in rows_of(saved.read_bytes())[1:]] == [f"'{GOOD}", f"'{WRONG}"]

