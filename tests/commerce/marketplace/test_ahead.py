"""The sync run's read-ahead (``commerce.marketplaces.ahead``): the next page is fetched in a
background thread, its outcome (page or error) is handed over once, only for the token it was
read for, and the connector is never used by two threads at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from commerce.marketplaces.ahead import ReadAhead
from commerce.marketplaces.base import Page, Window
from commerce.marketplaces.http import Throttled

WINDOW = Window(start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2026, 12, 2, tzinfo=UTC))


class _Connector:
    """Records each read; fails the test's assertion if two reads ever overlap."""

    def __init__(self, *, seconds: float = 0.05, fail: BaseException | None = None) -> None:
        self.seconds = seconds
        self.fail = fail
        self.reads: list[str | None] = []
        self.done: list[str | None] = []
        self.threads: set[str] = set()
        self.overlaps = 0
        self._busy = threading.Lock()

    def fetch_page(self, window: Window, token: str | None) -> Page:
        if not self._busy.acquire(blocking=False):
            self.overlaps += 1
            self._busy.acquire()
        try:
            assert window == WINDOW
            self.reads.append(token)
            self.threads.add(threading.current_thread().name)
            time.sleep(self.seconds)
            if self.fail is not None:
                raise self.fail
            return Page(orders=[], next_token=f"after-{token}")
        finally:
            self.done.append(token)
            self._busy.release()


def _ahead(connector: _Connector) -> ReadAhead:
    return ReadAhead(connector, WINDOW)  # type: ignore[arg-type]


def test_the_page_read_ahead_is_handed_over_for_its_token() -> None:
    connector = _Connector()
    ahead = _ahead(connector)
    try:
        ahead.start("p2")
        page = ahead.take("p2")
    finally:
        ahead.close()
    assert isinstance(page, Page)
    assert page.next_token == "after-p2"
    assert connector.reads == ["p2"]
    assert connector.threads == {"sync-read-ahead_0"}
    # handed over once: a second take finds nothing pending
    assert ahead.take("p2") is None


def test_an_error_of_the_read_is_its_outcome_not_raised() -> None:
    throttled = Throttled("HTTP 429", retry_after=3.0)
    connector = _Connector(fail=throttled)
    ahead = _ahead(connector)
    try:
        ahead.start("p2")
        outcome = ahead.take("p2")
    finally:
        ahead.close()
    assert outcome is throttled
    assert connector.reads == ["p2"]


def test_a_read_for_another_token_is_waited_for_and_dropped() -> None:
    connector = _Connector(seconds=0.2)
    ahead = _ahead(connector)
    try:
        ahead.start("p2")
        # the run stores a different next token (e.g. it stepped back a page)
        outcome = ahead.take("p1")
        # the read had finished before take returned: the connector is free for the run
        assert connector.done == ["p2"]
    finally:
        ahead.close()
    assert outcome is None


def test_nothing_pending_is_none() -> None:
    ahead = _ahead(_Connector())
    assert ahead.take("p1") is None
    ahead.close()


def test_reads_never_overlap_and_close_waits_for_the_last_one() -> None:
    connector = _Connector(seconds=0.05)
    ahead = _ahead(connector)
    # each start waits for the previous read before starting the next one
    for token in ("p2", "p3", "p4"):
        ahead.start(token)
    ahead.close()
    assert connector.reads == ["p2", "p3", "p4"]
    assert connector.done == ["p2", "p3", "p4"]
    assert connector.overlaps == 0


@pytest.mark.parametrize("seconds", [0.0, 0.05])
def test_the_run_and_the_read_ahead_never_use_the_connector_at_once(seconds: float) -> None:
    # as the sync run does: take the read-ahead (or fetch itself), start the next, store
    connector = _Connector(seconds=seconds)
    ahead = _ahead(connector)
    token: str | None = "p1"
    try:
        for _ in range(5):
            outcome: Any = ahead.take(token)
            page = outcome if isinstance(outcome, Page) else connector.fetch_page(WINDOW, token)
            ahead.start(page.next_token)
            time.sleep(seconds / 2)  # storing the page meanwhile
            token = page.next_token
    finally:
        ahead.close()
    assert connector.overlaps == 0
    assert connector.reads == [
        "p1",
        "after-p1",
        "after-after-p1",
        "after-after-after-p1",
        "after-after-after-after-p1",
        "after-after-after-after-after-p1",
    ]
