from __future__ import annotations

import pytest

from orders import screening


@pytest.fixture(autouse=True)
def _no_registered_screens() -> None:
    """The orders suite tests the gate itself: it starts with an empty screen registry.

    (Compliance registers its screens from ``AppConfig.ready()``; tests/conftest.py restores
    the registry after each test.)
    """
    screening._registry.clear()
