"""The Slack Web API client, in one place: `SLACK_API_URL` honoured, 429s retried after Retry-After.

Its own module so jobs can post to Slack without importing Bolt.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from multisms.config import Settings

RATE_LIMIT_RETRIES = 3
"""Slack answers 429 with Retry-After; the SDK waits that long and tries again, this many times."""


def slack_client(settings: Settings) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client
