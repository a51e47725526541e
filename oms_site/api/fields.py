"""Strict JSON field types: a number where a string belongs is a client error (400), not
something to coerce silently."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """DRF's CharField turns ``123`` into ``"123"`` and ``1e400`` into ``"inf"``; here a
    non-string value is a 400."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(StrictCharField, serializers.RegexField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        "example": "09:30:00",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time (``HH:MM[:SS[.ffffff]]``) in a zone named elsewhere, e.g. a venue's.

    OpenAPI's ``format: time`` is RFC 3339's, which requires a UTC offset; a local session
    time has none, so the schema states the shape it really has.
    """
