"""The single DRF exception handler: every error a client can cause becomes a 4xx body.

Body shape, always: ``{"code": str, "detail": str, "errors": {field: [messages]}}`` where
``errors`` is present for field-level problems.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core import exceptions as django_exceptions
from django.db import DataError, IntegrityError
from django.http import Http404
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from oms_site.errors import ApplicationError

logger = logging.getLogger(__name__)


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {str(key): value for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(
            {"code": "invalid", "detail": "Invalid input.", "errors": _field_errors(exc.detail)},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, django_exceptions.ValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            {"code": "invalid", "detail": "Invalid input.", "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, (Http404, django_exceptions.ObjectDoesNotExist)):
        return Response({"code": "not_found", "detail": "Not found."}, status=404)
    if isinstance(exc, django_exceptions.PermissionDenied):
        return Response(
            {"code": "permission_denied", "detail": "You do not have permission."}, status=403
        )
    if isinstance(exc, DataError):
        # A value the database cannot hold (out of range) is the client's input, not our bug.
        logger.info("data error mapped to 400: %s", exc)
        return Response(
            {"code": "invalid", "detail": "A value is out of the range the system accepts."},
            status=400,
        )
    if isinstance(exc, IntegrityError):
        logger.warning("integrity error mapped to 409: %s", exc)
        return Response(
            {"code": "conflict", "detail": "The request conflicts with existing data."},
            status=409,
        )
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, BrokerUnavailable)):
        # The cache or broker is briefly unreachable (restarting): nothing was committed for
        # this request (work committed before a failed publish answers normally, see
        # oms_site.celery.enqueue_after_commit); the client may retry the same request.
        logger.warning("service unavailable: %s", exc)
        return Response(
            {"code": "unavailable", "detail": "A backing service is unavailable; retry shortly."},
            status=503,
            headers={"Retry-After": "1"},
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, drf_exceptions.APIException):
        detail = exc.detail
        body: dict[str, Any] = {"code": getattr(exc, "default_code", "error")}
        if isinstance(detail, (dict, list)):
            body["detail"] = str(exc.default_detail)
            body["errors"] = _field_errors(detail)
        else:
            body["code"] = getattr(detail, "code", body["code"])
            body["detail"] = str(detail)
        response.data = body
    return response
