"""Test settings: the same as production settings plus speed-ups that change no behaviour."""

import os

os.environ.setdefault("OMS_TESTING", "1")

from oms_site.settings import *  # noqa: F403
from oms_site.settings import CACHES, REDIS_URL, REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline unless a test starts a real worker (tests/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("AUTH_THROTTLE_RATE", "1000/min")},
}


def _redis_database_of_worker(url: str, worker: str) -> str:
    """The Redis URL of one pytest-xdist worker (``gw0``, ``gw1``, ...): the next databases
    after the configured one, so that a test's ``cache.clear()`` (a FLUSHDB) never empties the
    cache of a test running in another worker."""
    base, _, database = url.rpartition("/")
    number = int(database or "0") + 1 + int(worker.removeprefix("gw"))
    if number > 15:
        raise RuntimeError(f"Too many test workers for one Redis server: {worker} (use -n <= 12).")
    return f"{base}/{number}"


# Under pytest-xdist each worker process has its own test database (pytest-django) and its own
# Redis cache database. The tests that start real Celery workers or restart Redis run in a
# separate, serial pytest run (marker ``serial``, see tests/conftest.py and .ci/run).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and REDIS_URL:
    REDIS_URL = _redis_database_of_worker(REDIS_URL, _WORKER)
    os.environ["REDIS_URL"] = REDIS_URL
    CACHES = {"default": {**CACHES["default"], "LOCATION": REDIS_URL}}
