from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

from compliance.services.screening import states_reset


@pytest.fixture(autouse=True)
def _compliance_pretrade(settings: Any) -> Iterator[None]:
    """Trading's and commerce's kind policies (the root conftest clears them outside their
    suites), the book reloaded at every screening (TTL 0), and a fresh in-memory state."""
    apps.get_app_config("trading").ready()
    apps.get_app_config("commerce").ready()
    apps.get_app_config("compliance").ready()
    settings.COMPLIANCE_BOOK_TTL = 0
    states_reset()
    yield
    states_reset()
