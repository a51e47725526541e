"""Pre-trade and fraud demo configuration, run from ``compliance.demo.seed`` (idempotent: rules
are keyed by name, list entries by issuer or instrument; a second run changes nothing).

- ``acme-capital`` (trading): credit limit, price collar (5% of last), max quantity and notional,
  % of ADV, throttle, duplicate window, restricted and watch lists (restricted issuer
  "Globex Corporation", watched issuer "Microsoft Corporation"), locate and short-sale price
  test, self-match, issuer concentration bands, sector limit, available cash;
- ``globex-goods`` (commerce): fraud velocity, country mismatch, high-value first order and a
  hold threshold.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from compliance.models import RestrictedListEntry, Rule, WatchListEntry
from compliance.services.rules import config_version_bump, rule_params_clean
from tenancy.models import Tenant

RULES: dict[str, list[tuple[str, str, dict[str, Any], str]]] = {
    "acme-capital": [
        ("Account credit limit", "credit_account", {"limit": "5000000"}, "hard"),
        ("Firm credit limit", "credit_tenant", {"limit": "50000000"}, "hard"),
        ("Price collar 5%", "price_collar", {"percent": "5"}, "soft"),
        ("Max quantity", "max_quantity", {"max": "100000"}, "hard"),
        ("Max notional", "max_notional", {"max": "2000000"}, "soft"),
        ("10% of ADV", "adv_percent", {"percent": "10"}, "warn"),
        ("Throttle 20/s", "throttle", {"max_orders": 20, "per_seconds": 1}, "hard"),
        ("Duplicate 5s", "duplicate", {"window_seconds": 5}, "soft"),
        ("Restricted list", "restricted_list", {}, "hard"),
        ("Watch list", "watch_list", {}, "warn"),
        ("Locate required", "short_locate", {}, "hard"),
        ("Short-sale price test", "short_price_test", {"fall_percent": "10"}, "hard"),
        ("Self-match", "self_match", {}, "hard"),
        (
            "Issuer concentration",
            "issuer_concentration",
            {"warn": "10", "soft": "20", "hard": "35"},
            "hard",
        ),
        ("Sector 40%", "sector_limit", {"percent": "40"}, "warn"),
        ("Cash for buys", "available_cash", {}, "soft"),
    ],
    "globex-goods": [
        (
            "Velocity 5/h",
            "fraud_velocity",
            {"max_orders": 5, "window_seconds": 3600, "points": 40},
            "warn",
        ),
        ("Country mismatch", "fraud_country_mismatch", {"points": 30}, "warn"),
        (
            "High-value first order",
            "fraud_high_value_first",
            {"amount": "1000", "points": 40},
            "warn",
        ),
        ("Fraud hold above 60", "fraud_score", {"threshold": 60}, "soft"),
    ],
}
RESTRICTED = {"acme-capital": [("Globex Corporation", "Advisory mandate: inside information")]}
WATCHED = {"acme-capital": [("Microsoft Corporation", "Unusual options activity")]}


@transaction.atomic
def seed(stdout: Any) -> None:
    made = 0
    for slug, rules in RULES.items():
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            continue
        existing = set(Rule.objects.for_tenant(tenant).values_list("name", flat=True))
        for name, kind, params, severity in rules:
            if name in existing:
                continue
            clean, errors = rule_params_clean(kind, params)
            assert not errors, errors
            Rule.objects.create(
                tenant=tenant, name=name, kind=kind, params=clean, severity=severity
            )
            made += 1
        for model, entries in ((RestrictedListEntry, RESTRICTED), (WatchListEntry, WATCHED)):
            for issuer, reason in entries.get(slug, []):
                if not model.objects.for_tenant(tenant).filter(issuer=issuer).exists():
                    model.objects.create(tenant=tenant, issuer=issuer, reason=reason)
                    made += 1
        config_version_bump(tenant.pk)
    stdout.write(f"compliance rules and lists: {made} created\n")
