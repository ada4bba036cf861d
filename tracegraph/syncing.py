"""`tracegraph sync`: read a workspace's units through the list endpoint into a store.

One pass of `GET /v2/units` in pages of 100 (as many in flight as the API
client allows), oldest first; then every parent or child the pages named but
did not hold, in pages too (a unit deleted mid-pass shifts the offsets and
hides one from the pass); then, in full, the units whose creating run a live
crawl would read (`GET /v2/units/{serial}`: those listing 10 children or more,
and top-level units with children), unless the store has that run already.
What was seen is written as one transaction (`Store.record_sync`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracegraph.errors import NotFoundError, RefusedError
from tracegraph.genealogy import Progress, reference_serial, unit_references, unsound_text_warning
from tracegraph.graph import last_run_attributes, unit_attributes
from tracegraph.source import (
    LIST_CHILDREN_CAP,
    Record,
    Source,
    UnitFilters,
    iso_utc,
    mend_text,
)
from tracegraph.sources.store import (
    UNIT_FIELDS,
    Observation,
    Store,
    SyncRecord,
    UnitRow,
    filters_text,
)


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: its row in the store and the warnings of the data."""

    sync: SyncRecord
    warnings: tuple[str, ...]

    def summary(self) -> str:
        s = self.sync
        return (
            f"sync {s.id}: {s.seen} units seen, {s.added} added, {s.changed} changed, "
            f"{s.gone} gone, {s.links_changed} links changed; {s.requests} requests "
            f"in {s.seconds:.2f} s"
        )


def unit_row(record: Record, run: tuple[str, str] | None = None) -> UnitRow:
    """A unit's stored attributes from its list form (and its creating run, when read)."""
    attributes = {**unit_attributes(record), **last_run_attributes(record.get("last_run"))}
    outcome, procedure = run if run is not None else ("", "")
    attributes.update(outcome=outcome, procedure=procedure, full_record="1" if run else "0")
    return tuple(attributes[name] for name in UNIT_FIELDS)


def _covers(filters: UnitFilters) -> Callable[[dict[str, str]], bool] | None:
    """Which stored units a filtered sync speaks for: those not seen among them are gone."""
    if filters.is_empty():
        return None

    def covered(fields: dict[str, str]) -> bool:
        record: Record = {
            "part": {"number": fields["part_number"], "revision": {"number": fields["revision"]}},
            "batch": {"number": fields["batch"]},
            "created_at": fields["created_at"],
        }
        return filters.matches(record)

    return covered


_RUN = (UNIT_FIELDS.index("outcome"), UNIT_FIELDS.index("procedure"))
_FULL = UNIT_FIELDS.index("full_record")


class _Pass:
    """What one sync reads, kept compact as pages arrive: a row and a parent a unit.

    Only the text the store keeps is mended (the one policy of
    `source.mend_text`, with a warning naming the unit): walking whole records
    cost a second a 10,000 units, and keeping them cost memory.
    """

    def __init__(self, source: Any, concurrency: int) -> None:
        self.source = source
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.rows: dict[str, UnitRow] = {}
        self.parents: dict[str, str] = {}  # child -> parent
        self.in_full: set[str] = set()  # units whose creating run a live crawl reads
        self.named: set[str] = set()  # serials pages referred to
        self.requests = 0
        self.warnings: list[str] = []

    def take(self, records: list[Record]) -> None:
        for record in records:
            named = reference_serial(record)
            if not named:
                continue
            serial, mended = mend_text(named)
            if serial in self.rows:
                continue  # a page shifted by a deletion repeats a unit
            row = unit_row(record)
            mended_row = False
            if not all(value.isascii() for value in row):  # the common case costs one pass
                values = [mend_text(value) for value in row]
                row = tuple(value for value, _ in values)
                mended_row = any(changed for _, changed in values)
            self.rows[serial] = row
            parent, children = unit_references(record)
            for reference in [parent, *children] if parent else children:
                relative = reference_serial(reference)
                if relative:
                    self.named.add(relative)
            parent_serial = reference_serial(parent)
            if parent_serial:
                self.parents[serial], mended_parent = mend_text(parent_serial)
                mended = mended or mended_parent
            if len(children) >= LIST_CHILDREN_CAP or (parent is None and children):
                self.in_full.add(serial)
            if mended or mended_row:
                self.warnings.append(unsound_text_warning(f"unit {serial!r}"))

    async def absent(self) -> None:
        """The units pages named but did not hold, looked up in pages."""
        known = {s.casefold() for s in self.rows}
        wanted = sorted(s for s in self.named if s.casefold() not in known)
        if wanted:
            self.requests += -(-len(wanted) // 100)
            found = await self.source.find_units(wanted)
            asked = set(wanted)
            self.take([r for s, r in sorted(found.items()) if s in asked])
        self.named.clear()

    def on_cycles(self) -> set[str]:
        """Units whose parents lead round in a circle: the walk up reads them as tops."""
        settled: set[str] = set()
        looped: set[str] = set()
        for start in self.parents:
            path: list[str] = []
            seen: set[str] = set()
            current: str | None = start
            while current is not None and current not in settled and current not in seen:
                seen.add(current)
                path.append(current)
                current = self.parents.get(current)
            if current is not None and current in seen:
                looped.update(path[path.index(current) :])
            settled.update(path)
        return looped

    async def unseen(self, candidates: list[str]) -> None:
        """Units the store holds that the pages did not: asked for, in pages, before any is
        marked gone. A deletion mid-read shifts the offsets past one; a unit that left a
        filter (its batch changed) still exists; the children of a unit listing 10 or more
        were never all named."""
        known = {s.casefold() for s in self.rows}
        wanted = sorted(s for s in candidates if s.casefold() not in known)
        if wanted:
            self.requests += -(-len(wanted) // 100)
            found = await self.source.find_units(wanted)
            asked = set(wanted)
            self.take([r for s, r in sorted(found.items()) if s in asked])

    async def creating_runs(self, known: dict[str, tuple[str, str]]) -> None:
        """Each unit's creating run where a live crawl reads it (see the module): from the
        store when it has it, else `GET /v2/units/{serial}`."""
        self.in_full |= self.on_cycles() & self.rows.keys()
        wanted = sorted(s for s in self.in_full if s not in known)

        async def fetch(serial: str) -> tuple[str, tuple[str, str] | None]:
            async with self.slots:
                self.requests += 1
                try:
                    body = await self.source.get_unit(serial)
                except (NotFoundError, RefusedError):
                    return serial, None
            run = body.get("created_during") if isinstance(body, dict) else None
            attributes = unit_attributes({"created_during": run})
            outcome, procedure = attributes["outcome"], attributes["procedure"]
            return serial, (mend_text(outcome)[0], mend_text(procedure)[0])

        runs = {s: known[s] for s in self.in_full if s in known}
        runs.update((s, run) for s, run in await asyncio.gather(*map(fetch, wanted)) if run)
        for serial, (outcome, procedure) in runs.items():
            row = list(self.rows[serial])
            row[_RUN[0]], row[_RUN[1]], row[_FULL] = outcome, procedure, "1"
            self.rows[serial] = tuple(row)


async def sync_store(
    source: Source,
    store: Store,
    filters: UnitFilters = UnitFilters(),  # noqa: B008 (frozen, so a shared default is safe)
    *,
    concurrency: int = 16,
    requests_sent: Callable[[], int] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> SyncResult:
    """Read the units `filters` select from `source` and record them in `store`."""
    started, clock = generated_at_now(), time.monotonic()
    reading = _Pass(source, concurrency)
    async for page in source.list_units(filters):  # type: ignore[attr-defined]
        reading.requests += 1
        reading.take(page)
        if on_progress is not None:
            on_progress(Progress(len(reading.rows), 0, 0, reading.requests))
    await reading.absent()
    covers = _covers(filters)
    await reading.unseen(
        [s for s, fields in store.current_fields().items() if covers is None or covers(fields)]
    )
    await reading.creating_runs(store.creating_runs())
    requests = requests_sent() if requests_sent is not None else reading.requests
    record, _ = store.record_sync(
        Observation(reading.rows, reading.parents, covers),
        started_at=started,
        finished_at=generated_at_now(),
        source=source.url,
        filters=filters_text(_filters_fields(filters)),
        requests=requests,
        seconds=time.monotonic() - clock,
    )
    return SyncResult(record, tuple(dict.fromkeys(reading.warnings)))


def generated_at_now() -> str:
    """Now in UTC to the millisecond: a sync is stamped with real time, never with
    `SOURCE_DATE_EPOCH` (that pins outputs), finely enough to tell syncs apart."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def _filters_fields(filters: UnitFilters) -> dict[str, object]:
    fields: dict[str, object] = {}
    for name in ("part_numbers", "revision_numbers", "batch_numbers"):
        if getattr(filters, name):
            fields[name] = list(getattr(filters, name))
    for name in ("created_after", "created_before"):
        if getattr(filters, name):
            fields[name] = iso_utc(getattr(filters, name))
    return fields
