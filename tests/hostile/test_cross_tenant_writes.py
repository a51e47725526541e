"""Writes naming another tenant's objects: refused exactly like unknown names, and nothing
stored. The entry endpoints and every other trading write naming an account, instrument, venue
or order by code, symbol or id, in the body or the path (see ``probing.py``); the commerce and
compliance writes are in ``test_cross_tenant_writes_commerce.py`` and ``..._compliance.py``.
(``test_cross_tenant.py`` fuzzes every id path with generated bodies; these hand-written bodies
are valid but for the one name probed, so the lookup itself is what answers.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from commerce.models import Channel, SalesOrder
from orders.models import Order, OrderEvent
from tests.hostile.conftest import PROBE_TENANT, Demo, api_as, list_items
from tests.hostile.probing import (
    UNKNOWN_CODE,
    UNKNOWN_ID,
    Desk,
    Probe,
    probe_refused_like_unknown,
    stored,
)
from trading.models import (
    Account,
    Execution,
    ExecutionReport,
    Instrument,
    Quote,
    TradeOrder,
    Venue,
    VenueOrder,
)

pytestmark = pytest.mark.django_db

WHY = "cross-tenant write probe"


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.all_tenants(reason=WHY).count()
        for model in (Order, OrderEvent, TradeOrder, SalesOrder)
    }


def _trade_body(**fields: Any) -> dict[str, Any]:
    return {
        "client_order_id": "probe-1",
        "account": "C-1001",
        "instrument": "AAPL",
        "side": "buy",
        "quantity": "10",
        "order_type": "market",
        "time_in_force": "day",
        **fields,
    }


def test_a_trade_order_naming_another_tenants_account_is_refused_like_an_unknown_one(
    demo: Demo,
) -> None:
    victim = Account.objects.all_tenants(reason=WHY).get(tenant__slug="acme-capital", code="C-1002")
    assert (
        not Account.objects.all_tenants(reason=WHY)
        .filter(tenant__slug=PROBE_TENANT, code=victim.code)
        .exists()
    )
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    before = _counts()
    foreign = api.post("/api/v1/trading/orders/", _trade_body(account=victim.code), format="json")
    missing = api.post("/api/v1/trading/orders/", _trade_body(account="NOWHERE-1"), format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["errors"]["account"] == [f"No code {victim.code}."]
    assert missing.json()["errors"]["account"] == ["No code NOWHERE-1."]
    assert _counts() == before


def test_a_trade_order_directed_to_another_tenants_venue_is_refused(demo: Demo) -> None:
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    before = _counts()
    response = api.post("/api/v1/trading/orders/", _trade_body(venue="ACMEX"), format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["venue"]
    assert _counts() == before


def test_a_sales_order_naming_another_tenants_channel_is_refused_like_an_unknown_one(
    demo: Demo,
) -> None:
    channel = Channel.objects.all_tenants(reason=WHY).filter(tenant__slug="globex-goods").first()
    assert channel is not None
    assert (
        not Channel.objects.all_tenants(reason=WHY)
        .filter(tenant__slug=PROBE_TENANT, code=channel.code)
        .exists()
    )
    api = api_as(demo, "probe.admin", PROBE_TENANT)
    before = _counts()
    body = {
        "channel": channel.code,
        "external_id": "probe-1",
        "currency": "USD",
        "lines": [{"sku": "ANY", "quantity": "1", "unit_price": "1.00"}],
    }
    foreign = api.post("/api/v1/commerce/orders/", body, format="json")
    unknown = api.post("/api/v1/commerce/orders/", {**body, "channel": "NOWHERE"}, format="json")
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json()["errors"] == {"channel": [f"No channel {channel.code!r}."]}
    assert unknown.json()["errors"] == {"channel": ["No channel 'NOWHERE'."]}
    assert _counts() == before


# --- every other trading write naming objects (see ``probing.py``) -----------------------------

T = "/api/v1/trading"
TRADES = (Order, OrderEvent, TradeOrder, VenueOrder, Execution, ExecutionReport)
QUOTES = (Quote, *TRADES)


def victim(key: str) -> Any:
    return lambda d: d.victim[key]


def own(key: str) -> Any:
    return lambda d: d.own[key]


def _quote(d: Desk, **fields: Any) -> dict[str, Any]:
    quote = {"venue": d.own["venue"], "symbol": d.own["symbol"], "bid": "99", "ask": "101"}
    return {"quotes": [{**quote, **fields}]}


def _quote_naming(name: str) -> Probe:
    return Probe(
        f"quote of another tenant's {name}",
        "operations",
        "POST",
        lambda d, v: (f"{T}/market-data/", _quote(d, **{name: v})),
        victim(name),
        f"quotes/0/{name}",
        QUOTES,
        unknown=UNKNOWN_CODE,
        own=own(name),
    )


BODY_NAMES = [
    Probe(
        "trade order in another tenant's instrument",
        "trader",
        "POST",
        lambda d, v: (f"{T}/orders/", _trade_body(instrument=v)),
        victim("symbol"),
        "instrument",
        TRADES,
        unknown=UNKNOWN_CODE,
        own=own("symbol"),
    ),
    Probe(
        "trade order for another tenant's account",
        "trader",
        "POST",
        lambda d, v: (f"{T}/orders/", _trade_body(account=v)),
        victim("account_code"),
        "account",
        TRADES,
        unknown=UNKNOWN_CODE,
        own=own("account_code"),
    ),
    Probe(
        "trade order directed to another tenant's venue",
        "trader",
        "POST",
        lambda d, v: (f"{T}/orders/", _trade_body(venue=v, order_type="limit", limit_price="1")),
        victim("venue"),
        "venue",
        TRADES,
        unknown=UNKNOWN_CODE,
        own=own("venue"),
    ),
    *[_quote_naming(name) for name in ("venue", "symbol")],
    Probe(
        "auction price of another tenant's instrument",
        "operations",
        "POST",
        lambda d, v: (
            f"{T}/venues/{d.own['venue']}/session/",
            {"event": "open", "price": "100", "prices": {v: "101"}},
        ),
        victim("symbol"),
        "prices/<NAME>",
        QUOTES,
        unknown=UNKNOWN_CODE,
        own=own("symbol"),
    ),
]


@pytest.mark.parametrize("probe", BODY_NAMES, ids=[p.name for p in BODY_NAMES])
def test_a_trading_write_naming_another_tenants_object_is_refused_like_an_unknown_name(
    demo: Demo, probe_desk: Desk, probe: Probe
) -> None:
    probe_refused_like_unknown(demo, probe_desk, probe)


@pytest.mark.parametrize(
    ("name", "key"), [("account", "account_code"), ("instrument", "symbol"), ("venue", "venue")]
)
def test_a_batch_order_naming_another_tenants_object_is_refused_like_an_unknown_name(
    demo: Demo, probe_desk: Desk, name: str, key: str
) -> None:
    # given a batch of one valid order and one naming a victim's object, and the same batch
    # naming an object that exists nowhere instead
    api = api_as(demo, "probe.trader", PROBE_TENANT)
    extra = {"order_type": "limit", "limit_price": "1"} if name == "venue" else {}

    def batch(value: str) -> list[dict[str, Any]]:
        return [
            _trade_body(client_order_id="probe-b1"),
            _trade_body(client_order_id="probe-b2", **{name: value, **extra}),
        ]

    before = stored(TRADES)
    # when initech's trader sends each
    foreign = api.post(f"{T}/orders/batch/", batch(probe_desk.victim[key]), format="json")
    after_foreign = stored(TRADES)
    unknown = api.post(f"{T}/orders/batch/", batch(UNKNOWN_CODE), format="json")
    # then the named order is refused the same way, naming the field; the valid one is entered
    # once (the second batch replays it), and nothing else is stored
    assert foreign.status_code == unknown.status_code == 200
    answers = [foreign.json()["results"], unknown.json()["results"]]
    assert [[r["status"] for r in results] for results in answers] == [[201, 400], [200, 400]]
    refusals = [
        json.dumps(results[1]).replace(value, "<NAME>")
        for results, value in zip(answers, (probe_desk.victim[key], UNKNOWN_CODE), strict=True)
    ]
    assert refusals[0] == refusals[1]
    assert list(answers[0][1]["errors"]) == [name]
    assert answers[0][0]["id"] == answers[1][0]["id"]
    assert stored(TRADES) == after_foreign
    assert after_foreign[TradeOrder._meta.label][0] == before[TradeOrder._meta.label][0] + 1


@pytest.mark.parametrize(
    ("path", "query", "key"),
    [
        (f"{T}/positions/", "account", "account_code"),
        (f"{T}/positions/", "instrument", "symbol"),
        (f"{T}/orders/", "account", "account_code"),
        (f"{T}/orders/", "symbol", "symbol"),
    ],
)
def test_a_list_filtered_by_another_tenants_name_answers_like_an_unknown_one(
    demo: Demo, probe_desk: Desk, path: str, query: str, key: str
) -> None:
    api = api_as(demo, "probe.trader", PROBE_TENANT)
    foreign = api.get(path, {query: probe_desk.victim[key]})
    unknown = api.get(path, {query: UNKNOWN_CODE})
    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json() == unknown.json()
    assert list_items(foreign.json()) == []


def _path(
    template: str, key: str, body: Any, *, role: str, method: str = "POST", unknown: Any = None
) -> Probe:
    """A write on another tenant's object named by its id (or code) in the path."""
    return Probe(
        f"{method} {template}",
        role,
        method,
        lambda d, v: (template.format(id=v), body),
        victim(key),
        None,
        (*QUOTES, Account, Instrument, Venue),
        unknown=UNKNOWN_ID if unknown is None else unknown,
    )


PATH_IDS = [
    _path(f"{T}/orders/{{id}}/cancel/", "trade_order", {"reason": "probe"}, role="trader"),
    _path(f"{T}/orders/{{id}}/replace/", "trade_order", {"quantity": "5"}, role="trader"),
    _path(f"{T}/accounts/{{id}}/", "account", {"name": "probe"}, role="operations", method="PATCH"),
    _path(
        f"{T}/instruments/{{id}}/",
        "instrument",
        {"name": "probe"},
        role="operations",
        method="PATCH",
    ),
    _path(
        f"{T}/venues/{{id}}/",
        "venue",
        {"name": "probe"},
        role="operations",
        method="PATCH",
        unknown=UNKNOWN_CODE,
    ),
    _path(
        f"{T}/venues/{{id}}/session/",
        "venue",
        {"event": "open", "price": "100"},
        role="operations",
        unknown=UNKNOWN_CODE,
    ),
    *[
        _path(f"/api/v1/orders/{{id}}/{step}/", "order", {"reason": "probe"}, role="admin")
        for step in ("submit", "approve", "reject", "cancel")
    ],
]


@pytest.mark.parametrize("probe", PATH_IDS, ids=[p.name for p in PATH_IDS])
def test_a_trading_write_on_another_tenants_object_answers_404_like_a_missing_one(
    demo: Demo, probe_desk: Desk, probe: Probe
) -> None:
    probe_refused_like_unknown(demo, probe_desk, probe)


# Codes and client order ids are unique per tenant: one another tenant uses is free for the
# prober (refusing it as taken, or replaying their order, would tell that they have it).
CODES = [
    (
        "venues",
        Venue,
        "code",
        "venue",
        lambda c: {"code": c, "name": "probe", "kind": "exchange", "asset_classes": ["equity"]},
    ),
    (
        "accounts",
        Account,
        "code",
        "account_code",
        lambda c: {
            "code": c,
            "name": "probe",
            "kind": "client",
            "beneficial_owner": "probe",
            "base_currency": "USD",
        },
    ),
    (
        "instruments",
        Instrument,
        "symbol",
        "symbol",
        lambda c: {"symbol": c, "name": "probe", "asset_class": "equity", "currency": "USD"},
    ),
]


@pytest.mark.parametrize(
    ("path", "model", "field", "key", "body"), CODES, ids=[c[0] for c in CODES]
)
def test_a_trading_code_another_tenant_uses_is_free_for_the_prober(
    demo: Demo, probe_desk: Desk, path: str, model: Any, field: str, key: str, body: Any
) -> None:
    code = probe_desk.victim[key]
    rows = model.objects.all_tenants(reason=WHY)
    assert list(rows.filter(**{field: code}).values_list("tenant__slug", flat=True)) == [
        "acme-capital"
    ]
    api = api_as(demo, "probe.operations", PROBE_TENANT)
    response = api.post(f"{T}/{path}/", body(code), format="json")
    assert response.status_code == 201, response.content
    assert response.json()[field] == code
    owners = rows.filter(**{field: code}).values_list("tenant__slug", flat=True)
    assert sorted(owners) == ["acme-capital", PROBE_TENANT]


def test_another_tenants_client_order_id_enters_a_new_order(demo: Demo, probe_desk: Desk) -> None:
    theirs = Order.objects.all_tenants(reason=WHY).get(pk=probe_desk.victim["trade_order"])
    api = api_as(demo, "probe.trader", PROBE_TENANT)
    before = TradeOrder.objects.all_tenants(reason=WHY).count()
    response = api.post(
        f"{T}/orders/", _trade_body(client_order_id=theirs.client_order_id), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["client_order_id"] == theirs.client_order_id
    assert response.json()["id"] != theirs.pk
    assert response.json()["account"] == "C-1001"
    assert TradeOrder.objects.all_tenants(reason=WHY).count() == before + 1
