"""The one place that makes Redis connections and queues."""

from __future__ import annotations

import ssl

import pytest

from multisms.config import Settings
from multisms.queues import enqueue, get_queue, redis_connection


def test_rediss_urls_accept_herokus_self_signed_certificate():
    connection = redis_connection(Settings(_env_file=None, redis_url="rediss://:secret@redis.example:6380/0"))
    kwargs = connection.connection_pool.connection_kwargs
    assert connection.connection_pool.connection_class.__name__ == "SSLConnection"
    assert kwargs["ssl_cert_reqs"] == ssl.CERT_NONE and kwargs["host"] == "redis.example"


def test_jobs_are_enqueued_by_name(redis_conn):
    job = enqueue(redis_conn, "jobs.send.send_batch", 7, queue="sms", job_id="send-batch-7")
    assert job.func_name == "jobs.send.send_batch" and job.args == (7,)
    assert get_queue("sms", redis_conn).job_ids == ["send-batch-7"]


def test_unknown_queue_is_refused(redis_conn):
    with pytest.raises(ValueError, match="unknown queue 'email'"):
        get_queue("email", redis_conn)
