"""Digests that carry what is new: RSS and Atom feeds read in the job from a local feed server (allowed
through FEED_ALLOWED_HOSTS), knowledge documents changed since the last digest, each item sent once.

OpenAI, Slack and Twilio are stand-ins reached through the real SDKs; the clock is the `now` of the
due-work pass. The stand-in model writes its SMS from the numbered items it is given, as a model would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from jobs.digest import write_digest
from jobs.scheduling import due_work
from multisms.config import get_settings
from multisms.db import session_scope
from multisms.models import Reminder, ReminderRun
from standins import FeedStandIn
from tests.feed_helpers import connects, recorded_sockets, resolving
from tests.kb_helpers import OPENAI_KEY, PARKING, REFUNDS, add_document
from tests.slack_helpers import button_values, text_of
from tests.test_panel import PASSWORD, Panel

ANNA = "+48600100001"
_ITEM = re.compile(r"^\[\d+\] (.+?) \(", re.MULTILINE)


def newsroom_model(request: dict) -> str:
    """Writes one sentence naming each numbered item it was given, and nothing else."""
    titles = _ITEM.findall(request["messages"][-1]["content"])
    return "News: " + "; ".join(titles) + "." if titles else "Nothing to report."


def asked(openai_api, run: int = -1) -> str:
    """What the model was given to write from at that run."""
    return openai_api.chat_requests[run]["messages"][-1]["content"]


@pytest.fixture
def harbour() -> Iterator[FeedStandIn]:
    """A second newsroom, serving its own stories as Atom."""
    server = FeedStandIn()
    server.title = "Harbour Gazette"
    server.items = []
    server.add_item("Ferry timetable changes", guid="urn:harbour:1", link="/ferry",
                    published=datetime(2024, 5, 1, 6, 0, tzinfo=UTC), summary="Summer sailings start 1 June.")
    server.add_item("Fish market moves indoors", guid="urn:harbour:2", link="/market",
                    published=datetime(2024, 5, 3, 7, 0, tzinfo=UTC), summary="The hall opens on Saturday.")
    with server:
        yield server


def news_desk(make_slack, openai_api, *servers: FeedStandIn, **env):
    """Slack with the AI on, these feed servers allowed (and only them), feeds given a second and 200 KB."""
    openai_api.reply = newsroom_model
    allowed = ",".join(f"127.0.0.1:{server.port}" for server in servers)
    return make_slack(OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=openai_api.base_url, FEED_ALLOWED_HOSTS=allowed,
                      FEED_TIMEOUT_SECONDS="1", FEED_MAX_BYTES="200000", **env)


def next_run(redis_conn, reminder_id: int = 1) -> int:
    """Let the reminder's next time come (the due-work pass); returns the run it made."""
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        due = session.get(Reminder, reminder_id).next_run_at
    [run_id] = due_work(settings, redis_conn, now=due)["runs"]
    return run_id


def run_status(run_id: int) -> str:
    with session_scope(get_settings().database_url) as session:
        return session.get(ReminderRun, run_id).status


def post_of(slack_api, run_id: int) -> str:
    """The channel message about that run (approval request or outcome)."""
    found = [m for m in slack_api.messages("C1") if f"Digest #{run_id}*" in text_of(m)]
    assert len(found) == 1, f"expected one post about digest #{run_id}, found {len(found)}"
    return text_of(found[0])


def approve(slack, run_jobs, run_id: int) -> None:
    answer = slack.click("approve_digest", run_id, user="U2", ephemeral=False)
    assert "is approved" in answer["text"], answer
    run_jobs()


def test_each_digest_carries_only_news_no_earlier_digest_sent(make_slack, slack_api, openai_api, twilio_api,
                                                              feed_server, harbour, redis_conn, run_jobs):
    feed_server.slow_seconds = 5
    slack = news_desk(make_slack, openai_api, feed_server, harbour)
    rss, atom = f"{feed_server.root_url}/rss.xml", f"{harbour.root_url}/atom.xml"
    broken, slow, big = (f"{feed_server.root_url}/{name}.xml" for name in ("broken", "slow", "big"))
    added = slack.command(f"digest add every friday at 16:00 | {ANNA} | feed:{rss} feed:{atom} feed:{broken} "
                          f"feed:{slow} feed:{big} Weekly news from the team.")
    assert "Digest #1 added" in added["text"] and "what is new in 5 feeds, pasted text" in added["text"]

    first = next_run(redis_conn)
    run_jobs()
    post = post_of(slack_api, first)
    assert "News: Fish market moves indoors; Library opens on Sundays; Council approves new bike lanes; " \
           "Ferry timetable changes." in post  # newest first, each story once
    assert f"<{feed_server.root_url}/news/1|Council approves new bike lanes>" in post
    assert f"<{harbour.root_url}/market|Fish market moves indoors>" in post and "your pasted text" in post
    assert "1 SMS segment (GSM-7) per number" in post
    assert "not a valid feed" in post and "timed out after 1 s" in post and "bigger than 200 KB" in post
    assert "Weekly news from the team." in asked(openai_api) and "The vote was 7 to 2." in asked(openai_api)
    assert button_values(slack_api.messages("C1")[-1]) == {"approve_digest": str(first), "drop_digest": str(first)}
    approve(slack, run_jobs, first)
    assert [m["body"] for m in twilio_api.messages] == [
        "News: Fish market moves indoors; Library opens on Sundays; Council approves new bike lanes; "
        "Ferry timetable changes."]

    feed_server.add_item("Bridge reopens after repairs", guid="urn:riverside:3", link="/news/3",
                         published=datetime(2024, 5, 9, 12, 0, tzinfo=UTC), summary="Buses return to Route 4.")
    second = next_run(redis_conn)
    run_jobs()
    post = post_of(slack_api, second)
    assert "News: Bridge reopens after repairs." in post and "Council approves" not in asked(openai_api)
    assert "could not be read" not in post  # the failing feeds were reported once, at the first run
    approve(slack, run_jobs, second)

    third = next_run(redis_conn)
    run_jobs()
    assert run_status(third) == "nothing_new" and len(openai_api.chat_requests) == 2
    assert "nothing new in its sources since the last digest, so nothing was written or sent" in post_of(
        slack_api, third)
    assert "could not be read" not in post_of(slack_api, third) and len(twilio_api.messages) == 2

    listed = text_of(slack.command("digest list"))
    assert "nothing new" in listed and "1 item: “Bridge reopens after repairs”" in listed
    assert "4 items: “Fish market moves indoors”; “Library opens on Sundays”; “Council approves new bike lanes”" \
           " +1 more" in listed
    assert "not readable at the last run" in listed and f"feed:{broken}" in listed


def test_a_dropped_digest_gives_its_news_back_and_older_news_past_six_items_is_passed_over(
        make_slack, slack_api, openai_api, twilio_api, feed_server, redis_conn, run_jobs):
    for day in range(3, 9):  # 8 stories in all: 1-8 May
        feed_server.add_item(f"Story of {day} May", guid=f"urn:riverside:may-{day}",
                             published=datetime(2024, 5, day, 9, 0, tzinfo=UTC))
    slack = news_desk(make_slack, openai_api, feed_server)
    slack.command(f"digest add every friday at 16:00 | {ANNA} | feed:{feed_server.root_url}/rss.xml")
    newest = "News: Story of 8 May; Story of 7 May; Story of 6 May; Story of 5 May; Story of 4 May; Story of 3 May."

    dropped = next_run(redis_conn)
    run_jobs()
    assert newest in post_of(slack_api, dropped)
    assert "is dropped" in slack.click("drop_digest", dropped, user="U2", ephemeral=False)["text"]

    again = next_run(redis_conn)
    run_jobs()
    assert newest in post_of(slack_api, again)  # nobody got them, so they are offered again
    approve(slack, run_jobs, again)

    last = next_run(redis_conn)
    run_jobs()
    assert run_status(last) == "nothing_new"  # the two oldest (1 and 2 May) are not trickled out later
    assert [m["body"] for m in twilio_api.messages] == [newest]
    assert "Digest #1 is deleted" in slack.command("digest delete 1")["text"]  # with its runs and their items


def test_a_feed_that_keeps_failing_is_reported_once_until_it_works_again(make_slack, slack_api, openai_api,
                                                                          feed_server, redis_conn, run_jobs):
    slack = news_desk(make_slack, openai_api, feed_server)
    flaky = feed_server.publish("/flaky.xml", "<rss><channel><item><title>Half")
    slack.command(f"digest add every friday at 16:00 | {ANNA} | feed:{flaky}")
    posts = []
    for body in (None, None, feed_server.rss(), "<html>", None):
        if body:
            feed_server.publish("/flaky.xml", body, "text/html" if body == "<html>" else "application/rss+xml")
        run_id = next_run(redis_conn)
        run_jobs()
        posts.append(post_of(slack_api, run_id))
    warned = ["could not be read" in post for post in posts]
    assert warned == [True, False, False, True, False]
    assert "not a valid feed" in posts[0] and "nothing new in its sources" in posts[1]
    assert "Council approves new bike lanes" in posts[2] and "not a feed" in posts[3]


def test_a_feed_address_that_leads_to_a_private_network_is_refused_before_any_connection(
        make_slack, slack_api, openai_api, feed_server, redis_conn):
    slack = news_desk(make_slack, openai_api, feed_server)
    resolver = resolving({"news.example.com": ["10.0.0.5"], "intranet.example.com": ["192.168.1.20"]})
    moved = f"{feed_server.root_url}/redirect?to=http://intranet.example.com/feed.xml"
    slack.command(f"digest add every friday at 16:00 | {ANNA} | feed:http://news.example.com/rss.xml feed:{moved}")
    run_id = next_run(redis_conn)

    with recorded_sockets() as log:
        write_digest(run_id, resolver=resolver)  # the job, run here so the resolver can be handed to it

    assert {host for host, _ in connects(log)} == {"127.0.0.1"}  # the feed server and the Slack stand-in only
    assert [request.path for request in feed_server.requests] == ["/redirect"]
    post = post_of(slack_api, run_id)
    assert "news.example.com resolves to 10.0.0.5, a private address" in post
    assert "it redirects to http://intranet.example.com/feed.xml, and intranet.example.com resolves to " \
           "192.168.1.20, a private address" in post
    assert run_status(run_id) == "nothing_new" and openai_api.chat_requests == []


def test_a_knowledge_document_added_between_two_runs_is_in_the_second_digest(make_slack, slack_api, openai_api,
                                                                            twilio_api, redis_conn, run_jobs,
                                                                            tmp_path):
    slack = news_desk(make_slack, openai_api, KNOWLEDGE_DIR=str(tmp_path / "kb"), AI_MIN_SCORE="0.2")
    settings = get_settings()
    add_document(settings, *PARKING)
    added = slack.command(f"digest add every monday at 8:00 | {ANNA} | kb:parking")
    assert "what is new in knowledge base: parking" in added["text"]

    first = next_run(redis_conn)
    run_jobs()
    assert "News: Parking." in post_of(slack_api, first) and "knowledge base: parking" in post_of(slack_api, first)
    assert "Parking is free for guests" in asked(openai_api)
    approve(slack, run_jobs, first)

    add_document(settings, "Parking in June", "From June the parking moves to level -2 of the garage.")
    add_document(settings, *REFUNDS)
    second = next_run(redis_conn)
    run_jobs()
    assert "News: Parking in June." in post_of(slack_api, second)
    assert "level -2" in asked(openai_api) and "free for guests" not in asked(openai_api)
    assert "Refunds" not in asked(openai_api)  # added too, but not about the digest's topic


def test_sources_are_checked_when_a_digest_is_added(make_slack, openai_api):
    slack = news_desk(make_slack, openai_api)
    refused = slack.command(f"digest add every friday at 16:00 | {ANNA} | feed:ftp://files.example.com/news "
                            "feed:https://editor:secret@news.example.com/rss kb:")
    shown = text_of(refused)
    assert "`feed:ftp://files.example.com/news` is not a web address: it must start with https://" in shown
    assert "has a user name or password in it" in shown and "secret" not in shown
    assert "`kb:` needs a topic" in shown

    added = slack.command(f"digest add every friday at 16:00 | {ANNA} | "
                          "feed:<https://news.example.com/rss> kb:\"opening hours\" Be brief.")
    assert "what is new in 1 feed, knowledge base: opening hours, pasted text" in added["text"]


def test_digests_with_sources_over_rest(make_client, auth, openai_api, feed_server, redis_conn, run_jobs):
    openai_api.reply = newsroom_model
    client = make_client(OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=openai_api.base_url,
                         FEED_ALLOWED_HOSTS=f"127.0.0.1:{feed_server.port}")
    bad = client.post("/api/reminders", headers=auth, json={
        "schedule": "every friday at 16:00 UTC", "numbers": ANNA, "kind": "digest", "body": "feed:news.example.com"})
    assert bad.status_code == 422 and "must start with https://" in bad.get_json()["problems"][0]["message"]

    created = client.post("/api/reminders", headers=auth, json={
        "schedule": "every friday at 16:00 UTC", "numbers": ANNA, "kind": "digest",
        "body": f"feed:{feed_server.root_url}/atom.xml kb:parking"}).get_json()["reminder"]
    assert created["sources"] == {"feeds": [f"{feed_server.root_url}/atom.xml"], "topics": ["parking"], "text": ""}
    next_run(redis_conn, created["id"])
    run_jobs()
    [draft] = client.get("/api/digest-drafts", headers=auth).get_json()["items"]
    assert draft["body"] == "News: Library opens on Sundays; Council approves new bike lanes."
    assert draft["segments"] == 1
    assert [(i["title"], i["link"], i["source"]) for i in draft["items"]] == [
        ("Library opens on Sundays", f"{feed_server.root_url}/news/2", "feed"),
        ("Council approves new bike lanes", f"{feed_server.root_url}/news/1", "feed")]
    assert draft["items"][0]["published"] == "2024-05-02T07:30:00+00:00"
    runs = client.get(f"/api/reminders/{created['id']}/runs", headers=auth).get_json()
    assert runs["count"] == 1 and runs["items"][0]["items"] == draft["items"]
    assert client.get("/api/reminders/999/runs", headers=auth).status_code == 404


def test_the_panel_shows_what_each_digest_carried(make_slack, make_client, slack_api, openai_api, feed_server,
                                                  redis_conn, run_jobs):
    slack = news_desk(make_slack, openai_api, feed_server)
    slack.command(f"digest add every friday at 16:00 | {ANNA} | feed:{feed_server.root_url}/rss.xml "
                  f"feed:{feed_server.root_url}/broken.xml kb:\"opening hours\"")
    first = next_run(redis_conn)
    run_jobs()
    approve(slack, run_jobs, first)
    panel = Panel(make_client(PANEL_PASSWORD=PASSWORD, FEED_ALLOWED_HOSTS=f"127.0.0.1:{feed_server.port}"))
    panel.login()

    page = panel.client.get("/panel/digests")

    assert page.status_code == 200 and 'aria-current="page">Digests' in page.text
    row = re.search(rf'<tr data-run="{first}">(.*?)</tr>', page.text, re.S).group(1)
    assert "Approved" in row and 'href="/panel/batches/1"' in row
    assert f'<a href="{feed_server.root_url}/news/1" rel="noopener noreferrer nofollow">Council approves new bike ' \
           "lanes</a>" in row
    assert "broken.xml</code> could not be read: not a valid feed" in row
    assert "Knowledge base topics</dt><dd>opening hours" in page.text
