"""The scan: incremental by cursor, alerts raised once per evidence, settings, and the
on-fill trigger."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance import tasks
from compliance.models import Alert, ScanCursor, SurveillanceSetting
from compliance.services.surveillance import surveillance_setting_set
from compliance.surveillance import hooks
from oms_site.errors import PermissionDenied, ValidationFailed
from tests.compliance.surveillance.builders import Book, alert_rows, at, book_create, scan
from tests.conftest import member
from trading.fill_listeners import _listeners

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(tenant: Any) -> Book:
    return book_create(tenant)


def _wash(book: Book, offset: int = 0) -> tuple[Any, Any]:
    mine = book.account("C-JOE-1", "client", "Joe")
    also_mine = book.account("C-JOE-2", "client", "Joe")
    return (
        book.trade(mine, "buy", 1000, "10.00", at(4000 + offset))[1],
        book.trade(also_mine, "sell", 1000, "10.00", at(4010 + offset))[1],
    )


def test_second_scan_without_new_rows_raises_nothing_and_reads_little(book: Book) -> None:
    _wash(book)
    first = scan(book.tenant)
    assert len(first.raised) == 1
    with CaptureQueriesContext(connection) as queries:
        second = scan(book.tenant)
    assert second.raised == []
    assert [name for name, run in second.runs.items() if run.ran] == []
    # savepoint, cursors (create-if-missing, lock), settings, three high-water marks, release
    assert len(queries) == 8
    cursor = ScanCursor.objects.for_tenant(book.tenant).get(detector="wash_trade")
    assert cursor.last_execution_id == max(e.pk for e in _all_execs(book))
    assert cursor.alerts_raised == 1


def _all_execs(book: Book) -> list[Any]:
    from trading.models import Execution

    return list(Execution.objects.for_tenant(book.tenant))


def test_scan_resumes_from_the_cursor_and_pairs_with_older_executions(book: Book) -> None:
    joe = book.account("C-JOE-1", "client", "Joe")
    _, buy = book.trade(joe, "buy", 1000, "10.00", at(4000))
    scan(book.tenant)
    assert alert_rows(book.tenant) == []
    # the matching sale arrives after the first scan
    also_joe = book.account("C-JOE-2", "client", "Joe")
    _, sell = book.trade(also_joe, "sell", 1000, "10.00", at(4020))

    result = scan(book.tenant)

    assert result.runs["wash_trade"].window.exec_after == buy.pk
    assert [r[3] for r in alert_rows(book.tenant)] == [[buy.pk, sell.pk]]


def test_an_alert_is_never_raised_twice_for_the_same_evidence(book: Book) -> None:
    _wash(book)
    scan(book.tenant)
    # rewinding every cursor makes the next scan judge everything again
    ScanCursor.objects.for_tenant(book.tenant).update(last_execution_id=0, last_order_id=0)

    again = scan(book.tenant)

    assert again.raised == []
    assert Alert.objects.for_tenant(book.tenant).count() == 1


def test_rows_younger_than_the_settle_delay_wait_for_the_next_scan(book: Book) -> None:
    _wash(book)
    from compliance.services.surveillance import surveillance_scan

    early = surveillance_scan(tenant=book.tenant, settle_seconds=3600)
    assert early.raised == []
    assert (
        ScanCursor.objects.for_tenant(book.tenant).get(detector="wash_trade").last_execution_id == 0
    )
    assert len(scan(book.tenant).raised) == 1


def test_scans_are_per_tenant(book: Book, other_tenant: Any) -> None:
    _wash(book)
    assert scan(other_tenant).raised == []
    assert Alert.objects.for_tenant(other_tenant).count() == 0
    assert len(scan(book.tenant).raised) == 1


def test_disabled_detector_keeps_its_cursor_and_catches_up_when_enabled(
    book: Book, tenant: Any
) -> None:
    officer = member(tenant, "compliance_officer", username="alpha.compliance")
    surveillance_setting_set(tenant=tenant, actor=officer, detector="wash_trade", enabled=False)
    _wash(book)
    assert scan(tenant).raised == []
    assert ScanCursor.objects.for_tenant(tenant).get(detector="wash_trade").last_execution_id == 0

    surveillance_setting_set(tenant=tenant, actor=officer, detector="wash_trade", enabled=True)

    assert [
        a.rule for a in Alert.objects.for_tenant(tenant).filter(pk__in=scan(tenant).raised)
    ] == ["wash_trade"]


def test_parameters_and_severity_per_tenant(book: Book, tenant: Any) -> None:
    officer = member(tenant, "compliance_officer", username="alpha.compliance")
    surveillance_setting_set(
        tenant=tenant,
        actor=officer,
        detector="wash_trade",
        severity="critical",
        params={"window_seconds": 5},
    )
    _wash(book)  # 10 s apart: outside a 5-second window
    _wash(book, offset=100_000)
    assert scan(tenant).raised == []

    surveillance_setting_set(
        tenant=tenant, actor=officer, detector="wash_trade", params={"window_seconds": 10}
    )
    ScanCursor.objects.for_tenant(tenant).update(last_execution_id=0)
    scan_ids = scan(tenant).raised

    assert sorted(a.severity for a in Alert.objects.for_tenant(tenant)) == ["critical", "critical"]
    assert Alert.objects.for_tenant(tenant).get(pk=scan_ids[0]).evidence["params"] == {
        "window_seconds": 10,
        "price_tolerance_pct": 0.5,
        "quantity_tolerance_pct": 10,
    }


DETECTOR_NAMES = (
    "wash_trade, spoofing, order_to_trade, marking_close, front_running, "
    "restricted_trading, personal_dealing, holding_period"
)
WASH_PARAMS = "price_tolerance_pct, quantity_tolerance_pct, window_seconds"
KINDS = "client, proprietary, employee"


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"detector": "nope"}, {"detector": [f"Choose one of {DETECTOR_NAMES}."]}),
        (
            {"detector": "wash_trade", "severity": "dire"},
            {"severity": ["Choose one of low, medium, high, critical."]},
        ),
        (
            {"detector": "wash_trade", "params": {"window": 5}},
            {"params": [f"window: Unknown parameter of wash_trade (known: {WASH_PARAMS})."]},
        ),
        (
            {"detector": "wash_trade", "params": {"window_seconds": -1}},
            {"params": ["window_seconds: A number, zero or more."]},
        ),
        (
            {"detector": "holding_period", "params": {"account_kinds": ["boss"]}},
            {"params": [f"account_kinds: A non-empty list of account kinds ({KINDS})."]},
        ),
    ],
)
def test_setting_validation_persists_nothing(
    tenant: Any, kwargs: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    officer = member(tenant, "compliance_officer", username="alpha.compliance")
    with pytest.raises(ValidationFailed) as exc:
        surveillance_setting_set(tenant=tenant, actor=officer, **kwargs)
    assert exc.value.errors == errors
    assert SurveillanceSetting.objects.for_tenant(tenant).count() == 0


def test_only_reviewers_configure_detectors(tenant: Any, trader: Any) -> None:
    with pytest.raises(PermissionDenied):
        surveillance_setting_set(tenant=tenant, actor=trader, detector="wash_trade", enabled=False)
    assert SurveillanceSetting.objects.for_tenant(tenant).count() == 0


def test_unknown_detector_scan_is_refused(tenant: Any) -> None:
    with pytest.raises(ValidationFailed):
        scan(tenant, detectors=["nope"])
    assert ScanCursor.objects.for_tenant(tenant).count() == 0


def test_task_scans_the_tenant(book: Book, settings: Any) -> None:
    settings.SURVEILLANCE_SETTLE_SECONDS = 0
    _wash(book)
    assert tasks.surveillance_scan(tenant_id=book.tenant.pk) == 1
    assert tasks.surveillance_scan(tenant_id=book.tenant.pk) == 0


def test_a_fill_schedules_a_scan_after_commit(
    book: Book, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    published: list[tuple[dict[str, Any], float]] = []
    monkeypatch.setattr(
        tasks.surveillance_scan,
        "apply_async",
        lambda kwargs, countdown, **options: published.append((kwargs, countdown)),
    )
    monkeypatch.setattr(hooks, "_last_published", {})
    assert hooks.on_fill in _listeners
    from trading.fill_listeners import fill_listeners_notify

    execution = _wash(book)[0]
    with django_capture_on_commit_callbacks(execute=True):
        fill_listeners_notify(execution)
        fill_listeners_notify(execution)  # a second fill right after shares the scan

    assert published == [({"tenant_id": book.tenant.pk}, 3.0)]
