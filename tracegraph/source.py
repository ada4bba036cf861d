"""The Source interface: where unit and batch records come from.

Both the HTTP client (`api.ApiSource`) and the snapshot reader
(`snapshot.SnapshotSource`) implement it, so the crawler never knows which one
it talks to.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

DEFAULT_API_URL = "https://www.tofupilot.app/api"
Record = dict[str, Any]
LIST_CHILDREN_CAP = 10  # the list endpoint (`GET /v2/units?...`) shows at most 10 children a unit
# JSON may escape a surrogate alone (`"\ud800"`): legal JSON, but no Unicode text,
# and no encoder writes it. Decoded, a str holds a surrogate only when it is alone.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # in JSON text: such a string may be there
REPLACEMENT = "\ufffd"
T = TypeVar("T")


@dataclass(frozen=True)
class BatchFilters:
    """Selects batches through the list endpoint (`GET /v2/batches`)."""

    numbers: tuple[str, ...] = ()
    part_numbers: tuple[str, ...] = ()
    revision_numbers: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None

    def is_empty(self) -> bool:
        return not (
            self.numbers
            or self.part_numbers
            or self.revision_numbers
            or self.created_after
            or self.created_before
            or self.search
        )

    def describe(self) -> str:
        """Short text of the filters, for titles and messages."""
        parts: list[str] = []
        if self.numbers:
            parts.append("numbers=" + ",".join(self.numbers))
        if self.part_numbers:
            parts.append("part-number=" + ",".join(self.part_numbers))
        if self.revision_numbers:
            parts.append("revision=" + ",".join(self.revision_numbers))
        if self.created_after:
            parts.append("created-after=" + iso_utc(self.created_after))
        if self.created_before:
            parts.append("created-before=" + iso_utc(self.created_before))
        if self.search:
            parts.append("search=" + self.search)
        return " ".join(parts)


@dataclass(frozen=True)
class UnitFilters:
    """Selects units through the list endpoint (`GET /v2/units`): what `sync` reads."""

    part_numbers: tuple[str, ...] = ()
    revision_numbers: tuple[str, ...] = ()
    batch_numbers: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None

    def is_empty(self) -> bool:
        return not (
            self.part_numbers
            or self.revision_numbers
            or self.batch_numbers
            or self.created_after
            or self.created_before
        )

    def describe(self) -> str:
        """Short text of the filters, for the sync record and messages ("" for none)."""
        parts: list[str] = []
        if self.part_numbers:
            parts.append("part-number=" + ",".join(self.part_numbers))
        if self.revision_numbers:
            parts.append("revision=" + ",".join(self.revision_numbers))
        if self.batch_numbers:
            parts.append("batch=" + ",".join(self.batch_numbers))
        if self.created_after:
            parts.append("created-after=" + iso_utc(self.created_after))
        if self.created_before:
            parts.append("created-before=" + iso_utc(self.created_before))
        return " ".join(parts)

    def matches(self, unit: Record) -> bool:
        """Whether a unit record is one the filters select (as the endpoint filters)."""
        part = _object(unit.get("part"))
        revision = _object(part.get("revision"))
        batch = _object(unit.get("batch"))

        def among(value: object, wanted: tuple[str, ...]) -> bool:
            return not wanted or str(value or "").casefold() in {w.casefold() for w in wanted}

        if not (
            among(part.get("number"), self.part_numbers)
            and among(revision.get("number"), self.revision_numbers)
            and among(batch.get("number"), self.batch_numbers)
        ):
            return False
        if self.created_after or self.created_before:
            try:
                created = parse_iso(str(unit.get("created_at", "")))
            except ValueError:
                return False
            if self.created_after and created < _utc(self.created_after):
                return False
            if self.created_before and created > _utc(self.created_before):
                return False
        return True


def _object(value: object) -> Record:
    return value if isinstance(value, dict) else {}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def public_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to print and record."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 keeps its brackets
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def mend_text(value: T) -> tuple[T, bool]:
    """`value` with every lone surrogate in its strings replaced by U+FFFD; whether any was.

    The one policy for text from the API that is not Unicode, applied where
    records enter a crawl (`genealogy.Ledger`, `crawl.resolve_batches`): what
    cannot be written is shown as U+FFFD, as a UTF-8 decoder shows bad bytes,
    and the crawl warns. Snapshots keep what the API sent (as `\\ud800`).
    """
    if isinstance(value, str):
        if value.isascii() or not LONE_SURROGATE.search(value):
            return value, False
        return LONE_SURROGATE.sub(REPLACEMENT, value), True  # type: ignore[return-value]
    if isinstance(value, dict):
        mended = False
        result = {}
        for key, item in value.items():
            key, key_mended = mend_text(key)
            item, item_mended = mend_text(item)
            result[key] = item
            mended = mended or key_mended or item_mended
        return (result if mended else value), mended  # type: ignore[return-value]
    if isinstance(value, list):
        items = [mend_text(item) for item in value]
        if any(m for _, m in items):
            return [item for item, _ in items], True  # type: ignore[return-value]
    return value, False


def text_is_sound(source: object) -> bool:
    """Whether a source is known to hold no lone surrogate (a snapshot checks as it loads).

    Not part of the `Source` interface: any other source may hold them.
    """
    return getattr(source, "text_is_sound", False) is True


def full_record_at_hand(source: object, serial: str) -> Record | None:
    """A unit's full record when the source holds it at no cost (a snapshot); else None.

    Not part of the `Source` interface: any other source fetches (`get_unit`).
    """
    at_hand = getattr(source, "full_record_at_hand", None)
    return at_hand(serial) if callable(at_hand) else None


def generated_at() -> str:
    """Now in UTC, ISO 8601 — or `SOURCE_DATE_EPOCH` when set, for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    seconds = int(epoch) if epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def captured_at(source: object) -> str:
    """When a source's data was captured: a snapshot's `captured_at`; "" for a live API.

    Not part of the `Source` interface: a source without it is live.
    """
    value = getattr(source, "captured_at", "")
    return value if isinstance(value, str) else ""


class Source(Protocol):
    """Answers the questions the crawler asks, asynchronously."""

    @property
    def url(self) -> str:
        """The API URL the data comes from (never holds the key)."""
        ...

    async def get_unit(self, serial: str) -> Record:
        """The `GET /v2/units/{serial}` body; `NotFoundError` when absent."""
        ...

    async def get_batch(self, number: str) -> Record:
        """The `GET /v2/batches/{number}` body; `NotFoundError` when absent."""
        ...

    async def find_units(self, serials: Sequence[str]) -> dict[str, Record]:
        """Many units at once, in the list form of `GET /v2/units?serial_numbers=`.

        Keyed by the serial asked for; a serial that does not exist is absent.
        List records name the parent but cap `children` at 10 and carry no
        `created_during`: enough to walk up, not to walk down.
        """
        ...

    def list_batches(self, filters: BatchFilters) -> AsyncIterator[Record]:
        """Every batch summary the filters select, across all pages."""
        ...


class UnitLister(Protocol):
    """A source that can list every unit the filters select: what `sync` reads."""

    @property
    def url(self) -> str: ...

    def list_units(self, filters: UnitFilters) -> AsyncIterator[list[Record]]:
        """The list form of every unit the filters select, a page at a time."""
        ...


def prefetch_capability(source: object) -> Any:
    """A source's `prefetch(seeds, scope, depth)`, when it can answer a whole scope at once.

    Not part of the `Source` interface: a store reads a seed's whole scope with
    one recursive query, so the crawl that follows asks it nothing it must
    look up one level at a time.
    """
    prefetch = getattr(source, "prefetch", None)
    return prefetch if callable(prefetch) else None


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, seconds precision (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (a trailing `Z` allowed); naive means UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment
