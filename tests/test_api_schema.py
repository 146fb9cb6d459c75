"""schemathesis against `/api/openapi.json`: generated requests (valid and invalid) never get a
5xx, and every response matches the document (status codes, content types and bodies).

Driven through schemathesis's Python API rather than its pytest plugin, which does not load
under pytest 9. One check is left out on purpose: a schema-valid batch can still be refused
with 422 (too many numbers, an empty body after trimming…): that is the API's contract.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from rq import Worker
from schemathesis.specs.openapi.checks import positive_data_acceptance

from multisms.queues import get_queue
from tests.conftest import API_TOKEN
from webhooks.app import create_app

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
EXAMPLES_PER_OPERATION = 25


def test_every_api_operation_conforms_and_never_errors(configure, redis_conn):
    app = create_app(configure(DEFAULT_REGION="PL"))
    worker = Worker([get_queue("sms", redis_conn)], connection=redis_conn)  # a healthy system: 503 is a failure
    worker.register_birth()
    worker.heartbeat()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

        conforms()
    worker.register_death()
