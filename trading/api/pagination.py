"""Cursor pagination of reference lists by their natural key (symbol, code) or by id."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from oms_site.api.pagination import CreatedCursorPagination


class KeyCursorPagination(CreatedCursorPagination):
    """Stable cursor pagination on one unique key; a bad cursor or page size is a 400.

    The key is unique per tenant, so a page boundary never splits equal keys.
    """

    ordering: Any = ("id",)
    numeric_key = False

    def decode_cursor(self, request: Any) -> Any:
        invalid = ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        try:
            cursor = CursorPagination.decode_cursor(self, request)
        except Exception as exc:  # DRF raises NotFound; a bad cursor is a bad parameter
            raise invalid from exc
        position = None if cursor is None else cursor.position
        if position is not None and not self._position_valid(str(position)):
            raise invalid
        return cursor

    def _position_valid(self, position: str) -> bool:
        if self.numeric_key:
            return position.isdigit() and len(position) <= 18
        return len(position) <= 64 and position.isprintable()


class SymbolPagination(KeyCursorPagination):
    ordering = ("symbol",)


class CodePagination(KeyCursorPagination):
    ordering = ("code",)


class IdPagination(KeyCursorPagination):
    ordering = ("id",)
    numeric_key = True
