"""Strict JSON field types: a number where a string belongs is a client error (400), not
something to coerce silently."""

from __future__ import annotations

from typing import Any

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
