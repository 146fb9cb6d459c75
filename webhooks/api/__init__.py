"""`/api/…`: the REST API. One module per resource (`batches`, `scheduling`, `optouts`, `contacts`),
each a blueprint nested in `bp`; `models` and `contact_models` hold the pydantic models, `errors` the
JSON errors, `openapi` the document generated from both.

Every route needs `Authorization: Bearer $API_TOKEN`; without a configured token the API
answers 503 and says how to enable it.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from webhooks import resources
from webhooks.api import batches, contacts, errors, optouts, scheduling
from webhooks.api.openapi import OpenApiDocument, build_document, operation

bp = Blueprint("api", __name__, url_prefix="/api")
for resource in (batches, scheduling, optouts, contacts):
    bp.register_blueprint(resource.bp)  # the token check and the error handlers below cover them all
errors.register(bp)

DOCUMENT = "openapi_document"
"""Where an app keeps its document once built (`app.extensions`)."""


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, errors.http_error)


@bp.before_request
def require_token():
    token = resources.settings().api_token
    if not token:
        return jsonify(error="The API is disabled: set API_TOKEN to enable it."), 503
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        response = jsonify(error="Missing or wrong API token: send `Authorization: Bearer <API_TOKEN>`.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="multisms"'
        return response, 401
    return None


@bp.get("/openapi.json")
@operation("This document", responses={200: (OpenApiDocument, "OpenAPI 3.1, for Postman, Insomnia or a client "
                                                              "generator")})
def openapi_document():
    if DOCUMENT not in current_app.extensions:
        current_app.extensions[DOCUMENT] = build_document(current_app)
    return OpenApiDocument(current_app.extensions[DOCUMENT])
