"""OpenAPI post-processing: document the error answers every operation can give.

drf-spectacular documents only the success response of each operation, yet every endpoint
answers errors through the one exception handler (``oms_site.api.errors``) with one body
shape. This hook adds that body (``Error``) under each error status a client can meet, so a
client, and the schema-driven fuzzing of tests/hostile/, can rely on the document for every
answer, not only the happy one.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer: a code, a message and, for bad input, field errors.",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["code", "detail"],
}
ERROR_STATUSES = {
    "400": "Invalid input (field errors under `errors`).",
    "401": "Not authenticated.",
    "403": "Not permitted (role, or not a member of the tenant named by X-Tenant).",
    "404": "Not found: missing, or another tenant's.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Illegal transition, stale state or conflict with existing data.",
    "415": "Unsupported media type.",
    "429": "Throttled.",
    "503": "A backing service is briefly unavailable; retry.",
}
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: the ``Error`` body on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"schema": {"$ref": "#/components/schemas/Error"}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            # DRF renders an error with the renderer the request negotiated (e.g. the audit
            # export's CSV), so errors come in every media type the success answer has.
            media_types = {"application/json"}
            for status, response in responses.items():
                if status.startswith("2"):
                    media_types.update((response or {}).get("content") or {})
            content = dict.fromkeys(sorted(media_types), error)
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": description, "content": content})
    return result
