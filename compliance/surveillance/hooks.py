"""Surveillance on fills: every committed fill schedules a scan of its tenant.

The scan runs on the ``surveillance`` queue a little after the commit (the settle delay of
the runner, plus a second), so it sees the fill. Fills in quick succession share a scan: a
tenant's scan is published at most once per ``THROTTLE_SECONDS`` by this process; anything a
throttled fill's scan would have covered is covered by the next scan (on a later fill, or
the periodic beat scan), since scans resume from their cursors.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import transaction

from trading.fill_listeners import fill_listener_register

THROTTLE_SECONDS = 1.0
_last_published: dict[int, float] = {}
_lock = threading.Lock()


def _publish(tenant_id: int) -> None:
    from compliance.surveillance.runner import settle_default
    from compliance.tasks import surveillance_scan
    from oms_site.celery import publish

    now = time.monotonic()
    with _lock:
        if now - _last_published.get(tenant_id, -THROTTLE_SECONDS) < THROTTLE_SECONDS:
            return
        _last_published[tenant_id] = now
    # A broker that is down loses only this nudge: the periodic beat scan covers the fill.
    publish(
        surveillance_scan,
        {"tenant_id": tenant_id},
        countdown=settle_default() + THROTTLE_SECONDS,
    )


def on_fill(execution: Any) -> None:
    tenant_id = int(execution.tenant_id)
    transaction.on_commit(lambda: _publish(tenant_id))


def register() -> None:
    fill_listener_register(on_fill)
