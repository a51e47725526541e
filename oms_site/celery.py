"""The Celery application.

Conventions every task follows (see DESIGN.md): tasks take ids, not objects; they are idempotent;
services enqueue them with ``delay_on_commit`` so a rolled-back transaction never leaves a task
behind; late acks with reject-on-worker-lost mean a worker killed mid-task leaves the message to
be redelivered. Each domain sends its tasks to its own queue so workers scale per queue.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_site.settings")

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
    "compliance.tasks.*": {"queue": "surveillance"},
}

# The beat schedule lives in code, not in a database table: it is reviewed like code.
app.conf.beat_schedule = {
    "orders-expire-due": {
        "task": "orders.tasks.orders_expire_due",
        "schedule": 30.0,
    },
    "trading-venue-sessions": {
        "task": "trading.tasks.venue_sessions_tick",
        "schedule": 30.0,
    },
}


def enqueue_after_commit(task: Any, **kwargs: Any) -> None:
    """``task.delay_on_commit(**kwargs)``: published only once the transaction commits (the
    type stubs do not know Celery 5.4's ``delay_on_commit`` yet; this is its one typed door)."""
    task.delay_on_commit(**kwargs)
