"""The OpenAPI 3.1 document served at `/api/openapi.json` (the contract external tools rely on)."""

from __future__ import annotations

from webhooks import schedule_openapi

_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "Malformed request (names the field)", 401: "Missing or wrong token", 404: "No such batch",
            409: "Not possible in the batch's current state (says why)",
            422: "Batch rejected (names each problem)", 503: "API disabled (API_TOKEN unset)"}
    return {str(code): _json(_ERROR, text[code]) for code in codes}


_BATCH_ID = {"name": "batch_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000000000}},
]

def _control(summary: str) -> dict:
    return {"post": {
        "summary": summary, "parameters": [_BATCH_ID],
        "responses": {"200": _json({"type": "object", "required": ["batch"], "properties": {
            "batch": {"$ref": "#/components/schemas/Batch"}}}, "The batch after the change"),
            **_errors(401, 404, 409, 503)},
    }}


SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "multisms API", "version": "1.0.0",
             "description": "Create and follow bulk SMS batches. Bearer token: API_TOKEN."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object", "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "problems": {"type": "array", "items": {
                        "type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
                    "validation": {"$ref": "#/components/schemas/Validation"},
                },
            },
            "Batch": {
                "type": "object",
                "required": ["id", "body", "sender_identity", "status", "total_recipients", "success_count",
                             "failure_count", "invalid_count", "pending_count", "created_at"],
                "properties": {
                    "id": {"type": "integer"}, "body": {"type": "string"}, "sender_identity": {"type": "string"},
                    "status": {"type": "string", "enum": ["draft", "awaiting_approval", "scheduled", "pending",
                                                          "processing", "paused", "completed",
                                                          "completed_with_errors", "failed", "cancelled"]},
                    "error": _NULLABLE_STR,
                    "total_recipients": {"type": "integer"},
                    "success_count": {"type": "integer", "description": "accepted by Twilio: queued, sent or "
                                      "delivered"},
                    "failure_count": {"type": "integer", "description": "failed or undelivered"},
                    "invalid_count": {"type": "integer", "description": "invalid numbers, refused at intake or by "
                                      "Twilio"},
                    "pending_count": {"type": "integer", "description": "not handed to Twilio yet; 0 once the "
                                      "batch has finished"},
                    "delivered_count": {"type": "integer", "description": "delivery receipt: delivered"},
                    "undelivered_count": {"type": "integer", "description": "delivery receipt: undelivered "
                                          "(also in failure_count)"},
                    "opted_out_count": {"type": "integer"},
                    "status_counts": {"type": "object", "additionalProperties": {"type": "integer"},
                                      "description": "recipients by status"},
                    "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]}, "segments": {"type": "integer"},
                    "created_by": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"}, "confirmed_at": _NULLABLE_TIME,
                    "scheduled_at": _NULLABLE_TIME, "started_at": _NULLABLE_TIME, "completed_at": _NULLABLE_TIME,
                    "recipients": {"type": "array", "items": {"$ref": "#/components/schemas/Recipient"}},
                },
            },
            "Recipient": {
                "type": "object",
                "required": ["id", "batch_id", "number_raw", "number_normalized", "status"],
                "properties": {
                    "id": {"type": "integer"}, "batch_id": {"type": "integer"}, "number_raw": {"type": "string"},
                    "number_normalized": {"type": "string"}, "status": {"type": "string"}, "sid": _NULLABLE_STR,
                    "error": _NULLABLE_STR, "error_code": {"type": ["integer", "null"]},
                    "attempts": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"}, "sent_at": _NULLABLE_TIME,
                },
            },
            "Validation": {
                "type": "object",
                "required": ["ok", "valid_count", "invalid", "duplicates", "opted_out", "encoding", "segments"],
                "properties": {
                    "ok": {"type": "boolean"}, "sender": _NULLABLE_STR,
                    "valid_count": {"type": "integer"}, "invalid_count": {"type": "integer"},
                    "duplicate_count": {"type": "integer"}, "opted_out_count": {"type": "integer"},
                    "recipients": {"type": "array", "items": {"type": "string"}},
                    "invalid": {"type": "array", "items": {"type": "object", "properties": {
                        "number": {"type": "string"}, "reason": {"type": "string"}}}},
                    "duplicates": {"type": "array", "items": {"type": "object"}},
                    "opted_out": {"type": "array", "items": {"type": "string"}},
                    "encoding": {"type": "string"}, "segments": {"type": "integer"}, "units": {"type": "integer"},
                    "ucs2_characters": {"type": "array", "items": {"type": "string"}},
                    "total_segments": {"type": "integer"},
                    "problems": {"type": "array", "items": {"type": "object"}},
                },
            },
            "CreateBatch": {
                "type": "object", "required": ["body"], "additionalProperties": False,
                "properties": {
                    "body": {"type": "string", "description": "1–1600 characters"},
                    "recipients": {"type": "array", "items": {"type": "string"}, "maxItems": 5000},
                    "numbers": {"type": "string", "maxLength": 200000,
                                "description": "numbers separated by commas, spaces or lines"},
                    "sender": {"type": "string", "description": "+E.164 number, MG… service SID or alphanumeric"},
                    "dry_run": {"type": "boolean", "description": "validate only; nothing is stored or sent"},
                    "scheduled_at": schedule_openapi.SCHEDULED_AT,
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/health": {"get": {
            "summary": "Database, Redis and worker checks", "security": [],
            "responses": {"200": _json({"type": "object"}, "All checks pass"),
                          "503": _json({"type": "object"}, "A named check failed")},
        }},
        "/api/multi-sms/batches": {
            "post": {
                "summary": "Validate and queue a batch (or only validate with dry_run)",
                "requestBody": {"required": True,
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/CreateBatch"}}}},
                "responses": {
                    "201": _json({"type": "object", "required": ["batch", "validation"], "properties": {
                        "batch": {"$ref": "#/components/schemas/Batch"},
                        "validation": {"$ref": "#/components/schemas/Validation"},
                        "quiet_hours": schedule_openapi.QUIET_HOURS}},
                        "Created and queued (or `scheduled` until `scheduled_at`)"),
                    "200": _json({"type": "object", "properties": {
                        "validation": {"$ref": "#/components/schemas/Validation"},
                        "quiet_hours": schedule_openapi.QUIET_HOURS}}, "dry_run result"),
                    **_errors(400, 401, 422, 503),
                },
            },
            "get": {
                "summary": "Batches, newest first",
                "parameters": [*_PAGING, {"name": "include_recipients", "in": "query",
                                          "schema": {"type": "string", "enum": ["0", "1"]}}],
                "responses": {
                    "200": _json({"type": "object", "required": ["items", "count"], "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Batch"}},
                        "count": {"type": "integer"}, "total": {"type": "integer"},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"}}}, "A page of batches"),
                    **_errors(400, 401, 503),
                },
            },
        },
        "/api/multi-sms/batches/{batch_id}": {"get": {
            "summary": "One batch", "parameters": [_BATCH_ID],
            "responses": {"200": _json({"type": "object", "required": ["batch"], "properties": {
                "batch": {"$ref": "#/components/schemas/Batch"}}}, "The batch"), **_errors(401, 404, 503)},
        }},
        "/api/multi-sms/batches/{batch_id}/recipients": {"get": {
            "summary": "A batch's recipients",
            "parameters": [_BATCH_ID, *_PAGING, {"name": "status", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object", "required": ["items", "count"], "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Recipient"}},
                "count": {"type": "integer"}, "total": {"type": "integer"}}}, "Recipients"),
                **_errors(400, 401, 404, 503)},
        }},
        "/api/opt-outs": {"get": {
            "summary": "Numbers that opted out (STOP, Slack, API, Twilio 21610)",
            "parameters": [*_PAGING, {"name": "format", "in": "query",
                                      "schema": {"type": "string", "enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "A page of opt-outs, or all of them as CSV", "content": {
                "application/json": {"schema": {"type": "object", "required": ["items", "count"], "properties": {
                    "items": {"type": "array", "items": {"type": "object", "properties": {
                        "number": {"type": "string"}, "since": {"type": "string", "format": "date-time"},
                        "source": {"type": "string"}}}},
                    "count": {"type": "integer"}, "total": {"type": "integer"}}}},
                "text/csv": {"schema": {"type": "string"}}}},
                **_errors(400, 401, 503)},
        }},
        "/api/multi-sms/batches/{batch_id}/cancel": _control("Stop sending; sent messages stay sent"),
        "/api/multi-sms/batches/{batch_id}/resume": _control("Continue a paused batch"),
        "/api/multi-sms/batches/{batch_id}/retry": _control(
            "Send again to recipients that failed (never to delivered ones)"),
    },
}
SPEC["components"]["schemas"].update(schedule_openapi.SCHEMAS)
SPEC["paths"].update(schedule_openapi.PATHS)
