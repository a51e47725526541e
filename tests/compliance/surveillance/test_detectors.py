"""Each detector: silent on a clean day, exactly the expected alert on its planted pattern,
and silent just outside its thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from compliance.models import Alert, RestrictedListEntry
from compliance.services.surveillance import pre_clearance_grant
from tests.compliance.surveillance.builders import (
    Book,
    alert_rows,
    at,
    book_create,
    clean_day,
    scan,
)
from tests.conftest import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(tenant: Any) -> Book:
    return book_create(tenant)


def test_clean_day_raises_nothing(book: Book) -> None:
    # given a normal day of trading
    clean_day(book)
    # when every detector scans it
    result = scan(book.tenant)
    # then all ran and none raised an alert
    assert sorted(name for name, run in result.runs.items() if run.ran) == sorted(result.runs)
    assert result.raised == []
    assert Alert.objects.for_tenant(book.tenant).count() == 0


# --- wash trades --------------------------------------------------------------------------


def test_wash_trade_same_owner_both_sides(book: Book) -> None:
    clean_day(book)
    mine = book.account("C-JOE-1", "client", "Joe")
    also_mine = book.account("C-JOE-2", "client", "Joe")
    buy, buy_exec = book.trade(mine, "buy", 1000, "10.00", at(4000))
    sell, sell_exec = book.trade(also_mine, "sell", 1020, "10.03", at(4030))

    scan(book.tenant)

    assert alert_rows(book.tenant) == [
        (
            "wash_trade",
            ["C-JOE-1", "C-JOE-2"],
            [buy.pk, sell.pk],
            [buy_exec.pk, sell_exec.pk],
        )
    ]
    alert = Alert.objects.for_tenant(book.tenant).get()
    assert alert.severity == "high"
    assert alert.evidence["figures"]["beneficial_owner"] == "Joe"
    assert alert.evidence["figures"]["seconds_apart"] == 30.0
    assert alert.dedupe_key == f"wash_trade:{buy_exec.pk}:{sell_exec.pk}"


@pytest.mark.parametrize(
    ("seconds", "qty", "px"),
    [(61, 1000, "10.00"), (30, 1200, "10.00"), (30, 1000, "10.06")],
    ids=["outside window", "quantity off by 17%", "price off by 0.6%"],
)
def test_wash_trade_outside_tolerance_is_not_alerted(
    book: Book, seconds: int, qty: int, px: str
) -> None:
    mine = book.account("C-JOE-1", "client", "Joe")
    also_mine = book.account("C-JOE-2", "client", "Joe")
    book.trade(mine, "buy", 1000, "10.00", at(4000))
    book.trade(also_mine, "sell", qty, px, at(4000 + seconds))

    scan(book.tenant)

    assert alert_rows(book.tenant) == []


# --- spoofing / layering -------------------------------------------------------------------


def _layers(book: Book, multiple_of_500: int) -> list[int]:
    spoofer = book.account("C-SPOOF", "client", "Spoofer")
    layers = []
    for i in range(multiple_of_500):
        layer = book.order(spoofer, "sell", 500, at(4000 + i), canceled=at(4075), price="10.20")
        layers.append(layer.pk)
    return layers


def test_spoofing_cancelled_opposite_layers_around_an_execution(book: Book) -> None:
    clean_day(book)
    layers = _layers(book, 3)  # 1500 offered, all cancelled 15 s after the buy
    spoofer = book.accounts["C-SPOOF"]
    genuine, execution = book.trade(spoofer, "buy", 500, "10.01", at(4060))

    scan(book.tenant)

    assert alert_rows(book.tenant) == [
        ("spoofing", ["C-SPOOF"], [genuine.pk, *layers], [execution.pk])
    ]
    alert = Alert.objects.for_tenant(book.tenant).get()
    assert alert.order_id == genuine.pk
    assert alert.evidence["figures"]["executions"] == [
        {
            "execution": execution.pk,
            "quantity": "500",
            "price": "10.01",
            "cancelled_orders": 3,
            "cancelled_quantity": "1500",
            "multiple": "3",
        }
    ]


def test_spoofing_below_the_size_multiple_is_not_alerted(book: Book) -> None:
    _layers(book, 2)  # 1000 cancelled against 500 executed: 2x < 3x
    book.trade(book.accounts["C-SPOOF"], "buy", 500, "10.01", at(4060))

    scan(book.tenant)

    assert alert_rows(book.tenant) == []


def test_spoofing_layers_mostly_filled_are_not_alerted(book: Book) -> None:
    spoofer = book.account("C-SPOOF", "client", "Spoofer")
    for i in range(3):
        layer = book.order(spoofer, "sell", 500, at(4000 + i), canceled=at(4075))
        book.fill(layer, 100, "10.20", at(4010))  # 20% filled: only 80% cancelled
    book.trade(spoofer, "buy", 500, "10.01", at(4060))

    scan(book.tenant)

    assert alert_rows(book.tenant) == []


# --- order-to-trade ratio -----------------------------------------------------------------


def test_order_to_trade_ratio_above_limit(book: Book) -> None:
    clean_day(book)
    algo = book.account("C-ALGO", "client", "Algo Fund")
    orders = [book.order(algo, "buy", 10, at(4000 + i), canceled=at(4001 + i)) for i in range(51)]
    traded, _ = book.trade(algo, "buy", 10, "10.00", at(5000))
    # 52 orders, one traded: 52 > 25

    scan(book.tenant)

    expected_orders = sorted([o.pk for o in orders] + [traded.pk])
    assert alert_rows(book.tenant) == [("order_to_trade", ["C-ALGO"], expected_orders, [])]
    figures = Alert.objects.for_tenant(book.tenant).get().evidence["figures"]
    assert figures == {
        "date": "2025-03-04",
        "orders": 52,
        "traded_orders": 1,
        "ratio": "52",
        "max_ratio": "25",
    }


def test_order_to_trade_ratio_at_limit_or_too_few_orders_is_not_alerted(book: Book) -> None:
    algo = book.account("C-ALGO", "client", "Algo Fund")
    for i in range(48):  # 50 orders, 2 traded: exactly 25, at the limit
        book.order(algo, "buy", 10, at(4000 + i), canceled=at(4001 + i))
    book.trade(algo, "buy", 10, "10.00", at(5000))
    book.trade(algo, "buy", 10, "10.00", at(5001))
    small = book.account("C-SMALL", "client", "Small")
    for i in range(40):  # 40 orders, none traded: too few to judge
        book.order(small, "buy", 10, at(4000 + i), canceled=at(4001 + i))

    scan(book.tenant)

    assert alert_rows(book.tenant) == []


# --- marking the close --------------------------------------------------------------------

# 16:00 in New York on 4 March 2025 (EST) is 21:00 UTC.
CLOSE = datetime(2025, 3, 4, 21, 0, tzinfo=UTC)


def test_marking_the_close(book: Book) -> None:
    clean_day(book)
    book.instrument.average_daily_volume = Decimal("390000")  # 10,000 in a 10-minute window
    book.instrument.save()
    marker = book.account("C-MARK", "client", "Marker")
    other = book.account("C-OTHER", "client", "Other")
    first, e1 = book.trade(marker, "buy", 2000, "10.20", CLOSE - timedelta(minutes=8))
    second, e2 = book.trade(marker, "buy", 1000, "10.30", CLOSE - timedelta(seconds=5))
    book.trade(other, "buy", 1000, "10.00", CLOSE - timedelta(minutes=9))  # 10%: ordinary
    book.trade(marker, "buy", 5000, "10.00", CLOSE - timedelta(minutes=11))  # before window

    scan(book.tenant)

    assert alert_rows(book.tenant) == [
        ("marking_close", ["C-MARK"], [first.pk, second.pk], [e1.pk, e2.pk])
    ]
    figures = Alert.objects.for_tenant(book.tenant).get().evidence["figures"]
    assert figures["share_pct"] == "30"
    assert figures["date"] == "2025-03-04"
    assert figures["close"] == "2025-03-04T21:00:00.000Z"
    assert figures["market_estimate"] == "10000"


def test_marking_the_close_follows_the_venue_timezone(book: Book) -> None:
    # after the US switch to summer time (9 March 2025) the close is 20:00 UTC
    close = datetime(2025, 3, 10, 20, 0, tzinfo=UTC)
    marker = book.account("C-MARK", "client", "Marker")
    book.trade(marker, "buy", 2000, "10.20", close + timedelta(minutes=30))  # after the close
    _, inside = book.trade(marker, "buy", 1000, "10.20", close - timedelta(minutes=1))

    scan(book.tenant)

    rows = alert_rows(book.tenant)
    assert [(r[0], r[3]) for r in rows] == [("marking_close", [inside.pk])]


# --- front running ------------------------------------------------------------------------


def test_front_running_before_a_large_client_order(book: Book) -> None:
    clean_day(book)
    prop = book.account("PROP", "proprietary", "The Firm")
    client = book.account("C-BIG", "client", "Big Pension")
    ahead, ahead_exec = book.trade(prop, "buy", 800, "10.00", at(6000))
    book.trade(prop, "sell", 300, "10.00", at(6010))  # other side: not front running
    big = book.order(client, "buy", 50000, at(6100))

    scan(book.tenant)

    assert alert_rows(book.tenant) == [
        ("front_running", ["PROP", "C-BIG"], [big.pk, ahead.pk], [ahead_exec.pk])
    ]
    alert = Alert.objects.for_tenant(book.tenant).get()
    assert alert.order_id == big.pk
    assert alert.evidence["figures"]["trades"][0]["seconds_before"] == 100.0


def test_front_running_small_or_late_client_order_is_not_alerted(book: Book) -> None:
    prop = book.account("PROP", "proprietary", "The Firm")
    client = book.account("C-BIG", "client", "Big Pension")
    book.trade(prop, "buy", 800, "10.00", at(6000))
    book.order(client, "buy", 9999, at(6100))  # below the large-order size
    book.order(client, "buy", 50000, at(6000 + 601))  # more than 10 minutes later

    scan(book.tenant)

    assert alert_rows(book.tenant) == []


# --- restricted list ----------------------------------------------------------------------


def test_trading_before_a_restricted_list_addition(book: Book) -> None:
    clean_day(book)
    employee = book.account("E-JANE", "employee", "Jane")
    _, inside = book.trade(employee, "buy", 100, "10.00", at(0, days=-3))
    book.trade(employee, "buy", 100, "10.00", at(0, days=-20))  # before the look-back
    client = book.account("C-CLIENT", "client", "Client")
    book.trade(client, "buy", 100, "10.00", at(0, days=-2))  # clients are not in scope
    entry = RestrictedListEntry.objects.create(
        tenant=book.tenant, issuer="Acme Corp", reason="Advising on a takeover"
    )
    RestrictedListEntry.objects.for_tenant(book.tenant).filter(pk=entry.pk).update(created_at=at(0))

    scan(book.tenant, detectors=["restricted_trading"])

    assert alert_rows(book.tenant) == [
        ("restricted_trading", ["E-JANE"], [inside.order_id], [inside.pk])
    ]
    assert Alert.objects.for_tenant(book.tenant).get().dedupe_key == (
        f"restricted_trading:{entry.pk}:E-JANE"
    )


# --- personal dealing ---------------------------------------------------------------------


def test_personal_dealing_without_pre_clearance(book: Book, tenant: Any) -> None:
    clean_day(book)
    officer = member(tenant, "compliance_officer", username="alpha.compliance")
    employee = book.account("E-JANE", "employee", "Jane")
    pre_clearance_grant(
        tenant=tenant,
        actor=officer,
        account=employee,
        instrument=book.instrument,
        side="buy",
        quantity=Decimal("150"),
        valid_from=at(0),
        valid_to=at(0, days=1),
    )
    book.trade(employee, "buy", 100, "10.00", at(600))  # cleared
    over, over_exec = book.trade(employee, "buy", 100, "10.00", at(700))  # 200 > 150 cleared
    sold, sold_exec = book.trade(employee, "sell", 50, "10.00", at(800))  # never cleared
    late, late_exec = book.trade(employee, "buy", 10, "10.00", at(0, days=2))  # expired

    scan(book.tenant, detectors=["personal_dealing"])

    assert alert_rows(book.tenant) == [
        ("personal_dealing", ["E-JANE"], [over.pk], [over_exec.pk]),
        ("personal_dealing", ["E-JANE"], [sold.pk], [sold_exec.pk]),
        ("personal_dealing", ["E-JANE"], [late.pk], [late_exec.pk]),
    ]


# --- holding period -----------------------------------------------------------------------


def test_sale_inside_the_holding_period(book: Book) -> None:
    clean_day(book)
    employee = book.account("E-JANE", "employee", "Jane")
    book.trade(employee, "buy", 100, "10.00", at(0, days=-45))  # held long enough
    bought, bought_exec = book.trade(employee, "buy", 100, "10.00", at(0, days=-10))
    sold, sold_exec = book.trade(employee, "sell", 150, "11.00", at(0))

    scan(book.tenant, detectors=["holding_period"])

    assert alert_rows(book.tenant) == [
        ("holding_period", ["E-JANE"], [sold.pk, bought.pk], [sold_exec.pk, bought_exec.pk])
    ]
    purchases = Alert.objects.for_tenant(book.tenant).get().evidence["figures"]["purchases"]
    assert [p["days_held"] for p in purchases] == [10.0]


def test_sale_after_the_holding_period_is_not_alerted(book: Book) -> None:
    employee = book.account("E-JANE", "employee", "Jane")
    book.trade(employee, "buy", 100, "10.00", at(0, days=-31))
    book.trade(employee, "sell", 100, "11.00", at(0))

    scan(book.tenant, detectors=["holding_period"])

    assert alert_rows(book.tenant) == []


def _unused(_: datetime) -> None:  # keeps the UTC import meaningful for readers
    assert UTC
