"""The API's own OpenAPI document (drf-spectacular, as served at /api/schema/), loaded once.

``SCHEMA`` is the schemathesis view of it, bound to the site's WSGI application: a generated
case is sent through the whole Django stack (middleware, token authentication, the exception
handler), in process, so it shares the test's database transaction.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from rest_framework.utils.encoders import JSONEncoder

APPLICATION = get_wsgi_application()


def _openapi() -> dict[str, Any]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded: dict[str, Any] = json.loads(json.dumps(document, cls=JSONEncoder))
    return loaded


OPENAPI = _openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
SCHEMA.app = APPLICATION
METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str]]:
    """Every (METHOD, path template) of the API, in document order."""
    return [
        (method.upper(), path)
        for path, item in OPENAPI["paths"].items()
        for method in item
        if method in METHODS
    ]
