"""The scheduling part of the OpenAPI document (merged into `webhooks.openapi.SPEC`)."""

from __future__ import annotations

_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_STR = {"type": ["string", "null"]}
_ERROR = {"$ref": "#/components/schemas/Error"}
_ERROR_TEXT = {400: "Malformed request (names the field)", 401: "Missing or wrong token", 404: "Not found",
               409: "Not possible in the current state (says why)", 422: "Rejected (names each problem)",
               503: "API disabled (API_TOKEN unset)"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(code): _json(_ERROR, _ERROR_TEXT[code]) for code in codes}


def _one(name: str, ref: str, description: str) -> dict:
    return _json({"type": "object", "required": [name], "properties": {name: {"$ref": ref}}}, description)


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}


_REMINDER = "#/components/schemas/Reminder"
_DRAFT = "#/components/schemas/DigestDraft"

SCHEDULED_AT = {"type": "string", "format": "date-time",
                "description": "send later: ISO 8601 with a UTC offset, in the future (within a year)"}
QUIET_HOURS = {"type": "object", "description": "recipients in quiet hours (QUIET_HOURS, their local time) "
                                                "when the batch goes; they get it when the window ends",
               "properties": {"deferred_count": {"type": "integer"}, "deferred_until": _NULLABLE_TIME}}

SCHEMAS = {
    "Reminder": {
        "type": "object",
        "required": ["id", "kind", "schedule", "cron", "timezone", "body", "numbers", "paused", "next_run_at"],
        "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["reminder", "digest"]},
            "schedule": {"type": "string"}, "cron": {"type": "string"}, "timezone": {"type": "string"},
            "body": {"type": "string"}, "numbers": {"type": "string"}, "sender": _NULLABLE_STR,
            "paused": {"type": "boolean"}, "next_run_at": _TIME, "last_run_at": _NULLABLE_TIME,
            "created_by": {"type": "string"}, "created_at": _TIME,
        },
    },
    "CreateReminder": {
        "type": "object", "required": ["schedule", "body", "numbers"], "additionalProperties": False,
        "properties": {
            "schedule": {"type": "string", "minLength": 1, "maxLength": 200,
                         "description": "`every weekday at 9:00`, `every day at 18:30`, `every monday at 10:00`, "
                                        "or a cron expression (`0 9 * * 1-5`); may end with a time zone"},
            "timezone": {"type": "string", "maxLength": 64, "description": "IANA name; default DEFAULT_TIMEZONE"},
            "body": {"type": "string", "minLength": 1, "maxLength": 20000,
                     "description": "the message (reminder) or the source text the AI writes from (digest)"},
            "numbers": {"type": "string", "minLength": 1, "maxLength": 200000},
            "sender": {"type": "string"},
            "kind": {"type": "string", "enum": ["reminder", "digest"], "default": "reminder"},
        },
    },
    "DigestDraft": {
        "type": "object", "required": ["id", "reminder_id", "occurrence_at", "status"],
        "properties": {
            "id": {"type": "integer"}, "reminder_id": {"type": "integer"}, "occurrence_at": _TIME,
            "status": {"type": "string", "enum": ["drafting", "awaiting_approval", "approved", "dropped", "expired",
                                                  "failed"]},
            "body": _NULLABLE_STR, "batch_id": {"type": ["integer", "null"]}, "error": _NULLABLE_STR,
            "deadline_at": _NULLABLE_TIME, "decided_by": _NULLABLE_STR,
        },
    },
}

PATHS = {
    "/api/multi-sms/batches/{batch_id}/reschedule": {"post": {
        "summary": "Move a batch that has not started to another time",
        "parameters": [_id("batch_id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["scheduled_at"], "additionalProperties": False,
            "properties": {"scheduled_at": SCHEDULED_AT}}}}},
        "responses": {"200": _one("batch", "#/components/schemas/Batch", "The batch with its new time"),
                      **_errors(400, 401, 404, 409, 503)},
    }},
    "/api/reminders": {
        "get": {"summary": "Recurring reminders and digests",
                "responses": {"200": _json({"type": "object", "required": ["items", "count"], "properties": {
                    "items": {"type": "array", "items": {"$ref": _REMINDER}}, "count": {"type": "integer"}}},
                    "All reminders and digests"), **_errors(401, 503)}},
        "post": {"summary": "Add a recurring reminder (each run is a batch) or digest (each run waits for approval)",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/CreateReminder"}}}},
                 "responses": {"201": _one("reminder", _REMINDER, "Added"), **_errors(400, 401, 422, 503)},
                 "description": "422 also when a digest is asked for and OPENAI_API_KEY is not set."},
    },
    "/api/reminders/{reminder_id}": {
        "get": {"summary": "One reminder", "parameters": [_id("reminder_id")],
                "responses": {"200": _one("reminder", _REMINDER, "The reminder"), **_errors(401, 404, 503)}},
        "delete": {"summary": "Delete a reminder (batches it sent stay)", "parameters": [_id("reminder_id")],
                   "responses": {"200": _json({"type": "object", "required": ["deleted"], "properties": {
                       "deleted": {"type": "integer"}}}, "Deleted"), **_errors(401, 404, 503)}},
    },
    "/api/reminders/{reminder_id}/pause": {"post": {
        "summary": "Stop a reminder until it is resumed", "parameters": [_id("reminder_id")],
        "responses": {"200": _one("reminder", _REMINDER, "Paused"), **_errors(401, 404, 503)}}},
    "/api/reminders/{reminder_id}/resume": {"post": {
        "summary": "Run a paused reminder again, from its next time", "parameters": [_id("reminder_id")],
        "responses": {"200": _one("reminder", _REMINDER, "Running"), **_errors(401, 404, 503)}}},
    "/api/digest-drafts": {"get": {
        "summary": "Digests written by the AI that wait for approval",
        "responses": {"200": _json({"type": "object", "required": ["items", "count"], "properties": {
            "items": {"type": "array", "items": {"$ref": _DRAFT}}, "count": {"type": "integer"}}}, "Waiting drafts"),
            **_errors(401, 503)}}},
    "/api/digest-drafts/{run_id}/approve": {"post": {
        "summary": "Send the digest as a batch (once)", "parameters": [_id("run_id")],
        "responses": {"200": _json({"type": "object", "required": ["draft", "batch"], "properties": {
            "draft": {"$ref": _DRAFT}, "batch": {"$ref": "#/components/schemas/Batch"}}}, "Approved and queued"),
            **_errors(401, 404, 409, 422, 503)}}},
    "/api/digest-drafts/{run_id}/drop": {"post": {
        "summary": "Drop the digest: nothing is sent", "parameters": [_id("run_id")],
        "responses": {"200": _one("draft", _DRAFT, "Dropped"), **_errors(401, 404, 409, 503)}}},
}
