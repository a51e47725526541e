"""The Celery application.

Conventions every task follows (see DESIGN.md): tasks take ids, not objects; they are idempotent;
services enqueue them with ``delay_on_commit`` so a rolled-back transaction never leaves a task
behind; late acks with reject-on-worker-lost mean a worker killed mid-task leaves the message to
be redelivered. Each domain sends its tasks to its own queue so workers scale per queue.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_site.settings")

logger = logging.getLogger("oms.celery")
# A publish after commit waits at most ~0.6 s for a broker that is down before giving up.
PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Queue per domain; a task names its queue by module, so routing stays declarative.
app.conf.task_routes = {
    "orders.tasks.*": {"queue": "default"},
    "trading.tasks.route_*": {"queue": "routing"},
    "trading.tasks.venue_*": {"queue": "venues"},
    "commerce.tasks.route_*": {"queue": "routing"},
    "commerce.tasks.channel_*": {"queue": "marketplace"},
    "commerce.tasks.channels_*": {"queue": "marketplace"},
    "compliance.tasks.*": {"queue": "surveillance"},
}

# The beat schedule lives in code, not in a database table: it is reviewed like code.
app.conf.beat_schedule = {
    "orders-expire-due": {
        "task": "orders.tasks.orders_expire_due",
        "schedule": 30.0,
    },
    "trading-route-stale": {
        "task": "trading.tasks.route_stale",
        "schedule": 30.0,
    },
    "trading-venue-sessions": {
        "task": "trading.tasks.venue_sessions_tick",
        "schedule": 30.0,
    },
    "commerce-channels-sync-due": {
        "task": "commerce.tasks.channels_sync_due",
        "schedule": 60.0,
    },
    "commerce-reservations-expire": {
        "task": "commerce.tasks.route_reservations_expire",
        "schedule": 60.0,
    },
    "compliance-surveillance-scan": {
        "task": "compliance.tasks.surveillance_scan_all",
        "schedule": 60.0,
    },
}


def enqueue_after_commit(task: Any, **kwargs: Any) -> None:
    """Publish ``task`` with ``kwargs`` once the transaction commits (never for a rollback).

    The committed work never depends on the broker: if it is unreachable at that moment (Redis
    restarting, say), the publish is retried briefly, then given up and logged, and the
    request still answers with what it committed. Work whose task was lost is found again by
    the periodic sweepers (e.g. ``trading.tasks.route_stale`` routes trade orders left
    pending with no child), because every task is idempotent and derivable from the data.
    """
    transaction.on_commit(functools.partial(publish, task, kwargs))


def publish(task: Any, kwargs: dict[str, Any], **options: Any) -> None:
    """Publish now (``options``: ``countdown`` and the like), never failing the caller for a
    broker that is down: retried briefly, then logged (see :func:`enqueue_after_commit`)."""
    try:
        task.apply_async(kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY, **options)
    except OperationalError:
        logger.warning(
            "broker unreachable: %s not published (a sweeper will redo it)", task.name,
            extra={"task": task.name, "task_kwargs": kwargs},
        )  # fmt: skip
