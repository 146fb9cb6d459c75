"""The one place that makes Redis connections and queues."""

from __future__ import annotations

import importlib
import ssl

import pytest

from multisms import queues
from multisms.config import Settings
from multisms.db import session_scope
from multisms.models import Batch
from multisms.queues import OLD_JOB_PATHS, SEND, JobKind, enqueue, get_queue, redis_connection
from tests.send_helpers import create_batch, numbers, statuses


def test_rediss_urls_accept_herokus_self_signed_certificate():
    connection = redis_connection(Settings(_env_file=None, redis_url="rediss://:secret@redis.example:6380/0"))
    kwargs = connection.connection_pool.connection_kwargs
    assert connection.connection_pool.connection_class.__name__ == "SSLConnection"
    assert kwargs["ssl_cert_reqs"] == ssl.CERT_NONE and kwargs["host"] == "redis.example"


def test_jobs_are_enqueued_by_name(redis_conn):
    job = enqueue(redis_conn, SEND, 7, job_id="send-batch-7")
    assert job.func_name == "jobs.send.send_batch" and job.args == (7,) and job.timeout == SEND.timeout
    assert get_queue("sms", redis_conn).job_ids == ["send-batch-7"]


def _function(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_registered_job_kind_names_a_function_that_exists():
    kinds = [value for value in vars(queues).values() if isinstance(value, JobKind)]
    assert len(kinds) >= 12
    for kind in kinds:
        assert callable(_function(kind.path)), kind.path
        assert kind.queue in queues.QUEUE_NAMES


def test_a_job_queued_under_the_previous_releases_path_still_runs(settings, redis_conn, twilio_api, run_jobs):
    for old, kind in OLD_JOB_PATHS.items():
        assert _function(old) is _function(kind.path)  # the alias is the moved function itself
    batch_id = create_batch(settings, numbers(2), queue=False)
    with session_scope(settings.database_url) as session:
        batch = session.get(Batch, batch_id)
        batch.status, batch.scheduled_at = "scheduled", batch.created_at
    get_queue("sms", redis_conn).enqueue("jobs.schedule.start_batch", batch_id)  # as queued before the deploy
    run_jobs()
    assert set(statuses(settings, batch_id).values()) == {"queued"}


def test_unknown_queue_is_refused(redis_conn):
    with pytest.raises(ValueError, match="unknown queue 'email'"):
        get_queue("email", redis_conn)
