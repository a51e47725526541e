"""Write-behind for the rows a report-applying block holds in hand.

Applying a venue's reports one after another (an acknowledgement, then a fill) would write the
same child, the same trade order and one execution report per step. Inside
:func:`writes_deferred` (opened by ``venue_reports.children_in_hand``, whose caller holds those
rows locked) the updates of a row are merged and written once, and the execution reports are
inserted together, when the block ends (still inside the transaction) or earlier whenever
:func:`writes_flush` is called: before any query that reads those rows back
(``lifecycle.live_children``, a report applied the normal way).

Outside such a block every write happens at once, as before. On an exception nothing pending
is written (the transaction that holds the locks rolls back).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db.models import Model

from trading.models import ExecutionReport

_local = threading.local()


class _Pending:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[Model, set[str]]] = {}
        self.reports: list[ExecutionReport] = []


def _pending() -> _Pending | None:
    pending: _Pending | None = getattr(_local, "pending", None)
    return pending


@contextmanager
def writes_deferred() -> Iterator[None]:
    """Defer row updates and report inserts to the end of the block (the outermost block
    writes them; a nested one just joins it)."""
    if _pending() is not None:
        yield
        return
    _local.pending = _Pending()
    try:
        yield
        writes_flush()
    finally:
        _local.pending = None


def row_save(row: Model, fields: Iterable[str]) -> None:
    """``row.save(update_fields=fields)``, merged with the row's other pending updates."""
    pending = _pending()
    if pending is None:
        row.save(update_fields=list(fields))
        return
    entry = pending.rows.setdefault(id(row), (row, set()))
    entry[1].update(fields)


def report_add(report: ExecutionReport) -> None:
    """Insert an execution report (with the others pending, in their order; built from the
    locked order, the row is in its tenant by construction)."""
    pending = _pending()
    if pending is None:
        report.save(force_insert=True)
        return
    pending.reports.append(report)


def writes_flush() -> None:
    """Write what is pending now (nothing outside a deferring block)."""
    pending = _pending()
    if pending is None:
        return
    if pending.reports:
        reports, pending.reports = pending.reports, []
        ExecutionReport.objects.bulk_create(reports)
    if pending.rows:
        rows, pending.rows = pending.rows, {}
        for row, fields in rows.values():
            row.save(update_fields=sorted(fields))
