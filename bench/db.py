"""The scratch database a benchmark runs on: dropped and created afresh for every run.

Only a database that is plainly a scratch one is ever dropped: on PostgreSQL its name must
contain "bench" and its host must be this machine; a SQLite file is removed with its WAL files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1", "")


def database_config(url: str, *, postgres_only: bool = False) -> dict[str, Any]:
    """The parsed URL, refused (``SystemExit``) unless it names a local scratch database."""
    import dj_database_url

    cfg: dict[str, Any] = dict(dj_database_url.parse(url))
    engine = cfg["ENGINE"]
    if engine.endswith("sqlite3"):
        if postgres_only:
            raise SystemExit(f"{url} must be a PostgreSQL database URL")
        return cfg
    if not engine.endswith("postgresql"):
        raise SystemExit(f"{url}: only PostgreSQL or SQLite scratch databases")
    if (cfg["HOST"] or "") not in LOOPBACK:
        raise SystemExit(f"{url} must point to 127.0.0.1")
    if "bench" not in cfg["NAME"]:
        raise SystemExit(f"refusing to drop {cfg['NAME']!r}: a scratch name contains 'bench'")
    return cfg


def database_recreate(url: str) -> None:
    """Drop the scratch database named by ``url`` (other sessions on it are ended) and create
    it empty."""
    cfg = database_config(url)
    if cfg["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{cfg['NAME']}{suffix}").unlink(missing_ok=True)
        return
    import psycopg2  # type: ignore[import-untyped]

    conn = psycopg2.connect(
        dbname="postgres",
        user=cfg["USER"] or "postgres",
        password=cfg["PASSWORD"] or None,
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or None,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    conn.close()
