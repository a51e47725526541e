"""Reading an admin changelist as its user sees it: the text of each result row's cells."""

from __future__ import annotations

from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any


class _ResultRows(HTMLParser):
    """The text of the changelist's cells, per body row, keyed by column (``field-<name>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._in_table = self._in_body = False
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == "result_list":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({})
        elif self._in_body and tag in ("td", "th") and self.rows:
            classes = (attributes.get("class") or "").split()
            fields = [c.removeprefix("field-") for c in classes if c.startswith("field-")]
            self._field = fields[0] if fields else None
            if self._field is not None:
                self.rows[-1][self._field] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = self._in_body = False
        elif tag in ("td", "th"):
            self._field = None

    def handle_data(self, data: str) -> None:
        if self._field is not None:
            self.rows[-1][self._field] += data.strip()


def changelist_rows(response: Any, columns: Sequence[str]) -> list[tuple[str, ...]]:
    """Per result row of the rendered changelist, the text of ``columns`` (list_display names)."""
    parser = _ResultRows()
    parser.feed(response.content.decode())
    return [tuple(row.get(column, "") for column in columns) for row in parser.rows]
