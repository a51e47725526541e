"""The detectors, by name, in the order a scan runs them; and their effective parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance.surveillance import (
    front_running,
    holding_period,
    marking_close,
    order_to_trade,
    personal_dealing,
    restricted_trading,
    spoofing,
    wash_trades,
)
from compliance.surveillance.base import DetectorSpec

DETECTORS: dict[str, DetectorSpec] = {
    spec.name: spec
    for spec in (
        wash_trades.SPEC,
        spoofing.SPEC,
        order_to_trade.SPEC,
        marking_close.SPEC,
        front_running.SPEC,
        restricted_trading.SPEC,
        personal_dealing.SPEC,
        holding_period.SPEC,
    )
}
ACCOUNT_KINDS = ("client", "proprietary", "employee")


def detector_get(name: str) -> DetectorSpec:
    return DETECTORS[name]


def params_validate(spec: DetectorSpec, overrides: Mapping[str, Any]) -> dict[str, list[str]]:
    """Errors per key of a tenant's overrides: unknown keys, and values that are not of the
    default's kind (a non-negative number, or a list of account kinds)."""
    errors: dict[str, list[str]] = {}
    for key, value in overrides.items():
        if key not in spec.defaults:
            known = ", ".join(sorted(spec.defaults)) or "none"
            errors[key] = [f"Unknown parameter of {spec.name} (known: {known})."]
        elif isinstance(spec.defaults[key], list):
            if (
                not isinstance(value, list)
                or not value
                or any(v not in ACCOUNT_KINDS for v in value)
            ):
                errors[key] = [f"A non-empty list of account kinds ({', '.join(ACCOUNT_KINDS)})."]
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            errors[key] = ["A number, zero or more."]
    return errors


def params_effective(spec: DetectorSpec, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**spec.defaults, **{k: v for k, v in (overrides or {}).items() if k in spec.defaults}}
