"""The REST side of scheduling: `scheduled_at` on create, reschedule, reminders, digest approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.scheduling import due_work
from tests.schedule_helpers import batch_of

ANNA, BOB = "+48600100001", "+48600100002"


def later(hours: float = 5) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


def test_scheduled_at_needs_an_offset_and_a_future(client, auth):
    for value, problem in [("2030-01-01T09:00:00", "needs a UTC offset"), ("2020-01-01T09:00:00Z", "already passed"),
                           ("next tuesday", "ISO 8601")]:
        response = client.post("/api/multi-sms/batches", headers=auth,
                               json={"body": "Hi", "recipients": [ANNA], "scheduled_at": value})
        assert response.status_code == 400
        assert response.get_json()["problems"][0]["field"] == "scheduled_at"
        assert problem in response.get_json()["problems"][0]["message"]


def test_a_batch_created_for_later_waits_can_be_moved_and_cancelled(client, auth, settings, redis_conn, twilio_api,
                                                                     run_jobs):
    when = later()
    created = client.post("/api/multi-sms/batches", headers=auth,
                          json={"body": "Hi later", "recipients": [ANNA, BOB], "scheduled_at": when.isoformat()})
    assert created.status_code == 201
    batch = created.get_json()["batch"]
    assert (batch["status"], batch["scheduled_at"]) == ("scheduled", when.isoformat())
    run_jobs()
    assert twilio_api.messages == []

    moved_to = later(8)
    moved = client.post(f"/api/multi-sms/batches/{batch['id']}/reschedule", headers=auth,
                        json={"scheduled_at": moved_to.astimezone().isoformat()})
    assert moved.status_code == 200 and moved.get_json()["batch"]["scheduled_at"] == moved_to.isoformat()
    assert due_work(settings, redis_conn, now=when)["started"] == []
    assert client.post(f"/api/multi-sms/batches/{batch['id']}/cancel", headers=auth).status_code == 200
    assert due_work(settings, redis_conn, now=moved_to)["started"] == []
    run_jobs()
    assert twilio_api.messages == [] and batch_of(settings, batch["id"]).status == "cancelled"
    again = client.post(f"/api/multi-sms/batches/{batch['id']}/reschedule", headers=auth,
                        json={"scheduled_at": later(9).isoformat()})
    assert again.status_code == 409 and "can't change" in again.get_json()["error"]


def test_quiet_hours_are_reported_when_a_batch_is_created(make_client, auth):
    client = make_client(QUIET_HOURS="21:00-08:00")
    evening = (datetime.now(UTC) + timedelta(days=1)).replace(hour=21, minute=0, second=0, microsecond=0)
    response = client.post("/api/multi-sms/batches", headers=auth, json={
        "body": "Hi", "recipients": [ANNA, "+12025550123"], "scheduled_at": evening.isoformat(), "dry_run": True})
    assert response.status_code == 200
    assert response.get_json()["quiet_hours"]["deferred_count"] == 1  # Warsaw is asleep, New York is not


def test_reminders_over_rest(client, auth, settings, redis_conn, twilio_api, run_jobs):
    bad = client.post("/api/reminders", headers=auth, json={"schedule": "now and then", "numbers": ANNA, "body": "x"})
    assert bad.status_code == 400 and bad.get_json()["problems"][0]["field"] == "schedule"
    no_ai = client.post("/api/reminders", headers=auth,
                        json={"schedule": "every day at 9:00", "numbers": ANNA, "body": "News", "kind": "digest"})
    assert no_ai.status_code == 422 and "OPENAI_API_KEY" in no_ai.get_json()["problems"][0]["message"]

    created = client.post("/api/reminders", headers=auth, json={
        "schedule": "every weekday at 8:30", "timezone": "Europe/Warsaw", "numbers": f"{ANNA}, {BOB}",
        "body": "Stand-up at 9"})
    assert created.status_code == 201
    reminder = created.get_json()["reminder"]
    assert (reminder["schedule"], reminder["cron"], reminder["timezone"]) == (
        "every weekday at 08:30", "30 8 * * 1-5", "Europe/Warsaw")
    assert client.post(f"/api/reminders/{reminder['id']}/pause", headers=auth).get_json()["reminder"]["paused"]
    due = datetime.fromisoformat(reminder["next_run_at"])
    assert due_work(settings, redis_conn, now=due)["runs"] == []
    resumed = client.post(f"/api/reminders/{reminder['id']}/resume", headers=auth).get_json()["reminder"]
    assert due_work(settings, redis_conn, now=datetime.fromisoformat(resumed["next_run_at"]))["runs"] != []
    run_jobs()
    assert (twilio_api.sent_to(ANNA), twilio_api.sent_to(BOB)) == (1, 1)
    assert [r["id"] for r in client.get("/api/reminders", headers=auth).get_json()["items"]] == [reminder["id"]]
    assert client.delete(f"/api/reminders/{reminder['id']}", headers=auth).status_code == 200
    assert client.get(f"/api/reminders/{reminder['id']}", headers=auth).status_code == 404


def test_digest_drafts_are_approved_once_over_rest(make_client, auth, openai_api, redis_conn, twilio_api, run_jobs):
    openai_api.reply = "Office closed Friday."
    client = make_client(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=openai_api.base_url)
    from multisms.config import get_settings

    settings = get_settings()
    created = client.post("/api/reminders", headers=auth, json={
        "schedule": "every friday at 16:00 UTC", "numbers": ANNA, "body": "The office is closed on Friday.",
        "kind": "digest"}).get_json()["reminder"]
    due_work(settings, redis_conn, now=datetime.fromisoformat(created["next_run_at"]))
    run_jobs()
    drafts = client.get("/api/digest-drafts", headers=auth).get_json()["items"]
    assert [(d["status"], d["body"]) for d in drafts] == [("awaiting_approval", "Office closed Friday.")]
    assert twilio_api.messages == []
    approved = client.post(f"/api/digest-drafts/{drafts[0]['id']}/approve", headers=auth)
    twice = client.post(f"/api/digest-drafts/{drafts[0]['id']}/approve", headers=auth)
    run_jobs()
    assert approved.status_code == 200 and twice.status_code == 409
    assert twilio_api.sent_to(ANNA) == 1
