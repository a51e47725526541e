"""Real Celery worker processes for the fault suite: started on the test database and the
test broker, killed with SIGKILL, restarted; and Redis restarted under load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from oms_site.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "var" / "reliability"
# Unacknowledged messages of a killed worker are handed out again after this long (the broker
# default is an hour); the suite shortens it so a redelivery happens within the test.
VISIBILITY_TIMEOUT = 5


def _database_url() -> str:
    cfg = connection.settings_dict
    return (
        f"postgres://{cfg['USER']}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"
    )


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "oms_site.settings",
            "SECRET_KEY": "reliability-suite-not-secret",
            "DEBUG": "0",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def worker_start(name: str, queues: str, *, concurrency: int = 2) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{name}.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "oms_site", "worker",
            "-Q", queues, "-P", "threads", "-c", str(concurrency), "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=worker_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def worker_kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no warm shutdown, no acknowledgement of what it held."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def worker_stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker_kill(proc)


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@contextmanager
def real_broker(*queues: str) -> Iterator[None]:
    """Eager mode off in the test process (tasks go to the broker); the queues empty before
    and after."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False

    def purge() -> None:
        with celery_app.connection_for_write() as conn:
            channel: Any = conn.default_channel
            for queue in queues:
                channel.queue_declare(queue=queue, durable=True, auto_delete=False)
                channel.queue_purge(queue)

    purge()
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager
        purge()


REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
    "--save", "", "--appendonly", "no",
]  # fmt: skip


def redis_restart(down_for: float) -> None:
    """Stop Redis (nothing kept: this Redis keeps nothing on disk), wait, start it again."""
    subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], check=False
    )
    time.sleep(down_for)
    subprocess.run(REDIS_START, check=True)
    wait_for(
        lambda: (
            subprocess.run(
                ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True
            ).stdout.strip()
            == b"PONG"
        ),
        timeout=30,
        what="Redis to come back",
    )
