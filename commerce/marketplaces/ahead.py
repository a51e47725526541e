"""Reading a sync run's next page while the current one is stored.

A page's fetch (HTTP, JSON parsing, building the orders) and its store (the upsert's statements,
mostly waiting on the database, which releases the GIL) use different resources, so a run
overlaps them: once page N is fetched, page N+1 is requested in a background thread while
page N is stored. The read ahead is a single attempt with no database work and no waiting of
its own (beyond the connector's own pacing): whatever it ends with, a page or an error, is
handed to the run as the outcome of its first attempt at that page, and the run's own retry
loop (``commerce.services.sync``) does the rest (the wait a 429 asks for, the backoff, the
bookkeeping), exactly as if it had made that attempt itself.

The connector is never used by two threads at once: the run uses it only after taking (and so
waiting for) the pending read, and closes it only after :meth:`ReadAhead.close`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connections

from commerce.marketplaces.base import Connector, Page, Window


class ReadAhead:
    def __init__(self, connector: Connector, window: Window) -> None:
        self.connector = connector
        self.window = window
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[str | None, Future[Page]] | None = None

    def start(self, token: str | None) -> None:
        """Start fetching the page of ``token`` (one read ahead at a time)."""
        self._settle()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead")
        self._pending = (token, self._pool.submit(self._read, token))

    def take(self, token: str | None) -> Page | BaseException | None:
        """The outcome of the read ahead of ``token`` (its page or its error), or None when that
        page was not read ahead."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        read_token, future = pending
        error = future.exception()  # waits for it: the connector is free again
        if read_token != token:
            return None
        return error if error is not None else future.result()

    def close(self) -> None:
        self._settle()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending[1].exception()  # wait; its outcome is not wanted any more

    def _read(self, token: str | None) -> Page:
        try:
            return self.connector.fetch_page(self.window, token)
        finally:
            # The thread does no database work of its own, but a connector may reach a
            # cache backed by one: release whatever this thread opened.
            connections.close_all()
