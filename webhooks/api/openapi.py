"""The OpenAPI 3.1 document, generated from the routes and the pydantic models that serve them.

Each API view carries `@operation(...)`: its summary, its request model(s) and its response
model per status. The same decorator validates the request with those models and checks that
the view answers with the model documented for the status, so the document and the behaviour
cannot drift. `build_document(app)` walks the app's URL map: paths, methods and path parameters
come from Flask's routing, schemas from `model_json_schema` (`#/components/schemas/{model}`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from pydantic import BaseModel, RootModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from multisms.batches import MAX_ID
from webhooks.api.errors import MEANINGS, invalid, invalid_input
from webhooks.api.models import Error

API_PREFIX = "/api/"
REF_TEMPLATE = "#/components/schemas/{model}"
INFO = {"title": "multisms API", "version": "1.0.0",
        "description": "Create and follow bulk SMS batches. Bearer token: API_TOKEN."}
_PATH_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


class OpenApiDocument(RootModel[dict[str, Any]]):
    """This document (OpenAPI 3.1)."""

Documented = type[BaseModel] | tuple[type[BaseModel], str] | str
"""A response model, or a model and what the response means here (default: the model's docstring);
for a file answer (`Operation.file`), only what it means."""
UPLOAD_SCHEMAS = {
    "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"]},
}
"""How an uploaded file travels per media type; any other type is the file itself as the body."""


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: Mapping[int, Documented]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    """Refusals besides those the route implies (400 with input, 401/503 with the token, 404 with an id)."""
    public: bool = False
    csv: bool = False
    """The 200 answer may also be `text/csv` (the view then returns a Response itself)."""
    file: str | None = None
    """The 200 answer is a file of this media type, not JSON (the view returns a Response itself)."""
    upload: tuple[str, ...] = ()
    """Media types of a file sent as the request body, which the view reads itself (its size is the view's
    to check)."""
    description: str | None = None

    def model_for(self, status: int) -> type[BaseModel] | None:
        documented = self.responses.get(status)
        if isinstance(documented, str):
            return None
        return documented[0] if isinstance(documented, tuple) else documented


def operation(summary: str, **details) -> Callable:
    """Document a view (`details`: the other fields of `Operation`) and hold it to the document.

    The view receives `body=` and `query=` already validated (400 naming the field otherwise), and
    answers with a response model, or `(model, status)`; a model the document does not list for
    that status is a programming error (TypeError), caught by the tests, never sent.
    """
    spec = Operation(summary, **details)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(**kwargs):
            try:
                if spec.query:
                    kwargs["query"] = spec.query.model_validate(request.args.to_dict())
                if spec.body:
                    kwargs["body"] = spec.body.model_validate(_json_object())
            except ValidationError as exc:
                raise invalid_input(exc) from exc
            return _answer(spec, view(**kwargs))

        checked.operation = spec
        return checked

    return decorate


def _json_object() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise invalid({"field": "body", "message": "Send a JSON object (Content-Type: application/json)."})
    return payload


def _answer(spec: Operation, result) -> Response:
    if isinstance(result, Response):
        return result
    model, status = result if isinstance(result, tuple) else (result, 200)
    if type(model) is not spec.model_for(status):
        raise TypeError(f"{request.endpoint} answered {status} with {type(model).__name__}, "
                        f"which the document does not list for that status")
    return Response(model.model_dump_json(exclude_unset=True), status, mimetype="application/json")


def build_document(app: Flask) -> dict:
    """The OpenAPI document for every `/api/` route of `app`; a route without `@operation` is an error."""
    routes = [(rule, app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(API_PREFIX)]
    undocumented = [rule.rule for rule, view in routes if not hasattr(view, "operation")]
    if undocumented:
        raise TypeError(f"API routes without @operation (add one, so clients can see them): {undocumented}")
    refs, schemas = _schemas([view.operation for _, view in routes])
    paths: dict[str, dict] = {}
    for rule, view in routes:
        path = _PATH_PARAMETER.sub(r"{\2}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _describe(view.operation, rule, refs)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "security": [{"bearer": []}],
        "paths": paths,
    }


class _WithoutFieldTitles(GenerateJsonSchema):
    """Field titles only repeat the field's name."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def _schemas(operations: list[Operation]) -> tuple[dict, dict]:
    """Request models in validation mode, responses in serialization mode, all under components."""
    wanted = {(Error, "serialization")}
    for op in operations:
        if op.body:
            wanted.add((op.body, "validation"))
        wanted.update((op.model_for(status), "serialization") for status in op.responses if op.model_for(status))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    refs, definitions = models_json_schema(ordered, ref_template=REF_TEMPLATE, schema_generator=_WithoutFieldTitles)
    return refs, dict(sorted(definitions.get("$defs", {}).items()))


def _describe(op: Operation, rule, refs: dict) -> dict:
    described: dict = {"summary": op.summary, "operationId": rule.endpoint}
    if op.description:
        described["description"] = op.description
    if op.public:
        described["security"] = []
    parameters = _path_parameters(rule.rule) + (_query_parameters(op.query) if op.query else [])
    if parameters:
        described["parameters"] = parameters
    if op.body:
        described["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(op.body, "validation")]}}}
    if op.upload:
        described["requestBody"] = {"required": True, "content": {
            kind: {"schema": UPLOAD_SCHEMAS.get(kind, {"type": "string", "format": "binary"})} for kind in op.upload}}
    described["responses"] = {**_error_responses(op, rule, refs), **_responses(op, refs)}
    described["responses"] = dict(sorted(described["responses"].items()))
    return described


def _responses(op: Operation, refs: dict) -> dict:
    answers = {}
    for status, documented in op.responses.items():
        if isinstance(documented, str):
            answers[str(status)] = {"description": documented, "content": {op.file: {"schema": {"type": "string"}}}}
            continue
        model, meaning = documented if isinstance(documented, tuple) else (documented, _first_line(documented))
        content = {"application/json": {"schema": refs[(model, "serialization")]}}
        if op.csv and status == 200:
            content["text/csv"] = {"schema": {"type": "string"}}
        answers[str(status)] = {"description": meaning, "content": content}
    return answers


def _error_responses(op: Operation, rule, refs: dict) -> dict:
    implied = set(op.errors)
    if op.body or op.query or op.upload:
        implied.add(400)
    if not op.public:
        implied.update({401, 503})
    if rule.arguments:
        implied.add(404)
    error = {"application/json": {"schema": refs[(Error, "serialization")]}}
    return {str(status): {"description": MEANINGS[status], "content": error} for status in sorted(implied)}


def _path_parameters(path: str) -> list[dict]:
    parameters = []
    for converter, name in _PATH_PARAMETER.findall(path):
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID} if converter == "int" else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    """One parameter per field; `X or null` is just X in a query string (left out means null)."""
    schema = model.model_json_schema(schema_generator=_WithoutFieldTitles)
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
        if len(variants) == 1:
            prop.update(variants[0])
        if prop.get("default", 0) is None:
            del prop["default"]
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _first_line(model: type[BaseModel]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]
