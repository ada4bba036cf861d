"""A loopback HTTP server that speaks the TofuPilot REST API v2 from a snapshot.

End-to-end tests and benchmarks point the real API client at it. It answers the
calls tracegraph relies on (DESIGN.md section 2) from a snapshot dict (section 5),
records what it was asked, and can be told to fail or drop chosen requests.

    with TofuPilotServer(snapshot, latency=0.02) as server:
        crawl(api_url=server.url, api_key="test-key", ...)
        assert server.max_in_flight <= 8
"""

from __future__ import annotations

import json
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote

__all__ = ["TofuPilotServer", "error_body", "list_batches"]

_ERROR_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "TIMEOUT",
    409: "CONFLICT",
    422: "UNPROCESSABLE_CONTENT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "TIMEOUT",
}

_SORT_FIELDS = ("number", "created_at")
_SORT_ORDERS = ("asc", "desc")
_DEFAULT_LIMIT = 50
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
_FRACTION = re.compile(r"\.(\d+)")


class _BadRequest(Exception):
    """A query the real API would refuse with 400."""


@dataclass
class _Injection:
    """A fault armed by fail_next or drop_next; ``status`` None means drop."""

    prefix: str
    remaining: int
    status: int | None
    retry_after: str | None


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """The API's error shape: {"message", "code", "issues"}."""
    if message is None:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
    return {"message": message, "code": _ERROR_CODES.get(status, "ERROR"), "issues": []}


class TofuPilotServer:
    """Serve a snapshot's units and batches as the TofuPilot API v2 on 127.0.0.1.

    The snapshot's ``units`` and ``batches`` mappings are read live for exact
    lookups; the case-insensitive indexes are built once, at construction.
    """

    def __init__(
        self,
        snapshot: Mapping[str, Any],
        *,
        api_key: str = "test-key",
        latency: float = 0.0,
        page_limit_max: int = 100,
        page_size: int | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.page_size = page_size  # answer at most this many per page, whatever limit asks
        self.api_key = api_key
        self.latency = latency
        self.page_limit_max = page_limit_max
        self.requests: list[str] = []
        self.served: list[tuple[str, dict[str, Any]]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._injections: list[_Injection] = []
        self._selections: dict[str, tuple[Any, list[Any]]] = {}  # _selected
        self._fail_every = 0  # fail_share
        self._counted = 0
        self.faults = 0
        self._units: Mapping[str, Any] = snapshot.get("units") or {}
        self._batches: Mapping[str, Any] = snapshot.get("batches") or {}
        self._missing = frozenset(snapshot.get("missing") or ())
        self._units_folded = _casefold_index(self._units)
        self._batches_folded = _casefold_index(self._batches)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def replace_data(self, snapshot: Mapping[str, Any]) -> None:
        """Serve other data from now on, at the same URL (the factory changed between crawls)."""
        with self._lock:
            self.snapshot = snapshot
            self._units = snapshot.get("units") or {}
            self._batches = snapshot.get("batches") or {}
            self._missing = frozenset(snapshot.get("missing") or ())
            self._units_folded = _casefold_index(self._units)
            self._batches_folded = _casefold_index(self._batches)

    # -- lifecycle -----------------------------------------------------------

    @property
    def url(self) -> str:
        """Base API URL, e.g. ``http://127.0.0.1:54321/api``."""
        if self._httpd is None:
            raise RuntimeError("TofuPilotServer is not started")
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}/api"

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("TofuPilotServer is already started")
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tofupilot-server-{httpd.server_address[1]}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> TofuPilotServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- fault injection -----------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        count: int = 1,
        *,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests whose decoded path starts with
        ``path_prefix`` with ``status`` and an error body (plus Retry-After)."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next needs an error status, got {status}")
        self._arm(_Injection(path_prefix, count, status, retry_after))

    def fail_share(self, every: int) -> None:
        """Fail every `every`-th request from now on, in turn with 429, 503 and a reset."""
        self._fail_every = every

    def drop_next(self, path_prefix: str, count: int = 1) -> None:
        """Close the connection without a response for the next ``count``
        requests whose decoded path starts with ``path_prefix``."""
        self._arm(_Injection(path_prefix, count, None, None))

    def _arm(self, injection: _Injection) -> None:
        if injection.remaining < 1:
            raise ValueError(f"count must be at least 1, got {injection.remaining}")
        with self._lock:
            self._injections.append(injection)

    def _take_injection(self, decoded_path: str) -> _Injection | None:
        """Consume one use of the oldest armed fault matching the path."""
        with self._lock:
            if self._fail_every:
                self._counted += 1
                if self._counted % self._fail_every == 0:
                    self.faults += 1
                    turn = (self._counted // self._fail_every) % 3
                    status = (429, 503, None)[turn]
                    return _Injection("", 1, status, "0" if status == 429 else None)
            for injection in self._injections:
                if decoded_path.startswith(injection.prefix):
                    injection.remaining -= 1
                    if injection.remaining == 0:
                        self._injections.remove(injection)
                    return injection
        return None

    # -- bookkeeping (called from handler threads) ---------------------------

    def _record_request(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def _record_served(self, kind: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.served.append((kind, body))

    @contextmanager
    def _handling(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    # -- the API -------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        if header is None:
            return False
        scheme, _, credentials = header.partition(" ")
        return scheme.lower() == "bearer" and credentials.strip() == self.api_key

    def _find_unit(self, serial: str) -> dict[str, Any] | None:
        if serial in self._missing:
            return None
        return _lookup(self._units, self._units_folded, serial)

    def _find_batch(self, number: str) -> dict[str, Any] | None:
        return _lookup(self._batches, self._batches_folded, number)

    def _list_units(self, raw_query: str) -> dict[str, Any]:
        """``GET /v2/units?...``: list records, children capped at 10.

        By ``serial_numbers``, or every unit the filters select (part, revision
        and batch numbers, created after or before), sorted as asked.
        """
        query = parse_qs(raw_query, keep_blank_values=True)
        limit = _one_int(query, "limit", _DEFAULT_LIMIT, 1, self.page_limit_max)
        cursor = _one_int(query, "cursor", 0, 0, None)
        if self.page_size is not None:
            limit = min(limit, self.page_size)
        sort_by = _one_choice(query, "sort_by", ("serial_number", "created_at"), "serial_number")
        descending = _one_choice(query, "sort_order", ("asc", "desc"), "asc") == "desc"
        if "serial_numbers" in query:
            found = [self._find_unit(s) for s in dict.fromkeys(query["serial_numbers"])]
            units = [u for u in found if u is not None]
            units.sort(key=lambda u: (str(u[sort_by]), str(u["serial_number"])), reverse=descending)
        else:
            units = self._selected(query, sort_by, descending)
        page = units[cursor : cursor + limit]
        has_more = cursor + limit < len(units)
        return {
            "data": [_unit_list_item(unit) for unit in page],
            "meta": {"has_more": has_more, "next_cursor": cursor + limit if has_more else None},
        }

    def _selected(
        self, query: Mapping[str, list[str]], sort_by: str, descending: bool
    ) -> list[Any]:
        """Every unit the filters select, sorted; kept for the pages that follow (a sync
        reads a thousand pages of one query)."""
        # Keyed by the query and the data (a test that edits units in place between syncs
        # makes a new snapshot, or changes the count).
        key = repr(
            (
                sorted((k, v) for k, v in query.items() if k not in ("cursor", "limit")),
                len(self._units),
            )
        )
        with self._lock:
            cached = self._selections.get(key)
            if cached is not None and cached[0] is self._units:
                return cached[1]
        units = [u for s, u in self._units.items() if s not in self._missing]
        units = [u for u in units if _unit_selected(u, query)]
        units.sort(key=lambda u: (str(u[sort_by]), str(u["serial_number"])), reverse=descending)
        with self._lock:
            self._selections[key] = (self._units, units)
        return units

    def _list_batches(self, raw_query: str) -> dict[str, Any]:
        query = parse_qs(raw_query, keep_blank_values=True)
        return list_batches(self._batches.values(), query, self.page_limit_max, self.page_size)


def _casefold_index(bodies: Mapping[str, Any]) -> dict[str, str]:
    """Map each casefolded key to its first spelling in the snapshot."""
    index: dict[str, str] = {}
    for key in bodies:
        index.setdefault(key.casefold(), key)
    return index


def _lookup(
    bodies: Mapping[str, Any], folded: Mapping[str, str], key: str
) -> dict[str, Any] | None:
    body = bodies.get(key)
    if body is None:
        spelling = folded.get(key.casefold())
        body = bodies.get(spelling) if spelling is not None else None
    return body if isinstance(body, dict) else None


# -- GET /v2/batches ---------------------------------------------------------


def list_batches(
    batches: Iterable[Mapping[str, Any]],
    query: Mapping[str, list[str]],
    page_limit_max: int = 100,
    page_size: int | None = None,
) -> dict[str, Any]:
    """Filter, sort and page batch bodies the way ``GET /v2/batches`` does."""
    numbers = _many(query, "numbers")
    ids = _many(query, "ids")
    part_numbers = _many(query, "part_numbers")
    revision_numbers = _many(query, "revision_numbers")
    created_after = _one_datetime(query, "created_after")
    created_before = _one_datetime(query, "created_before")
    search = _one(query, "search_query")
    limit = _one_int(query, "limit", _DEFAULT_LIMIT, 1, page_limit_max)
    cursor = _one_int(query, "cursor", 0, 0, None)
    if page_size is not None:
        limit = min(limit, page_size)
    sort_by = _one_choice(query, "sort_by", _SORT_FIELDS, "created_at")
    sort_order = _one_choice(query, "sort_order", _SORT_ORDERS, "desc")

    folded_numbers = None if numbers is None else {n.casefold() for n in numbers}
    folded_search = None if search is None else search.casefold()
    matched: list[tuple[Mapping[str, Any], datetime | None]] = []
    for batch in batches:
        number = str(batch.get("number", ""))
        try:
            created_at: datetime | None = _parse_datetime(str(batch.get("created_at", "")))
        except ValueError:
            created_at = None
        if folded_numbers is not None and number.casefold() not in folded_numbers:
            continue
        if ids is not None and batch.get("id") not in ids:
            continue
        if folded_search is not None and folded_search not in number.casefold():
            continue
        if (created_after or created_before) and created_at is None:
            continue
        if created_after is not None and created_at is not None and created_at < created_after:
            continue
        if created_before is not None and created_at is not None and created_at > created_before:
            continue
        if not _has_part(batch, part_numbers, revision_numbers):
            continue
        matched.append((batch, created_at))

    def sort_key(item: tuple[Mapping[str, Any], datetime | None]) -> tuple[Any, ...]:
        batch, created_at = item
        number = str(batch.get("number", ""))
        tiebreak = (number.casefold(), number, str(batch.get("id", "")))
        if sort_by == "number":
            return tiebreak
        return (created_at or _EARLIEST, *tiebreak)

    matched.sort(key=sort_key, reverse=sort_order == "desc")
    page = matched[cursor : cursor + limit]
    has_more = cursor + limit < len(matched)
    return {
        "data": [_summary(batch) for batch, _ in page],
        "meta": {"has_more": has_more, "next_cursor": cursor + limit if has_more else None},
    }


def _unit_list_item(unit: Mapping[str, Any]) -> dict[str, Any]:
    """A unit as the list endpoint shows it: references without parts, the last run."""

    def reference(record: Any) -> dict[str, Any] | None:
        return {"id": record["id"], "serial_number": record["serial_number"]} if record else None

    run = unit.get("created_during")
    item = {
        key: unit.get(key)
        for key in ("id", "serial_number", "created_at", "sample", "part", "batch")
    }
    item.update(
        created_by_user=unit.get("created_by_user"),
        created_by_station=unit.get("created_by_station"),
        parent=reference(unit.get("parent")),
        children=[reference(c) for c in (unit.get("children") or [])[:10]],
        metadata=unit.get("metadata") or {},
        last_run=None
        if not run
        else {
            "id": run["id"],
            "outcome": run["outcome"],
            "started_at": run["started_at"],
            "ended_at": run["ended_at"],
            "procedure": run["procedure"],
        },
    )
    return item


def _unit_selected(unit: Mapping[str, Any], query: Mapping[str, list[str]]) -> bool:
    """Whether a unit passes the list endpoint's filters (as TofuPilot applies them)."""
    part = unit.get("part") or {}
    checks = (
        ("part_numbers", part.get("number")),
        ("revision_numbers", (part.get("revision") or {}).get("number")),
        ("batch_numbers", (unit.get("batch") or {}).get("number")),
    )
    for name, value in checks:
        wanted = _many(query, name)
        if wanted is not None and str(value or "").casefold() not in {w.casefold() for w in wanted}:
            return False
    created = _parse_datetime(str(unit["created_at"]))
    after = _one_datetime(query, "created_after")
    before = _one_datetime(query, "created_before")
    return (after is None or created >= after) and (before is None or created <= before)


def _summary(batch: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": batch.get("id"),
        "number": batch.get("number"),
        "created_at": batch.get("created_at"),
        "unit_count": len(batch.get("units") or []),
        "created_by_user": batch.get("created_by_user"),
        "created_by_station": batch.get("created_by_station"),
    }


def _has_part(
    batch: Mapping[str, Any],
    part_numbers: set[str] | None,
    revision_numbers: set[str] | None,
) -> bool:
    """True when one unit carries a wanted part number and revision together."""
    if part_numbers is None and revision_numbers is None:
        return True
    for unit in batch.get("units") or []:
        part = unit.get("part") or {}
        revision = part.get("revision") or {}
        if part_numbers is not None and part.get("number") not in part_numbers:
            continue
        if revision_numbers is not None and revision.get("number") not in revision_numbers:
            continue
        return True
    return False


def _many(query: Mapping[str, list[str]], name: str) -> set[str] | None:
    values = query.get(name)
    return None if values is None else set(values)


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return None if not values else values[-1]


def _one_int(
    query: Mapping[str, list[str]], name: str, default: int, low: int, high: int | None
) -> int:
    text = _one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer, got {text!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _BadRequest(f"{name} must be {bounds}, got {value}")
    return value


def _one_choice(
    query: Mapping[str, list[str]], name: str, choices: tuple[str, ...], default: str
) -> str:
    value = _one(query, name)
    if value is None:
        return default
    if value not in choices:
        raise _BadRequest(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _one_datetime(query: Mapping[str, list[str]], name: str) -> datetime | None:
    text = _one(query, name)
    if text is None:
        return None
    try:
        return _parse_datetime(text)
    except ValueError:
        raise _BadRequest(f"{name} must be an ISO 8601 date-time, got {text!r}") from None


def _parse_datetime(text: str) -> datetime:
    """Parse ISO 8601 (trailing Z allowed); a naive value is taken as UTC."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes only 3 or 6 fraction digits.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


# -- HTTP plumbing -----------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive handler threads would otherwise make server_close() wait for
    # every client to hang up.
    block_on_close = False
    # The default backlog of 5 drops SYNs when a benchmark opens many
    # connections at once, adding seconds of retransmission delay.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        api: TofuPilotServer,
    ) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) we do not need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-answer are normal in tests; anything else is a bug.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tofupilot-test-server"
    # Headers and body go out in two writes; with Nagle on, keep-alive
    # requests would stall on delayed ACKs (~40 ms each).
    disable_nagle_algorithm = True

    @property
    def api(self) -> TofuPilotServer:
        server = self.server
        assert isinstance(server, _HTTPServer)
        return server.api

    def setup(self) -> None:
        super().setup()
        server = self.server
        assert isinstance(server, _HTTPServer)
        server.track(self.connection)

    def finish(self) -> None:
        server = self.server
        assert isinstance(server, _HTTPServer)
        server.untrack(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _handle(self) -> None:
        api = self.api
        api._record_request(self.path)
        with api._handling():
            self._discard_request_body()
            if api.latency > 0:
                time.sleep(api.latency)
            raw_path, _, raw_query = self.path.partition("?")
            injection = api._take_injection(unquote(raw_path))
            if injection is not None:
                if injection.status is None:
                    self.close_connection = True
                    return
                headers: dict[str, str] = {}
                if injection.retry_after is not None:
                    headers["Retry-After"] = injection.retry_after
                self._send_json(injection.status, error_body(injection.status), headers)
                return
            if not api._authorized(self.headers.get("Authorization")):
                self._send_json(401, error_body(401, "Invalid API key"))
                return
            if self.command != "GET":
                self._send_json(405, error_body(405), {"Allow": "GET"})
                return
            try:
                self._route(api, raw_path, raw_query)
            except _BadRequest as exc:
                body = error_body(400, str(exc))
                body["issues"] = [{"message": str(exc)}]
                self._send_json(400, body)
            except Exception as exc:  # a broken snapshot must not hang the client
                self._send_json(500, error_body(500, f"{type(exc).__name__}: {exc}"))

    def _route(self, api: TofuPilotServer, raw_path: str, raw_query: str) -> None:
        # Split before decoding so an encoded "/" stays inside its segment.
        segments = [unquote(segment) for segment in raw_path.split("/")]
        match segments:
            case ["", "api", "v2", "units", serial] if serial:
                unit = api._find_unit(serial)
                if unit is None:
                    message = f"Unit with serial number '{serial}' not found"
                    self._send_json(404, error_body(404, message))
                else:
                    self._send_json(200, unit, kind="unit")
            case ["", "api", "v2", "batches", number] if number:
                batch = api._find_batch(number)
                if batch is None:
                    message = f"Batch with number '{number}' not found"
                    self._send_json(404, error_body(404, message))
                else:
                    self._send_json(200, batch, kind="batch")
            case ["", "api", "v2", "batches"]:
                self._send_json(200, api._list_batches(raw_query), kind="batch_list")
            case ["", "api", "v2", "units"]:
                self._send_json(200, api._list_units(raw_query), kind="unit_list")
            case _:
                self._send_json(404, error_body(404, "Not found"))

    def _discard_request_body(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > 0:
            self.rfile.read(int(length))

    def _send_json(
        self,
        status: int,
        body: dict[str, Any],
        headers: Mapping[str, str] | None = None,
        *,
        kind: str | None = None,
    ) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        if kind is not None:
            # Recorded before writing, so a client that has the answer sees it.
            self.api._record_served(kind, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
