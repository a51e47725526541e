"""A small JSON-over-HTTP client on the standard library (``http.client``).

One persistent (keep-alive) connection per client and host, reopened after any transport
error. Responses are classified once, here, for every connector:

- 429 -> :class:`Throttled` with the wait the marketplace asked for (``Retry-After`` seconds or
  HTTP date, else Amazon's ``x-amzn-RateLimit-Limit`` requests/second, else Shopify's
  ``X-Shopify-Shop-Api-Call-Limit`` bucket being full: one second);
- 5xx, timeouts and connection errors -> :class:`Transient`;
- other 4xx -> :class:`MarketplaceError` (permanent: bad credentials, bad request);
- a 2xx body that is not JSON (or not the expected shape, checked by connectors) ->
  :class:`MalformedResponse`.

Credentials travel in headers or form bodies only; error messages carry the method, the path
and the status, never a header or a body sent.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.utils import timezone

DEFAULT_TIMEOUT = 30.0


class MarketplaceError(Exception):
    """A permanent failure talking to a marketplace (the run records it and fails)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Transient(MarketplaceError):
    """A failure worth retrying (5xx, network)."""


class Throttled(Transient):
    """HTTP 429: retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class MalformedResponse(MarketplaceError):
    """The marketplace answered 2xx with a body that is not the documented JSON."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedResponse(f"Response is not JSON: {exc}") from None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def retry_after_seconds(headers: dict[str, str]) -> float:
    """Seconds to wait after a 429, from the headers the marketplaces document."""
    value = headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
                return max(0.0, (when - timezone.now()).total_seconds())
            except (TypeError, ValueError):
                pass
    rate = headers.get("x-amzn-ratelimit-limit", "").strip()
    if rate:
        try:
            per_second = float(rate)
            if per_second > 0:
                return 1.0 / per_second
        except ValueError:
            pass
    return 1.0


class HttpClient:
    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MarketplaceError(f"Endpoint {base_url!r} is not an http(s) URL.")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def url_path(self, path: str, params: dict[str, Any] | None = None) -> str:
        """``path`` below the base path (an absolute URL's path and query are kept as is)."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            full = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            full = self.base_path + path
        if params:
            full += ("&" if "?" in full else "?") + urlencode(params)
        return full

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        target = self.url_path(path, params)
        body: bytes | None = None
        sent = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8"
        label = f"{method} {target.split('?')[0]}"
        try:
            conn = self._connection()
            conn.request(method, target, body=body, headers=sent)
            raw = conn.getresponse()
            data = raw.read()
            answer = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
            if raw.will_close:
                self.close()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self.close()
            raise Transient(f"{label}: {type(exc).__name__}: {exc}") from None
        if answer.status == 429:
            raise Throttled(
                f"{label}: 429 Too Many Requests",
                retry_after=retry_after_seconds(answer.headers),
            )
        if answer.status >= 500:
            raise Transient(f"{label}: HTTP {answer.status}", status=answer.status)
        if answer.status >= 400:
            raise MarketplaceError(
                f"{label}: HTTP {answer.status} {_short(answer.body)}", status=answer.status
            )
        return answer


def _short(body: bytes) -> str:
    """The start of an error body (marketplace error bodies carry codes, not secrets)."""
    return body[:300].decode("utf-8", "replace")
