"""The TofuPilot REST API v2 as a Source, on one shared `httpx.AsyncClient`.

The retry policy lives here and only here: 429, 5xx and network errors are
retried with exponential backoff and full jitter, honouring `Retry-After`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

import httpx

from tracegraph._version import __version__
from tracegraph.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RefusedError,
    TransportError,
)
from tracegraph.source import BatchFilters, Record, UnitFilters, iso_utc, public_url

PAGE_LIMIT = 100
BULK_REFUSALS = frozenset({400, 404, 405, 414, 422})
BULK_QUERY_CHARS = 6000  # keeps a bulk lookup's URL well under common 8 KB limits
QueryList = list[tuple[str, str | int | float | bool | None]]
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request that may succeed later."""

    retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    jitter: Callable[[float], float] = field(default=lambda ceiling: random.uniform(0, ceiling))

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:  # `Retry-After: 0` still backs off a little
            return min(max(retry_after, self.backoff_base / 2), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return self.jitter(ceiling)


def encode_segment(identifier: str) -> str:
    """Percent-encode an identifier as exactly one URL path segment."""
    encoded = quote(identifier, safe="")
    if encoded in {".", ".."}:
        # Dot segments would be removed by URL normalisation.
        encoded = encoded.replace(".", "%2E")
    return encoded


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def _bulk_chunks(serials: list[str]) -> list[list[str]]:
    """Serials in groups of at most 100 whose encoded query stays short."""
    chunks: list[list[str]] = [[]]
    length = 0
    for serial in serials:
        size = len("serial_numbers=") + len(quote(serial, safe="")) + 1
        if chunks[-1] and (len(chunks[-1]) == PAGE_LIMIT or length + size > BULK_QUERY_CHARS):
            chunks.append([])
            length = 0
        chunks[-1].append(serial)
        length += size
    return [c for c in chunks if c]


DEFAULT_MAX_RESPONSE_BYTES = 32 * 2**20  # decoded: a gzip bomb stops here
MAX_REDIRECTS = 10
DEFAULT_MAX_PAGES = 1000  # of a list endpoint: 100,000 batches at 100 a page
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class _PageWindow:
    """Which offsets of a list to read: guessed ahead by the first page's size, and every
    `next_cursor` a page names; never one twice, never past the last page or `max_pages`."""

    def __init__(self, max_pages: int, url: str) -> None:
        self.max_pages = max_pages
        self.url = url
        self.asked: set[int] = set()
        self.queue: list[int] = []
        self.step: int | None = None  # the first page's size, once it answered
        self.guess = 0
        self.end: int | None = None  # the offset of the first page that has no more

    def ask(self, at: int) -> None:
        if at in self.asked or self.past_end(at):
            return
        if len(self.asked) >= self.max_pages:
            raise ApiError(
                f"the unit list at {self.url} still has more after {self.max_pages} pages; "
                "narrow the filters, or raise --max-pages"
            )
        self.asked.add(at)
        self.queue.append(at)

    def take_asked(self, room: int) -> list[int]:
        while self.step and self.end is None and len(self.queue) < room:
            self.guess += self.step
            self.ask(self.guess)
        taken, self.queue = self.queue[:room], self.queue[room:]
        return taken

    def past_end(self, at: int) -> bool:
        return self.end is not None and at > self.end

    def answered(self, at: int, size: int, meta: Record) -> None:
        if not meta.get("has_more"):
            self.end = at if self.end is None else min(self.end, at)
            return
        cursor = meta.get("next_cursor")
        if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor <= at:
            raise ApiError(
                f"the unit list at {self.url} says it has more pages but gives no next_cursor "
                "after the page it answered"
            )
        if at == 0 and self.step is None:
            self.step = max(1, size)
        self.ask(cursor)


def _unit_list_query(filters: UnitFilters) -> QueryList:
    """The query of `GET /v2/units` for the filters, oldest first, 100 a page."""
    params: QueryList = [("limit", PAGE_LIMIT)]
    params += [("part_numbers", p) for p in filters.part_numbers]
    params += [("revision_numbers", r) for r in filters.revision_numbers]
    params += [("batch_numbers", b) for b in filters.batch_numbers]
    if filters.created_after:
        params.append(("created_after", iso_utc(filters.created_after)))
    if filters.created_before:
        params.append(("created_before", iso_utc(filters.created_before)))
    return [*params, ("sort_by", "created_at"), ("sort_order", "asc")]


def _checked_url(api_url: str, allow_insecure_http: bool) -> SplitResult:
    """The API URL, refused before any connection when it would leak or misroute the key."""
    parts = urlsplit(api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ApiError(f"the API URL must be http(s)://host/..., not {public_url(api_url)!r}")
    if parts.username is not None or parts.password is not None:
        raise ApiError(
            f"the API URL {public_url(api_url)} holds a user name or password: httpx would "
            "send them as Basic auth in place of the API key; drop them from the URL"
        )
    host = parts.hostname.lower()
    loopback = host in LOOPBACK or host.startswith("127.")
    if parts.scheme == "http" and not loopback and not allow_insecure_http:
        raise ApiError(
            f"the API URL {public_url(api_url)} is plain http: the API key would cross the "
            "network unencrypted; use https, or pass --allow-insecure-http if you must"
        )
    return parts


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    return scheme, host.lower(), port or (443 if scheme == "https" else 80)


def _json(content: bytes, what: str) -> Any:
    """The JSON of a body, or an `ApiError` that says what is wrong with it."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ApiError(f"{what} answered JSON nested too deeply to read") from None
    except ValueError as error:
        if "digits" in str(error):
            raise ApiError(f"{what} answered a number too long to read ({error})") from None
        return None


class ApiSource:
    """Reads units and batches from the TofuPilot API v2."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        concurrency: int = 16,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        on_retry: Callable[[str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_pages: int = DEFAULT_MAX_PAGES,
        allow_insecure_http: bool = False,
    ) -> None:
        if not api_key:
            raise AuthError("no API key: pass --api-key or set TOFUPILOT_API_KEY")
        if not (api_key.isascii() and api_key.isprintable()) or any(c.isspace() for c in api_key):
            raise AuthError(
                "the API key holds spaces, line breaks or non-ASCII characters; "
                "copy it again from TofuPilot into --api-key or TOFUPILOT_API_KEY"
            )
        self._key = api_key
        parts = _checked_url(api_url, allow_insecure_http)
        self._base = api_url.rstrip("/")
        self._url = public_url(api_url)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._on_retry = on_retry
        self._on_notice = on_notice
        self._noticed: set[str] = set()
        self._list_refused = False  # the server has no unit list endpoint
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = max(1, concurrency)
        self._origin = _origin(parts.scheme, parts.hostname or "", parts.port)
        self._deadline = timeout
        self._max_bytes = max_response_bytes
        self._max_pages = max_pages
        self._client = httpx.AsyncClient(
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"tracegraph/{__version__}",
            },
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
            follow_redirects=False,  # `_fetch` follows them, on this host only
        )
        self.requests_sent = 0

    @property
    def url(self) -> str:
        return self._url

    async def __aenter__(self) -> ApiSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get_unit(self, serial: str) -> Record:
        return await self._get(f"/v2/units/{encode_segment(serial)}", None, ("unit", serial))

    async def get_batch(self, number: str) -> Record:
        return await self._get(f"/v2/batches/{encode_segment(number)}", None, ("batch", number))

    async def find_units(self, serials: Sequence[str]) -> dict[str, Record]:
        """Many units in pages of the list endpoint, as many at once as `concurrency` allows.

        A record no serial asked for is returned under its own serial, for the
        crawl to set aside. A server without the list endpoint (404, 405) is
        asked no more; a page it refuses (400, 414, 422) is left out. Either
        way the caller reads those units one at a time, and `on_notice` hears
        it once.
        """
        if self._list_refused:
            return {}
        chunks = _bulk_chunks(list(dict.fromkeys(serials)))
        found: dict[str, Record] = {}
        for chunk, records in zip(
            chunks, await asyncio.gather(*map(self._list_chunk, chunks)), strict=True
        ):
            exact = {str(r.get("serial_number", "")): r for r in records}
            folded = {key.casefold(): r for key, r in exact.items()}
            matched: set[int] = set()
            for serial in chunk:
                record = exact.get(serial) or folded.get(serial.casefold())
                if record is not None:
                    found[serial] = record
                    matched.add(id(record))
            for serial, record in exact.items():
                if id(record) not in matched:
                    found.setdefault(serial, record)
        return found

    async def _list_chunk(self, chunk: list[str]) -> list[Record]:
        params: QueryList = [("serial_numbers", s) for s in chunk]
        params.append(("limit", PAGE_LIMIT))
        try:
            # N serials are answered by at most N units, on at most N pages: a server that
            # keeps saying it has more, or sends more units than asked, is refused.
            records: list[Record] = []
            pages = self._pages("/v2/units", params, "unit list", max_pages=len(chunk) + 1)
            async for record in pages:
                records.append(record)
                if len(records) > 2 * len(chunk):
                    raise ApiError(
                        f"the unit list at {self._url} answered {len(chunk)} serials with "
                        f"more than {2 * len(chunk)} units"
                    )
            return records
        except ApiError as error:
            if error.status not in BULK_REFUSALS:
                raise
            if error.status in (404, 405):
                self._list_refused = True
                self._notice(
                    f"the API at {self._url} has no unit list (GET /v2/units answered "
                    f"{error.status}); reading units one at a time"
                )
            else:
                self._notice(
                    f"the API at {self._url} refused a page of the unit list "
                    f"({error.status}); reading those units one at a time"
                )
            return []

    def _notice(self, line: str) -> None:
        if self._on_notice is not None and line not in self._noticed:
            self._noticed.add(line)
            self._on_notice(line)

    async def list_units(self, filters: UnitFilters) -> AsyncIterator[list[Record]]:
        """Every unit the filters select, oldest first, as many pages in flight as allowed.

        The cursor is an offset, so the pages ahead are asked for before the
        ones before them answer: a window of `concurrency` pages, stepping by
        the size of the first page (a server may answer fewer than 100), and
        every `next_cursor` a page names is read too, so that no gap is left
        whatever the server's page size. Pages come in any order, and may
        repeat a unit; the read ends at the first page that has no more.
        Sorted by `created_at` ascending, units created during the read land
        at the end; a unit deleted during it shifts the rest, which is why
        `sync` looks up afterwards what it did not see.
        """
        params = _unit_list_query(filters)
        window = _PageWindow(self._max_pages, self._url)
        pending: dict[asyncio.Task[Record], int] = {}
        try:
            window.ask(0)
            while True:
                for at in window.take_asked(self._concurrency - len(pending)):
                    query = [*params, ("cursor", at)]
                    pending[asyncio.ensure_future(self._get("/v2/units", query, None))] = at
                if not pending:
                    return
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=pending.__getitem__):
                    at = pending.pop(task)
                    if window.past_end(at):
                        continue  # asked for before the end was known
                    data, meta = self._page(task.result(), "unit list")
                    window.answered(at, len(data), meta)
                    yield data
                for task in [t for t, at in pending.items() if window.past_end(at)]:
                    task.cancel()
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def list_batches(self, filters: BatchFilters) -> AsyncIterator[Record]:
        params: QueryList = [("limit", PAGE_LIMIT)]
        params += [("numbers", n) for n in filters.numbers]
        params += [("part_numbers", p) for p in filters.part_numbers]
        params += [("revision_numbers", r) for r in filters.revision_numbers]
        if filters.created_after:
            params.append(("created_after", iso_utc(filters.created_after)))
        if filters.created_before:
            params.append(("created_before", iso_utc(filters.created_before)))
        if filters.search:
            params.append(("search_query", filters.search))
        params += [("sort_by", "number"), ("sort_order", "asc")]
        async for batch in self._pages("/v2/batches", params, "batch list"):
            yield batch

    async def _pages(
        self, path: str, params: QueryList, what: str, max_pages: int | None = None
    ) -> AsyncIterator[Record]:
        """Every record of a cursor-paginated list endpoint (at most `max_pages` pages)."""
        cursor: int | None = 0
        seen_cursors: set[int] = set()
        most = self._max_pages if max_pages is None else max_pages
        while cursor is not None:
            if len(seen_cursors) >= most:
                raise ApiError(
                    f"the {what} at {self._url} still has more after {most} pages; "
                    "narrow the filters, or raise --max-pages"
                )
            if cursor in seen_cursors:
                raise ApiError(f"the {what} at {self._url} repeats cursor {cursor}")
            seen_cursors.add(cursor)
            page = await self._get(path, [*params, ("cursor", cursor)], None)
            data, meta = self._page(page, what)
            for record in data:
                yield record
            cursor = meta.get("next_cursor") if meta.get("has_more") else None
            if meta.get("has_more") and not isinstance(cursor, int):
                raise ApiError(
                    f"the {what} at {self._url} says it has more pages but gives no next_cursor"
                )

    def _page(self, page: Record, what: str) -> tuple[list[Record], Record]:
        """The records and `meta` of one page of a list endpoint, or an error on any other shape."""
        data, meta = page.get("data"), page.get("meta")
        if (
            not isinstance(data, list)
            or not all(isinstance(r, dict) for r in data)
            or not isinstance(meta, dict)
        ):
            raise ApiError(
                f"the {what} at {self._url} is not in the API v2 shape "
                '({"data": [...], "meta": {...}})'
            )
        return data, meta

    async def _get(
        self,
        path: str,
        params: QueryList | None,
        subject: tuple[str, str] | None,
    ) -> Record:
        """GET one JSON object, retrying what may succeed later."""
        what = f"GET {path}"
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            async with self._slots:
                self.requests_sent += 1
                try:
                    response, body = await asyncio.wait_for(
                        self._fetch(path, params, what), self._deadline
                    )
                except (httpx.TimeoutException, TimeoutError):
                    failure = "timed out"
                except (
                    httpx.LocalProtocolError,
                    httpx.UnsupportedProtocol,
                    httpx.InvalidURL,
                ) as error:
                    # Our own request is malformed: sending it again cannot help.
                    raise ApiError(f"{what} could not be sent ({type(error).__name__})") from None
                except httpx.TransportError as error:
                    if "CERTIFICATE_VERIFY_FAILED" in str(error):
                        raise ApiError(
                            f"the TLS certificate of {self._url} could not be verified; if your "
                            "network inspects TLS, point SSL_CERT_FILE (or SSL_CERT_DIR) at your "
                            "organisation's CA bundle"
                        ) from None
                    failure = f"network error ({type(error).__name__})"
                else:
                    if response.status_code == 200:
                        return self._decode(body, what)
                    if response.status_code not in RETRYABLE_STATUS:
                        self._raise_for(response, body, what, subject)
                    failure = f"HTTP {response.status_code}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt > self._retry.retries:
                raise TransportError(
                    f"{what} at {self._url} failed after {attempt} attempts: {failure}"
                )
            if retry_after is not None and retry_after > self._retry.retry_after_max:
                raise TransportError(
                    f"{what} at {self._url}: {failure}, and the API asks to wait "
                    f"{retry_after:.0f} s (Retry-After), longer than tracegraph waits "
                    f"({self._retry.retry_after_max:.0f} s); try again later"
                )
            delay = self._retry.delay(attempt, retry_after)
            if self._on_retry is not None:
                self._on_retry(
                    f"{what}: {failure}; retry {attempt} of {self._retry.retries} in {delay:.1f} s"
                )
            await self._sleep(delay)

    async def _fetch(
        self, path: str, params: QueryList | None, what: str
    ) -> tuple[httpx.Response, bytes]:
        """One GET, its body read in pieces and stopped at the size limit.

        Redirects are followed here, on the API's own host only: data from
        another host would be recorded as the API's.
        """
        url: str | httpx.URL = self._base + path
        for _ in range(MAX_REDIRECTS + 1):
            async with self._client.stream("GET", url, params=params) as response:
                following = response.next_request if response.is_redirect else None
                if following is None:
                    return response, await self._body(response, what)
            target = following.url
            if _origin(target.scheme, target.host, target.port) != self._origin:
                raise ApiError(
                    f"{what} at {self._url} was redirected to another host, "
                    f"{public_url(str(target))}; tracegraph does not follow it (the data "
                    "would be recorded as the first host's). Use that URL as --api-url if it "
                    "is right"
                )
            url, params = target, None
        raise ApiError(f"{what} at {self._url} redirects in a loop")

    async def _body(self, response: httpx.Response, what: str) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise ApiError(
                    f"{what} at {self._url} answered more than "
                    f"{self._max_bytes / 2**20:g} MB (decoded); raise --max-response-mb "
                    "if that is right"
                )
        return bytes(body)

    def _decode(self, content: bytes, what: str) -> Record:
        body = _json(content, f"{what} at {self._url}")
        if not isinstance(body, dict):
            raise ApiError(
                f"{what} at {self._url} did not answer with a JSON object: "
                "is the API URL right (it ends in /api)?"
            )
        return body

    def _raise_for(
        self,
        response: httpx.Response,
        content: bytes,
        what: str,
        subject: tuple[str, str] | None,
    ) -> None:
        status = response.status_code
        try:
            body = _json(content, what)
        except ApiError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        if status in {401, 403}:
            raise AuthError(
                f"the API at {self._url} refused the API key (HTTP {status}); "
                "pass a valid key with --api-key or set TOFUPILOT_API_KEY"
            )
        if status == 404 and subject is not None:
            if not isinstance(message, str):
                raise ApiError(
                    f"{what} at {self._url} answered HTTP 404 without a TofuPilot error body: "
                    "is the API URL right (it ends in /api)?",
                    status,
                )
            raise NotFoundError(subject[0], subject[1], self._url)
        detail = ": " + message.replace(self._key, "***") if isinstance(message, str) else ""
        if status in {400, 414, 422} and subject is not None:
            raise RefusedError(subject[0], subject[1], f"HTTP {status}{detail}")
        raise ApiError(f"{what} at {self._url} answered HTTP {status}{detail}", status)
