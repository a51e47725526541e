"""How a benchmark hands its figures to the harness (``python -m bench``).

A benchmark module calls :func:`record` once per figure. When the harness runs it, the
environment names a JSON-lines file (``BENCH_RESULTS_FILE``) and each figure is appended there;
run on its own, a module only prints. A figure carries its baseline measured in the same run
(when there is one) and the issue's goal, so the harness can print the ratio and whether the
goal is met.
"""

from __future__ import annotations

import json
import os
from typing import Any

RESULTS_ENV = "BENCH_RESULTS_FILE"


def record(
    *,
    scenario: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_label: str = "",
    goal: str = "",
    met: bool | None = None,
    higher_is_better: bool = True,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record one figure (a median over rounds). ``ratio`` is value / baseline, inverted for
    figures where lower is better (latency, seconds), so > 1 always means "better than the
    baseline"."""
    ratio = None
    if baseline:
        ratio = value / baseline if higher_is_better else baseline / value if value else None
    row: dict[str, Any] = {
        "scenario": scenario,
        "value": round(value, 6),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 6),
        "baseline_label": baseline_label,
        "ratio": None if ratio is None else round(ratio, 4),
        "goal": goal,
        "met": met,
        "detail": detail or {},
    }
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
    return row


def quick() -> bool:
    """``QUICK=1`` (``make bench QUICK=1``): a smoke run with small sizes."""
    return os.environ.get("QUICK", "") not in ("", "0")
