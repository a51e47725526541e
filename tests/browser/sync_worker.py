"""A marketplace sync run outside the request that starts it, paced so a person can watch it.

- :func:`sync_worker_started`: a real Celery worker process on the ``marketplace`` queue, on the
  test database and the test broker (PostgreSQL + Redis: a separate process cannot see an
  in-memory SQLite test database), with eager mode off in the test process, so the admin's
  "Sync now" only queues the run and the worker executes it.
- :class:`PageGate`: stands in for the sandbox's :func:`~commerce.marketplaces.sandbox.page_pause`
  in the live server (same process as the test), holding each order-list page until the test
  lets it through, so every intermediate state of the run stays on screen until it was seen.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.reliability.workers import ROOT, real_broker, worker_env, worker_stop

# Queues the run's tasks reach: the sync itself, and what the imported orders enqueue (routing),
# emptied before and after so no other suite's message runs here and none is left behind.
QUEUES = ("marketplace", "routing", "default", "surveillance")
# The longest one page is held: a test that stops watching never leaves a server thread waiting.
HOLD_LIMIT = 120.0


@contextmanager
def sync_worker_started(log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One worker process consuming the ``marketplace`` queue; its output goes to ``log``."""
    with real_broker(*QUEUES), log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "oms_site", "worker",
                "-Q", "marketplace", "-P", "threads", "-c", "1", "-n", "browser-sync@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT, env=worker_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield proc
        finally:
            worker_stop(proc)


class PageGate:
    """Each call (one order-list page about to be answered) waits for a permit; the test hands
    them out one at a time (:meth:`let_one_through`) or opens the gate for good (:meth:`open`).
    The thread that made the gate (the test's own, reading the sandbox directly) passes."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._permits = 0
        self._opened = False
        self._owner = threading.get_ident()
        self.served = 0  # pages let through to the server's requests

    def __call__(self) -> None:
        if threading.get_ident() == self._owner:
            return
        with self._changed:
            self._changed.wait_for(lambda: self._opened or self._permits > 0, timeout=HOLD_LIMIT)
            if self._permits > 0 and not self._opened:
                self._permits -= 1
            self.served += 1

    def let_one_through(self) -> None:
        with self._changed:
            self._permits += 1
            self._changed.notify_all()

    def open(self) -> None:
        with self._changed:
            self._opened = True
            self._changed.notify_all()
