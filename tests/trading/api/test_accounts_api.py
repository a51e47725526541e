"""/api/v1/trading/accounts/: list with filters, cash balances, retrieve, create, PATCH."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import client_for, member
from tests.trading.factories import AccountFactory, CashBalanceFactory
from tests.trading.reference_helpers import (
    FORBIDDEN,
    NON_WRITERS,
    NOT_FOUND,
    ROLES,
    WRITERS,
    account_json,
    invalid,
    method_not_allowed,
    reference_snapshot,
)
from trading.models import Account

pytestmark = pytest.mark.django_db

URL = "/api/v1/trading/accounts/"
CLIENT = {
    "code": "C-1001",
    "name": "Northwind Pension Fund",
    "kind": "client",
    "beneficial_owner": "Northwind Pension Trust",
    "base_currency": "USD",
}


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["code"] for row in response.json()["results"]]


@pytest.fixture
def ops(tenant):
    return member(tenant, "operations", username="alpha.ops")


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_accounts_with_cash_per_currency(tenant, other_tenant, role):
    # given two accounts in alpha (one with cash in two currencies) and one in beta
    prop = AccountFactory(tenant=tenant, code="P-1", kind="proprietary")
    client_account = AccountFactory(tenant=tenant, code="C-1")
    CashBalanceFactory(tenant=tenant, account=client_account, currency="USD", amount="1000.5")
    CashBalanceFactory(tenant=tenant, account=client_account, currency="EUR", amount="-20")
    beta = AccountFactory(tenant=other_tenant, code="C-1")
    CashBalanceFactory(tenant=other_tenant, account=beta, currency="USD")
    user = member(tenant, role, username=f"alpha.{role}")
    # when a member lists accounts
    response = client_for(user).get(URL)
    # then alpha's accounts answer by code, each with its balances by currency
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [account_json(client_account), account_json(prop)],
    }
    balances = response.json()["results"][0]["cash_balances"]
    assert [(b["currency"], b["amount"]) for b in balances] == [
        ("EUR", "-20.000000"),
        ("USD", "1000.500000"),
    ]


def test_list_reads_cash_in_one_query_for_the_whole_page(tenant, trader):
    api = client_for(trader)
    CashBalanceFactory(tenant=tenant)
    with CaptureQueriesContext(connection) as few:
        assert api.get(URL).status_code == 200
    for _ in range(5):
        account = AccountFactory(tenant=tenant)
        CashBalanceFactory(tenant=tenant, account=account, currency="USD")
        CashBalanceFactory(tenant=tenant, account=account, currency="EUR")
    with CaptureQueriesContext(connection) as many:
        assert api.get(URL).status_code == 200
    assert len(many) == len(few)


def test_retrieve_answers_the_account(tenant, trader):
    account = AccountFactory(tenant=tenant, kind="employee")
    CashBalanceFactory(tenant=tenant, account=account, amount=Decimal("250000"))
    response = client_for(trader).get(f"{URL}{account.pk}/")
    assert response.status_code == 200
    assert response.json() == account_json(account)


def test_another_tenants_account_answers_404_like_a_missing_one(tenant, other_tenant, trader):
    foreign = AccountFactory(tenant=other_tenant)
    api = client_for(trader)
    answers = [api.get(f"{URL}{pk}/") for pk in (foreign.pk, foreign.pk + 1000)]
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 2


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "client"}, ["C-1", "X-1"]),
        ({"kind": ["proprietary", "employee"]}, ["E-1", "P-1"]),
        ({"active": "false"}, ["X-1"]),
        ({"active": "true"}, ["C-1", "E-1", "P-1"]),
        ({"base_currency": "EUR"}, ["E-1"]),
        ({"code": "P-1"}, ["P-1"]),
        ({"q": "doe"}, ["E-1"]),
        ({"q": "fund"}, ["C-1"]),
        ({"q": "p-"}, ["P-1"]),
        ({}, ["C-1", "E-1", "P-1", "X-1"]),
    ],
)
def test_list_filters(tenant, other_tenant, trader, params, expected):
    AccountFactory(tenant=tenant, code="C-1", name="Pension Fund", kind="client")
    AccountFactory(tenant=tenant, code="P-1", name="House book", kind="proprietary")
    AccountFactory(
        tenant=tenant, code="E-1", kind="employee", beneficial_owner="Jane Doe", base_currency="EUR"
    )
    AccountFactory(tenant=tenant, code="X-1", kind="client", active=False)
    AccountFactory(tenant=other_tenant, code="E-2", kind="employee", beneficial_owner="John Doe")
    assert _codes(client_for(trader).get(URL, params)) == expected


@pytest.mark.parametrize("role", WRITERS)
def test_admin_and_operations_create_an_account(tenant, role):
    user = member(tenant, role, username=f"alpha.{role}")
    response = client_for(user).post(URL, CLIENT, format="json")
    assert response.status_code == 201
    account = Account.objects.for_tenant(tenant).get()
    assert response.json() == account_json(account)
    assert response.json()["cash_balances"] == []
    assert (
        account.code,
        account.name,
        account.kind,
        account.beneficial_owner,
        account.base_currency,
        account.active,
    ) == ("C-1001", "Northwind Pension Fund", "client", "Northwind Pension Trust", "USD", True)


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_create(tenant, role):
    user = member(tenant, role, username=f"alpha.{role}")
    before = reference_snapshot()
    response = client_for(user).post(URL, CLIENT, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert reference_snapshot() == before


def test_duplicate_code_is_a_400_naming_code(tenant, ops):
    AccountFactory(tenant=tenant, code="C-1001")
    before = reference_snapshot()
    response = client_for(ops).post(URL, CLIENT, format="json")
    assert (response.status_code, response.json()) == (
        400,
        invalid(code=["An account with this code already exists."]),
    )
    assert reference_snapshot() == before


def test_the_same_code_in_another_tenant_is_fine(tenant, other_tenant, ops):
    AccountFactory(tenant=other_tenant, code="C-1001")
    assert client_for(ops).post(URL, CLIENT, format="json").status_code == 201


def test_patch_changes_the_fields_sent_and_keeps_cash(tenant, ops):
    account = AccountFactory(tenant=tenant, kind="client")
    CashBalanceFactory(tenant=tenant, account=account, amount=Decimal("5"))
    response = client_for(ops).patch(
        f"{URL}{account.pk}/", {"kind": "proprietary", "active": False}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == account_json(account)
    fresh = Account.objects.for_tenant(tenant).get()
    assert (fresh.kind, fresh.active, fresh.name) == ("proprietary", False, account.name)
    assert [b["amount"] for b in response.json()["cash_balances"]] == ["5.000000"]


def test_patch_to_a_code_in_use_is_a_400(tenant, ops):
    AccountFactory(tenant=tenant, code="A")
    other = AccountFactory(tenant=tenant, code="B")
    before = reference_snapshot()
    response = client_for(ops).patch(f"{URL}{other.pk}/", {"code": "A"}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        invalid(code=["An account with this code already exists."]),
    )
    assert reference_snapshot() == before


def test_cash_balances_are_read_only(tenant, ops):
    account = AccountFactory(tenant=tenant)
    before = reference_snapshot()
    response = client_for(ops).patch(
        f"{URL}{account.pk}/",
        {"cash_balances": [{"currency": "USD", "amount": "1000000"}]},
        format="json",
    )
    assert (response.status_code, response.json()) == (
        400,
        invalid(cash_balances=["This field is read-only."]),
    )
    assert reference_snapshot() == before


@pytest.mark.parametrize("role", NON_WRITERS)
def test_other_roles_may_not_patch(tenant, role):
    account = AccountFactory(tenant=tenant)
    user = member(tenant, role, username=f"alpha.{role}")
    before = reference_snapshot()
    response = client_for(user).patch(f"{URL}{account.pk}/", {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert reference_snapshot() == before


def test_patching_another_tenants_account_answers_404(tenant, other_tenant, ops):
    foreign = AccountFactory(tenant=other_tenant)
    before = reference_snapshot()
    response = client_for(ops).patch(f"{URL}{foreign.pk}/", {"name": "mine"}, format="json")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert reference_snapshot() == before


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_are_not_offered(tenant, ops, method):
    account = AccountFactory(tenant=tenant)
    before = reference_snapshot()
    response = getattr(client_for(ops), method)(f"{URL}{account.pk}/", CLIENT, format="json")
    assert (response.status_code, response.json()) == (405, method_not_allowed(method.upper()))
    assert reference_snapshot() == before
