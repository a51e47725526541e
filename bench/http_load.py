"""The load generator of ``bench/http_orders.py``, run as its own process (no Django in it).

``python -m bench.http_load`` reads one JSON job on stdin and writes one JSON result on stdout.
The job: ``host`` (127.0.0.1 only), ``port``, ``path``, ``headers``, ``template`` (the JSON
body), ``id_field`` and ``prefix`` (each request sets ``template[id_field] = f"{prefix}{i}"``, so
every request is unique), ``count``, ``connections``, ``expect`` (the status a success answers),
``timeout`` (per request, seconds) and ``deadline`` (seconds for the whole job).

Each connection is one thread with one keep-alive ``http.client`` connection, sending its share
of the requests back to back (a closed loop: the next request leaves when the answer arrived).
The result: ``elapsed`` (first request out to last answer in), ``ok``, ``statuses`` (counts by
status, 0 for a transport error), ``sample_error``, ``latencies_ms`` (every request), and
``timed_out`` when the deadline stopped it early.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from typing import Any

LOOPBACK = frozenset({"127.0.0.1", "localhost"})


def run(job: dict[str, Any]) -> dict[str, Any]:
    host, port = str(job["host"]), int(job["port"])
    if host not in LOOPBACK:
        raise ValueError(f"refusing to load {host}: this benchmark only targets 127.0.0.1")
    count, connections = int(job["count"]), int(job["connections"])
    path, headers = str(job["path"]), dict(job["headers"])
    template, id_field, prefix = dict(job["template"]), str(job["id_field"]), str(job["prefix"])
    expect, timeout = int(job["expect"]), float(job["timeout"])
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: list[dict[int, int]] = [{} for _ in range(connections)]
    errors: list[str] = []
    start_gate = threading.Barrier(connections + 1)
    stop_at = [0.0]
    timed_out = threading.Event()

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        mine, codes = latencies[slot], statuses[slot]
        start_gate.wait()
        try:
            for i in range(slot, count, connections):
                if time.perf_counter() > stop_at[0]:
                    timed_out.set()
                    return
                body = json.dumps({**template, id_field: f"{prefix}{i}"}).encode()
                t0 = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # the next request reconnects
                    status, payload = 0, repr(exc).encode()
                mine.append((time.perf_counter() - t0) * 1000)
                codes[status] = codes.get(status, 0) + 1
                if status != expect and not errors:
                    errors.append(f"{status}: {payload[:300]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + float(job["deadline"])
    start_gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(0.0, stop_at[0] - time.perf_counter()) + timeout + 5)
    elapsed = time.perf_counter() - started
    merged: dict[int, int] = {}
    for codes in statuses:
        for status, n in codes.items():
            merged[status] = merged.get(status, 0) + n
    return {
        "elapsed": elapsed,
        "ok": merged.get(expect, 0),
        "statuses": {str(k): v for k, v in sorted(merged.items())},
        "sample_error": errors[0] if errors else "",
        "latencies_ms": [ms for mine in latencies for ms in mine],
        "timed_out": timed_out.is_set() or any(t.is_alive() for t in threads),
    }


def main() -> int:
    result = run(json.load(sys.stdin))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
