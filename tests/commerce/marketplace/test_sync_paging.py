"""Offset paging (eBay) and page-number paging (AliExpress) while orders leave the window: the
page after a drop of the window's total is read again from before the current offset."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from commerce.marketplaces.base import shifted_back
from commerce.models import SyncStatus
from commerce.services.sync import sync_run_execute
from tests.commerce.marketplace.conftest import fill
from tests.commerce.marketplace.test_sync import (
    WorkerKilled,
    change_first_read_order_now,
    start_with_window_ended,
    stored,
)

SHIFTING = pytest.mark.parametrize("market", ["ebay", "aliexpress"], indirect=True)


def page_asked(market: Any, request: Any) -> str:
    """The offset (eBay) or page number (AliExpress) a list request asked for."""
    if market.kind == "ebay":
        return str(request.query["offset"])
    return str(json.loads(request.query["param0"])["current_page"])


# what each marketplace is asked for five orders in pages of two when the
# first order read leaves the window while the second page is read
ASKED = {"ebay": ["0", "2", "1", "3"], "aliexpress": ["1", "2", "1", "2"]}


@SHIFTING
def test_a_drop_of_the_total_reads_again_from_before_the_current_offset(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given five orders in pages of two; the first order read changes (stamped now) while the
    # second page is read, so the orders behind it move one place forward
    ids = fill(market, 5)
    changed: list[str] = []
    market.before_list(2, lambda: change_first_read_order_now(market, changed))
    run = start_with_window_ended(tenant, channel, seconds_ago=30)
    # when the run pages through
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    # then after the drop (5 -> 4) it read again from one place back, and missed nothing
    assert done is not None
    assert [page_asked(market, r) for r in market.list_requests()] == ASKED[market.kind]
    read_twice = {"ebay": 2, "aliexpress": 3}[market.kind]  # skipped: stored and unchanged
    assert (done.status, done.pages, done.created, done.skipped) == (
        SyncStatus.DONE,
        4,
        5,
        read_twice,
    )
    assert sorted(stored(tenant, channel)) == ids
    served = [order_id for page in market.served for order_id in page]
    assert sorted(set(served)) == ids


@SHIFTING
def test_a_resumed_run_still_compares_with_the_total_saved_in_its_page_token(
    tenant: Any, products: Any, market: Any, channel: Any
) -> None:
    # given a run whose worker died after storing the first page (while waiting out a 429)
    ids = fill(market, 5)
    market.fail("__armed_later__", 429, headers={"Retry-After": "1"})
    market.before_list(2, lambda: setattr(market.faults[0], "path_part", market.list_path))

    def die(seconds: float) -> None:
        raise WorkerKilled

    run = start_with_window_ended(tenant, channel, seconds_ago=30)
    with pytest.raises(WorkerKilled):
        sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=die)
    run.refresh_from_db()
    assert (run.status, run.pages, run.created) == ("running", 1, 2)
    assert run.page_token == {"ebay": "2:5", "aliexpress": "0:2:5"}[market.kind]
    # and meanwhile the first order read changes (stamped now: it leaves the window)
    first_read = market.served[0][0]
    market.change(first_read, state="canceled", updated=timezone.now())
    # when the task is delivered again
    done = sync_run_execute(tenant_id=tenant.pk, run_id=run.pk, sleep=lambda s: None)
    # then the resumed run saw the drop against the saved total and missed nothing
    assert done is not None
    assert (done.status, done.created) == (SyncStatus.DONE, 5)
    assert sorted(stored(tenant, channel)) == ids


@pytest.mark.parametrize(
    ("offset", "previous", "total", "expected"),
    [
        (4, 10, 10, None),  # nothing left the window
        (4, None, 9, None),  # first page: nothing to compare with
        (4, 10, None, None),  # the marketplace gave no total
        (4, 10, 11, None),  # more (cannot happen with an end in the past): no step back
        (4, 10, 9, 3),
        (4, 10, 7, 1),
        (4, 10, 2, 0),  # never before the first order
    ],
)
def test_shifted_back(offset: int, previous: int | None, total: int | None, expected: Any) -> None:
    assert shifted_back(offset, previous, total) == expected
