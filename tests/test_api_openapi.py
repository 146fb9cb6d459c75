"""The OpenAPI document is generated from the models that validate requests and shape responses:
a developer who adds a field or a route sees it documented and enforced, and cannot forget either."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from flask import Blueprint, Flask
from pydantic import Field, create_model

from webhooks.api import errors
from webhooks.api.models import CreateBatch, Deleted, OneBatch
from webhooks.api.openapi import build_document, operation

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = "#/components/schemas/"


def docs_script():
    spec = importlib.util.spec_from_file_location("build_api_docs", ROOT / "scripts" / "build_api_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def flask_rule(path: str, item: dict) -> str:
    """`/api/lists/{name}` → `/api/lists/<name>`, `{batch_id}` → `<int:batch_id>` (by the parameter's type)."""
    kinds = {p["name"]: p["schema"]["type"] for op in item.values() for p in op.get("parameters", ())
             if p["in"] == "path"}
    return re.sub(r"\{(\w+)\}", lambda m: f"<int:{m[1]}>" if kinds[m[1]] == "integer" else f"<{m[1]}>", path)


def trial_app(view_options: dict, answer=lambda **_: Deleted(deleted=1)) -> Flask:
    """An app with one API route, `POST /api/trial`, documented by `view_options`."""
    bp = Blueprint("trial", __name__, url_prefix="/api")
    errors.register(bp)
    bp.add_url_rule("/trial", "trial", operation("Try it", **view_options)(answer), methods=["POST"])
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app


def test_a_field_added_to_a_request_model_is_documented_and_enforced():
    with_note = create_model("CreateBatchWithNote", __base__=CreateBatch,
                             note=(str, Field(max_length=10, description="a note for the team")))
    app = trial_app({"body": with_note, "responses": {200: Deleted}})

    document = build_document(app)
    body = document["paths"]["/api/trial"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": SCHEMAS + "CreateBatchWithNote"}
    schema = document["components"]["schemas"]["CreateBatchWithNote"]
    assert schema["properties"]["note"] == {"type": "string", "maxLength": 10, "description": "a note for the team"}
    assert "note" in schema["required"]

    client = app.test_client()
    valid = {"body": "Hi", "numbers": "+48600123456"}
    assert client.post("/api/trial", json={**valid, "note": "short"}).status_code == 200
    for refused in (valid, {**valid, "note": "far too long for it"}):
        response = client.post("/api/trial", json=refused)
        assert response.status_code == 400
        assert [p["field"] for p in response.json["problems"]] == ["note"]


def test_the_served_document_states_the_limits_the_api_enforces(client, auth):
    document = client.get("/api/openapi.json", headers=auth).json
    create = document["components"]["schemas"]["CreateBatch"]
    limit = create["properties"]["recipients"]["anyOf"][0]["maxItems"]
    assert create["additionalProperties"] is False

    too_many = client.post("/api/multi-sms/batches", headers=auth,
                           json={"body": "Hi", "recipients": ["+48600123456"] * (limit + 1)})
    assert too_many.status_code == 400
    assert too_many.json["problems"][0]["field"] == "recipients"
    unknown = client.post("/api/multi-sms/batches", headers=auth, json={"body": "Hi", "numbers": "1", "colour": "red"})
    assert [p["field"] for p in unknown.json["problems"]] == ["colour"]


def test_every_api_route_is_in_the_document_and_docs_are_built_from_the_same_one(client, auth):
    served = client.get("/api/openapi.json", headers=auth).json
    assert served == docs_script().document()
    app_rules = {rule.rule for rule in client.application.url_map.iter_rules() if rule.rule.startswith("/api/")}
    documented = {flask_rule(path, item) for path, item in served["paths"].items()}
    assert documented == app_rules
    assert served["paths"]["/api/health"]["get"]["security"] == []
    assert set(served["paths"]["/api/multi-sms/batches/{batch_id}/cancel"]["post"]["responses"]) == {
        "200", "401", "404", "409", "503"}


def test_a_route_without_a_documented_operation_stops_the_document():
    app = trial_app({"responses": {200: Deleted}})
    app.add_url_rule("/api/secret", "secret", lambda: "", methods=["GET"])
    with pytest.raises(TypeError, match="/api/secret"):
        build_document(app)


def test_an_answer_the_document_does_not_list_is_a_bug_not_a_response():
    app = trial_app({"responses": {200: OneBatch}})
    app.testing = True
    with pytest.raises(TypeError, match="Deleted"):
        app.test_client().post("/api/trial")


def test_a_body_that_is_not_a_json_object_is_refused_naming_it():
    client = trial_app({"body": CreateBatch, "responses": {200: Deleted}}).test_client()
    for data, kind in (("[1, 2]", "application/json"), ("body=Hi", "application/x-www-form-urlencoded")):
        response = client.post("/api/trial", data=data, content_type=kind)
        assert response.status_code == 400
        assert response.json["error"] == "Invalid request."
        assert [p["field"] for p in response.json["problems"]] == ["body"]
