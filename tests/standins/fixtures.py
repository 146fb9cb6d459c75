"""Pytest plugin: function-scoped stand-in fixtures.

Why: each test gets a fresh server on a free port (start takes milliseconds),
so recorded traffic and armed faults never leak between tests.  After the
test the fixture fails it if the stand-in itself crashed (``.errors``).
Enable with ``pytest_plugins = ["tests.standins.fixtures"]`` or
``-p tests.standins.fixtures``.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from .feeds import FeedStandIn
from .openai_api import OpenAIStandIn
from .server import StandIn
from .slack_api import SlackStandIn
from .twilio_api import TwilioStandIn


def _serve(standin: StandIn) -> Iterator:
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
    if standin.errors:
        pytest.fail(f"{type(standin).__name__} crashed:\n" + "\n".join(standin.errors), pytrace=False)


@pytest.fixture
def twilio_api() -> Iterator[TwilioStandIn]:
    yield from _serve(TwilioStandIn())


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    yield from _serve(SlackStandIn())


@pytest.fixture
def openai_api() -> Iterator[OpenAIStandIn]:
    yield from _serve(OpenAIStandIn())


@pytest.fixture
def feed_server() -> Iterator[FeedStandIn]:
    yield from _serve(FeedStandIn())
