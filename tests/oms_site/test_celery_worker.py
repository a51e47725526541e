"""A real Celery worker (embedded, solo pool) consuming the Redis broker, against PostgreSQL.

start_worker() consumes the queues named by ``queues=`` (here ``default``: the app routes
``orders.tasks.*`` there); without it a worker would consume every configured queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections, transaction

from oms_site.celery import app as celery_app
from orders.models import Order, OrderEvent
from orders.tasks import orders_expire_due
from tests.factories import TenantFactory, order_in_status

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

QUEUE = "default"


def _queued() -> int:
    with celery_app.connection_for_read() as conn:
        # (A passive declare fails on Redis for an empty queue: an empty list does not exist.)
        channel: Any = conn.default_channel
        declared = channel.queue_declare(queue=QUEUE, durable=True, auto_delete=False)
        return int(declared.message_count)


def _close_worker_thread_connections(**kwargs: object) -> None:
    connections.close_all()  # runs in the worker thread: its own DB connection


@pytest.fixture
def real_broker() -> Iterator[None]:
    """Eager mode off for this test; an empty default queue before and after."""
    eager = celery_app.conf.task_always_eager
    consumed_before = list(celery_app.amqp.queues.consume_from)  # start_worker narrows it
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        channel: Any = conn.default_channel
        channel.queue_declare(queue=QUEUE, durable=True, auto_delete=False)
        channel.queue_purge(QUEUE)
    task_postrun.connect(_close_worker_thread_connections)
    try:
        yield
    finally:
        task_postrun.disconnect(_close_worker_thread_connections)
        celery_app.conf.task_always_eager = eager
        celery_app.amqp.queues.select(consumed_before)
        with celery_app.connection_for_write() as conn:
            conn_channel: Any = conn.default_channel
            conn_channel.queue_purge(QUEUE)


def _status(order: Order) -> str:
    return (
        Order.objects.for_tenant(order.tenant_id).values_list("status", flat=True).get(pk=order.pk)
    )


def test_worker_runs_orders_expire_due_enqueued_after_commit(real_broker):
    # given a due open order, committed
    tenant: Any = TenantFactory(slug="alpha")
    with transaction.atomic():
        order = order_in_status(
            tenant=tenant, status="open", expires_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
    # when the task is enqueued in a transaction that rolls back, nothing is sent
    with transaction.atomic():
        orders_expire_due.delay_on_commit()  # type: ignore[attr-defined]
        assert _queued() == 0
        transaction.set_rollback(True)
    assert _queued() == 0
    # and when it is enqueued in a transaction that commits, one message waits on 'default'
    with transaction.atomic():
        orders_expire_due.delay_on_commit()  # type: ignore[attr-defined]
        assert _queued() == 0
    assert _queued() == 1
    # then a real worker consuming 'default' runs it and the order expires (bounded wait)
    with start_worker(
        celery_app, perform_ping_check=False, queues=[QUEUE], shutdown_timeout=30
    ) as worker:
        deadline = time.monotonic() + 20
        while _status(order) != "expired" and time.monotonic() < deadline:
            time.sleep(0.1)
        consumed = sorted(q.name for q in worker.app.amqp.queues.consume_from.values())
    assert _status(order) == "expired"
    assert consumed == [QUEUE]
    assert _queued() == 0
    assert list(
        OrderEvent.objects.for_tenant(tenant)
        .filter(order=order, kind="expired")
        .values_list("from_status", "to_status", "actor_name", "reason")
    ) == [("open", "expired", "system", "Expiry time reached.")]
