"""The Slack Web API client, in one place: `SLACK_API_URL` honoured, 429s retried after Retry-After;
and `post_once`, which jobs use so a repeated job never posts twice.

Its own module so jobs can post to Slack without importing Bolt.
"""

from __future__ import annotations

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from multisms.config import Settings

RATE_LIMIT_RETRIES = 3
"""Slack answers 429 with Retry-After; the SDK waits that long and tries again, this many times."""
POSTED_TTL_SECONDS = 30 * 24 * 3600
"""Posts are remembered a month: long after any retry of the same job."""


def slack_client(settings: Settings) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def post_once(client: WebClient, connection: Redis, key: str, **message) -> str | None:
    """Post unless this key was posted before (its ts, or None); a failed post frees the key so a rerun can."""
    if not connection.set(key, 1, nx=True, ex=POSTED_TTL_SECONDS):
        return None
    try:
        return client.chat_postMessage(**message)["ts"]
    except BaseException:
        connection.delete(key)
        raise
