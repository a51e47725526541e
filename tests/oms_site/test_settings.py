from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "OMS_TESTING", "CACHE_DIR"}
    }
    clean.update(env)
    code = (
        "import oms_site.settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL.split(':')[0], "
        "s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1], s.DEBUG, s.ALLOWED_HOSTS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_secret_key_is_required_when_debug_is_off():
    result = _load_settings({"DEBUG": "0", "DATABASE_URL": "", "CELERY_BROKER_URL": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_embedded_defaults_need_no_server():
    result = _load_settings(
        {"DEBUG": "1", "DATABASE_URL": "", "CELERY_BROKER_URL": "", "REDIS_URL": ""}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "django.db.backends.sqlite3 filesystem LocMemCache True "
        "['127.0.0.1', 'localhost', 'testserver']"
    )


def test_make_run_shares_one_cache_on_disk_between_its_processes(tmp_path: Path) -> None:
    # given the embedded runtime's cache directory (``make run`` sets CACHE_DIR)
    env = {"DEBUG": "1", "DATABASE_URL": "", "CELERY_BROKER_URL": "", "REDIS_URL": ""}
    assert "FileBasedCache" in _load_settings({**env, "CACHE_DIR": str(tmp_path)}).stdout

    def run(code: str) -> str:
        clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "OMS_TESTING"}}
        clean.update(env, CACHE_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="oms_site.settings")
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    read = "from compliance.services.rules import config_version as v; print(v(7))"
    # when one process reads tenant 7's compliance version, another bumps it, a third reads
    first = run(read)
    run(
        "from django.core.cache import cache; "
        "from compliance.services.rules import _version_key; "
        "cache.set(_version_key(7), 'bumped-elsewhere', timeout=None)"
    )
    # then the third process sees the other's write (a worker sees the web's rule change)
    assert len(first) == 32
    assert run(read) == "bumped-elsewhere"


def test_environment_selects_postgres_redis_and_hosts():
    result = _load_settings(
        {
            "SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgres://u@db:5432/oms",
            "CELERY_BROKER_URL": "redis://r:6379/0",
            "REDIS_URL": "redis://r:6379/1",
            "ALLOWED_HOSTS": "oms.example.com, api.example.com",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "django.db.backends.postgresql redis RedisCache False "
        "['oms.example.com', 'api.example.com']"
    )
