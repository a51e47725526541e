"""The common part of the local marketplace servers (see ``servers``): an ``http.server`` in a
thread that records every request, answers scripted faults, runs hooks before a list request,
and hands the rest to the marketplace's own handler."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeClock:
    """A clock shared by a fake marketplace and a connector's pacing: ``sleep`` advances it
    (and records the wait) instead of waiting, so rate-limit tests are exact and instant."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Fault:
    path_part: str
    status: int
    body: bytes
    headers: dict[str, str]


Answer = tuple[int, dict[str, str], bytes]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def as_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        market: FakeMarketplace = self.server.market  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            query.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        request = Recorded(
            self.command,
            parts.path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        status, headers, payload = market.dispatch(request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class FakeMarketplace:
    kind = ""
    list_path = ""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.hooks: dict[int, Callable[[], None]] = {}
        self.list_calls = 0
        self.confirmations: list[Recorded] = []
        self.served: list[list[str]] = []  # external ids of each list answer, in order
        self.page_size = 2
        self.clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.market = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeMarketplace:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting ----------------------------------------------------------------------------

    def fail(
        self,
        path_part: str,
        status: int,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            self.faults.append(Fault(path_part, status, body, headers or {}))

    def before_list(self, number: int, hook: Callable[[], None]) -> None:
        self.hooks[number] = hook

    def list_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(self.list_path)]

    def dispatch(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
            if request.path.endswith(self.list_path) and self.is_list(request):
                self.list_calls += 1
                hook = self.hooks.pop(self.list_calls, None)
                if hook is not None:
                    hook()
            for fault in self.faults:
                if fault.path_part in request.path and self.fault_applies(request):
                    self.faults.remove(fault)
                    return fault.status, fault.headers, fault.body
            return self.handle(request)

    def is_list(self, request: Recorded) -> bool:
        return True

    def fault_applies(self, request: Recorded) -> bool:
        return True

    # --- orders -------------------------------------------------------------------------------

    def add(
        self,
        external_id: str,
        *,
        updated: datetime,
        lines: list[tuple[str, int, str]],
        state: str = "open",
        created: datetime | None = None,
        currency: str = "USD",
        city: str = "Berlin",
        country: str = "DE",
    ) -> None:
        raise NotImplementedError

    def change(self, external_id: str, *, state: str, updated: datetime) -> None:
        raise NotImplementedError

    def handle(self, request: Recorded) -> Answer:
        raise NotImplementedError
