"""Every commerce task goes to the queue of its domain, as Celery's own router resolves it:
routing tasks on ``routing``, marketplace tasks (channels, syncs, confirmations, the sync beat)
on ``marketplace``, any other on ``default``."""

from __future__ import annotations

import pytest

from oms_site.celery import app


def queue_of(name: str) -> str:
    return str(app.amqp.router.route({}, name)["queue"].name)


def expected_queue(name: str) -> str:
    short = name.removeprefix("commerce.tasks.")
    if short.startswith("route_"):
        return "routing"
    if short.startswith(("channel_", "channels_")):
        return "marketplace"
    return "default"


def commerce_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith("commerce.tasks."))


def test_the_marketplace_tasks_including_the_sync_beat_go_to_the_marketplace_queue() -> None:
    assert {name: queue_of(name) for name in commerce_tasks() if "channel" in name} == {
        "commerce.tasks.channel_confirm_shipment": "marketplace",
        "commerce.tasks.channel_sync": "marketplace",
        "commerce.tasks.channels_sync_due": "marketplace",
    }


@pytest.mark.parametrize("name", commerce_tasks())
def test_every_commerce_task_routes_to_the_queue_of_its_domain(name: str) -> None:
    assert queue_of(name) == expected_queue(name)


def test_the_beat_sends_the_commerce_tasks_to_their_domain_queues() -> None:
    scheduled = sorted(
        entry["task"]
        for entry in app.conf.beat_schedule.values()
        if entry["task"].startswith("commerce.tasks.")
    )
    assert {name: queue_of(name) for name in scheduled} == {
        "commerce.tasks.channels_sync_due": "marketplace",
        "commerce.tasks.route_reservations_expire": "routing",
    }
