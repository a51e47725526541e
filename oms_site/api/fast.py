"""A fast path for validating the plain, well-formed items of high-volume input (order entry,
batches), with DRF's full validation as the fallback for everything else.

DRF validates an item field by field through generic machinery (``get_value``,
``validate_empty_values``, ``run_validation``, ``set_value``...): some tens of microseconds per
item, most of a thousand-order batch's validation time. :meth:`FastValidationMixin.validated_fast`
handles the common case directly: a JSON object whose keys are all writable fields, whose
values are of the plain shape each field type accepts unchanged (a choice, a decimal written as
digits or a JSON integer, a code, a string with no surrounding whitespace) or absent/null where
the field allows it. It reuses each field's own checks (validators, precision, quantization, the
related-code look-up) and the serializer's ``validate_<field>`` methods and ``validate``.

Anything else (an unknown key, a number where a string is expected, a date, whitespace, any
error at all) returns ``None``: the caller then runs DRF's ``run_validation``, which gives the
same values for a valid item and the exact errors for an invalid one. So the fast path can only
accept what DRF accepts, with the same result (``tests/oms_site/test_fast_validation.py``
checks both paths against each other over valid and invalid items).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty

from oms_site.api.fields import StrictCharField

_DIGITS = re.compile(r"[0-9]{1,40}(\.[0-9]{1,40})?")
_MISSING = object()


def _plain_decimal(field: serializers.DecimalField, value: Any) -> Decimal:
    """Digits as a string or a JSON integer, read as DRF reads them (``Decimal(str(value))``)."""
    if type(value) is int:
        value = str(value)
    if type(value) is not str or not _DIGITS.fullmatch(value):
        raise _Fallback
    return field.quantize(field.validate_precision(Decimal(value)))


class _Fallback(Exception):
    """The item is not of the plain shape: DRF's full validation decides."""


def _field_value(field: serializers.Field[Any, Any, Any, Any], value: Any) -> Any:
    """The validated value of a present, non-null ``value`` (or :class:`_Fallback`)."""
    if isinstance(field, serializers.ChoiceField):
        if type(value) is not str or value not in field.choice_strings_to_values:
            raise _Fallback
        result = field.choice_strings_to_values[value]
    elif isinstance(field, serializers.DecimalField):
        result = _plain_decimal(field, value)
    elif isinstance(field, serializers.RelatedField):
        if type(value) is not str or not value:
            raise _Fallback
        result = field.to_internal_value(value)
    elif isinstance(field, StrictCharField):
        if type(value) is not str or not value or value != value.strip():
            raise _Fallback
        result = value
    else:
        raise _Fallback
    if field.validators:
        field.run_validators(result)
    return result


class FastValidationMixin:
    """For a plain ``serializers.Serializer`` (no nested or many fields, no source paths)."""

    fields: Any
    validators: Any
    validate: Any

    def validated_fast(self, data: Any) -> dict[str, Any] | None:
        """What ``run_validation(data)`` returns, for an item of the plain shape; else None."""
        if type(data) is not dict or getattr(self, "partial", False) or self.validators:
            return None
        fields = self.fields
        for key in data:
            field = fields.get(key)
            if field is None or field.read_only:
                return None
        result: dict[str, Any] = {}
        try:
            for name, field in fields.items():
                if field.read_only:
                    continue
                if field.source_attrs != [name]:
                    return None
                value = data.get(name, _MISSING)
                if value is _MISSING or value is None:
                    if value is None and field.allow_null:
                        result[name] = None
                    elif value is _MISSING and not field.required:
                        if field.default is empty:
                            continue  # DRF skips the field
                        result[name] = field.get_default()
                    else:
                        return None
                else:
                    result[name] = _field_value(field, value)
                check = getattr(self, f"validate_{name}", None)
                if check is not None:
                    result[name] = check(result[name])
            validated: dict[str, Any] = self.validate(result)
        except (_Fallback, serializers.ValidationError, DjangoValidationError):
            return None
        return validated
