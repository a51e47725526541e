from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import member


@pytest.fixture
def seller(tenant: Any) -> Any:
    return member(tenant, "seller", username="alpha.seller")


@pytest.fixture
def operations(tenant: Any) -> Any:
    return member(tenant, "operations", username="alpha.ops")
