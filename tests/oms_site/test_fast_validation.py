"""oms_site.api.fast: the fast path accepts only what DRF's full validation accepts, with the
same values, and is taken for plain items (order entry's serializer, single and batch)."""

from __future__ import annotations

from decimal import Decimal
from itertools import product
from typing import Any

import pytest
from rest_framework import serializers

from tenancy.api import related_prefetch
from tests.trading.order_helpers import market
from trading.api.orders import BATCH_REFERENCES, TradeOrderCreateSerializer

pytestmark = pytest.mark.django_db

PLAIN = {
    "client_order_id": "c-1",
    "account": "ACC-1",
    "instrument": "ACME",
    "side": "buy",
    "quantity": "100",
    "order_type": "limit",
    "limit_price": "100.05",
    "time_in_force": "day",
}
# Values each key may take, valid or not: the fast path must agree with DRF on every one.
VARIANTS: dict[str, list[Any]] = {
    "client_order_id": ["c-2", "", " c-3", "c-4\n", 7, None, "x" * 64, "x" * 65, "a b", "é"],
    "account": ["ACC-2", "NOPE", "", 1, None, "ACC-1 ", "A\x00"],
    "instrument": ["BOND", "acme", None, ["ACME"]],
    "side": ["sell", "sell_short", "BUY", "", 1, None, True],
    "quantity": [
        "0.5",
        "10.00000000",
        "1e3",
        " 5",
        "-5",
        "0",
        5,
        5.5,
        "1.123456789",
        "9" * 30,
        None,
        "",
        "NaN",
    ],
    "order_type": ["market", "stop_limit", "limitx", None],
    "limit_price": ["0.01", "100", "100.123456789", "abc", None, "", 100, "-1"],
    "time_in_force": ["gtc", "ioc", "gtd", "", None],
    "venue": ["smart", "XA", "XB", "NOPE", "", " XA", None, 3, "X" * 17],
    "handling": ["care", "auto", "other", None],
    "note": ["hello", "", "  padded ", "a\x00b", "x" * 500, "x" * 501, None, 5],
    "expire_at": [None, "2030-01-01T00:00:00Z", "soon"],
    "trail_percent": ["1.5", "12.12345", None],
    "unknown": ["x"],
}


def _slow(serializer: TradeOrderCreateSerializer, item: Any) -> Any:
    try:
        return serializer.run_validation(item)
    except serializers.ValidationError:
        return "refused"


def _items() -> list[Any]:
    items: list[Any] = [dict(PLAIN), [], "text", None, {}]
    for key, values in VARIANTS.items():
        for value in values:
            items.append({**PLAIN, key: value})
    for side, qty in product(["buy", 1], ["3", "3.0", 3]):  # pairs of odd values
        items.append({**PLAIN, "side": side, "quantity": qty})
    missing = {k: v for k, v in PLAIN.items() if k != "quantity"}
    items.append(missing)
    return items


@pytest.mark.parametrize("prefetched", [False, True], ids=["single", "batch"])
def test_the_fast_path_agrees_with_drf_on_every_item(tenant: Any, prefetched: bool) -> None:
    # given order entry's serializer in a tenant with accounts, instruments and venues
    market(tenant)
    context: dict[str, Any] = {"tenant": tenant}
    items = _items()
    if prefetched:  # as the batch endpoint does
        for model, field, key in BATCH_REFERENCES:
            related_prefetch(
                context,
                model=model,
                slug_field=field,
                values=(i.get(key) for i in items if isinstance(i, dict)),
            )
    serializer = TradeOrderCreateSerializer(context=context)
    taken = 0
    for item in items:
        # when an item goes through the fast path and through DRF
        fast = serializer.validated_fast(item)
        slow = _slow(serializer, item)
        # then the fast path either declines it or gives exactly DRF's values
        assert fast is None or fast == slow, item
        taken += fast is not None
    # and it was taken for the plain items (valid codes, digits, JSON integers, choices,
    # defaults)
    assert taken == 32


def test_a_plain_item_gives_the_service_its_values(tenant: Any) -> None:
    # given a tenant's market
    world = market(tenant)
    serializer = TradeOrderCreateSerializer(context={"tenant": tenant})
    # when a plain item naming a venue goes through the fast path
    fast = serializer.validated_fast({**PLAIN, "venue": "XA", "note": "n"})
    # then it carries the rows and the quantized decimals, the defaults filled in
    assert fast == {
        "client_order_id": "c-1",
        "account": world.acc1,
        "instrument": world.acme,
        "side": "buy",
        "quantity": Decimal("100.00000000"),
        "order_type": "limit",
        "limit_price": Decimal("100.05000000"),
        "stop_price": None,
        "trail_amount": None,
        "trail_percent": None,
        "time_in_force": "day",
        "expire_at": None,
        "venue": world.xa,
        "handling": "auto",
        "note": "n",
    }
