"""Crawling unit genealogy from seed units: the entry point and the unit-by-unit crawl.

`crawl_genealogy` picks the way to crawl for a scope. In bulk (the default)
every scope goes a level at a time through the list endpoint: down and the
whole tree in `walk_levels.LevelWalk`, up in `walk_up.WalkUp`. Unit by unit
(`bulk=False`, and what a server without the list endpoint gets in effect)
goes through `_Crawl`. All keep what they learn in one `Ledger`.

All of `_Crawl`'s state lives in one object driven by a single loop: fetches
run concurrently (at most `concurrency` in flight), but every decision about
what to fetch next is made in one place, so no unit is fetched twice and no
lock is needed.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tracegraph.errors import (
    NotFoundError,
    RefusedError,
    SourceError,
    TracegraphError,
)
from tracegraph.genealogy import (
    Genealogy,
    Ledger,
    Progress,
    Scope,
    reference_serial,
    unit_references,
    unsound_text_warning,
)
from tracegraph.heap import collector_paused
from tracegraph.source import (
    BatchFilters,
    Record,
    Source,
    captured_at,
    mend_text,
    prefetch_capability,
    text_is_sound,
)
from tracegraph.sources.snapshot import SnapshotSource
from tracegraph.walk_levels import LevelWalk, pages, too_many
from tracegraph.walk_up import WalkUp

DEFAULT_MAX_UNITS = 100_000
DEFAULT_CONCURRENCY = 16

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_UNITS",
    "BatchSeeds",
    "Genealogy",
    "Progress",
    "Scope",
    "crawl_genealogy",
    "resolve_batches",
]


class _Way(enum.Enum):
    UP = "up"
    DOWN = "down"
    BOTH = "both"


_WAYS = {
    Scope.TREE: (_Way.BOTH,),
    Scope.LINEAGE: (_Way.UP, _Way.DOWN),
    Scope.UP: (_Way.UP,),
    Scope.DOWN: (_Way.DOWN,),
}


class _Crawl:
    """Unit by unit, breadth-first from the seeds, going the given ways."""

    def __init__(
        self,
        source: Source,
        ledger: Ledger,
        ways: tuple[_Way, ...],
        max_depth: int | None,
        max_units: int,
        concurrency: int,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.ways = ways
        self.max_depth = max_depth
        self.max_units = max_units
        self.concurrency = max(1, concurrency)
        self.on_progress = on_progress
        self.reach: dict[_Way, dict[str, int]] = {way: {} for way in _Way}
        self.requested: set[str] = set()
        self.asked_as: dict[str, str] = {}  # casefolded serial -> the spelling reached first
        self.queue: deque[str] = deque()

    def seed(self, serials: Iterable[str]) -> None:
        for serial in serials:
            for way in self.ways:
                self._reach(serial, way, 0)

    def _reach(self, serial: str, way: _Way, depth: int) -> None:
        """Record that `serial` is `depth` links away going `way`; fetch or re-expand it."""
        pending = [(serial, way, depth)]
        while pending:
            serial, way, depth = pending.pop()
            best = self.reach[way].get(serial)
            if best is not None and best <= depth:
                continue
            self.reach[way][serial] = depth
            if serial not in self.requested:
                if len(self.requested) >= self.max_units:
                    raise too_many(self.max_units)
                self.requested.add(serial)
                self.queue.append(serial)
            elif serial in self.ledger.units:
                pending.extend(self._neighbours(serial, way))

    def _neighbours(self, serial: str, way: _Way) -> list[tuple[str, _Way, int]]:
        depth = self.reach[way][serial]
        if self.max_depth is not None and depth >= self.max_depth:
            return []
        parent, children = unit_references(self.ledger.units[serial])
        found = []
        if parent is not None and way in (_Way.UP, _Way.BOTH):
            found.append(parent)
        if way in (_Way.DOWN, _Way.BOTH):
            found.extend(children)
        neighbours = []
        for reference in found:
            relative = self._spelling(reference_serial(reference) or "")
            self.ledger.named(relative, serial, reference)
            neighbours.append((relative, way, depth + 1))
        return neighbours

    def _spelling(self, serial: str) -> str:
        """The spelling `serial` is known or being fetched under (the API ignores case)."""
        serial = self.ledger.canonical(serial)
        return self.asked_as.setdefault(serial.casefold(), serial)

    def _fetched(self, serial: str, unit: Record) -> None:
        canonical = self.ledger.record(serial, unit, full=True)
        if canonical is None:
            return  # another unit's record: set aside, the unit stays missing
        if canonical != serial:
            # The API matched a differently written serial (case): key the unit
            # by its own serial so that references from other units meet it.
            moved = {way: d.pop(serial) for way, d in self.reach.items() if serial in d}
            self.requested.add(canonical)
            for way, depth in moved.items():
                self._reach(canonical, way, depth)
            return
        for way in _Way:
            if serial in self.reach[way]:
                for neighbour in self._neighbours(serial, way):
                    self._reach(*neighbour)

    async def _fetch(self, serial: str) -> Record:
        self.ledger.requests += 1
        return await self.source.get_unit(serial)

    def _take(self, serial: str, task: asyncio.Task[Record]) -> None:
        try:
            self._fetched(serial, task.result())
        except (NotFoundError, RefusedError) as error:
            if error.kind != "unit":
                raise
            self.ledger.not_found(serial, error)

    def _run_at_once(self, source: SnapshotSource) -> None:
        """The crawl of a snapshot: every answer is there at once, so no task per unit."""
        with collector_paused():
            while self.queue:
                serial = self.queue.popleft()
                self.ledger.requests += 1
                try:
                    unit = source.unit_now(serial)
                except (NotFoundError, RefusedError) as error:
                    self.ledger.not_found(serial, error)
                else:
                    self._fetched(serial, unit)
        if self.on_progress is not None:
            found = len(self.ledger.units) + len(self.ledger.missing)
            self.on_progress(Progress(found, 0, 0, self.ledger.requests))

    async def run(self) -> None:
        if type(self.source) is SnapshotSource:  # not a subclass that answers otherwise
            self._run_at_once(self.source)
            return
        in_flight: dict[asyncio.Task[Record], str] = {}
        try:
            while self.queue or in_flight:
                while self.queue and len(in_flight) < self.concurrency:
                    serial = self.queue.popleft()
                    in_flight[asyncio.ensure_future(self._fetch(serial))] = serial
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: in_flight[t]):
                    self._take(in_flight.pop(task), task)
                if self.on_progress is not None:
                    found = len(self.ledger.units) + len(self.ledger.missing)
                    queued, requests = len(self.queue), self.ledger.requests
                    self.on_progress(Progress(found, len(in_flight), queued, requests))
        finally:
            # One failed request fails the crawl: a partial genealogy must not
            # pass for a whole one, so the requests still running are cancelled.
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    def depths(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for way_depths in self.reach.values():
            for serial, depth in way_depths.items():
                result[serial] = min(depth, result.get(serial, depth))
        return result


async def crawl_genealogy(
    source: Source,
    seeds: Sequence[str],
    *,
    scope: Scope = Scope.TREE,
    max_depth: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    optional_seeds: Sequence[str] = (),
    on_progress: Callable[[Progress], None] | None = None,
    bulk: bool = True,
    full_records: bool = False,
) -> Genealogy:
    """Crawl the genealogy of `seeds` and `optional_seeds` through `source`.

    A seed that does not exist raises `NotFoundError` (a serial the user
    typed); an optional seed (a unit listed in a batch) that does not exist
    becomes, like any referenced unit that answers 404, a missing unit with a
    warning, and the crawl goes on.

    With `bulk` (the default), every scope goes through the list endpoint a
    level at a time (`walk_levels`, and `walk_up` for the way up): the same
    units and links in far fewer requests. Units read only in list form carry
    their latest run (`last_run`) but not the run that created them
    (`created_during`); `full_records` fetches every unit in full as well.
    `bulk=False` fetches every unit in full, one request each, then reads the
    latest runs through the list, so that both ways give the same graph.
    """
    if max_depth is not None and max_depth < 0:
        raise TracegraphError("--depth must be 0 or more")
    ledger = Ledger(required=seeds, mend=not text_is_sound(source))
    every_seed = tuple(dict.fromkeys([*seeds, *optional_seeds]))
    depths: dict[str, int] = {}
    prefetch = prefetch_capability(source)
    if prefetch is not None:
        await prefetch(every_seed, scope.value, max_depth)

    def reached(found: dict[str, int]) -> None:
        for serial, depth in found.items():
            depths[serial] = min(depth, depths.get(serial, depth))

    if bulk:
        if scope in (Scope.UP, Scope.LINEAGE):
            walk = WalkUp(
                source, ledger, max_depth, max_units, concurrency, on_progress, full_records
            )
            await walk.run(every_seed)
            reached(walk.depths)
        if scope is not Scope.UP:
            down = LevelWalk(
                source,
                ledger,
                upward=scope is Scope.TREE,
                max_depth=max_depth,
                max_units=max_units,
                concurrency=concurrency,
                on_progress=on_progress,
                full_records=full_records,
            )
            await down.run(every_seed)
            reached(down.depths)
    else:
        crawl = _Crawl(source, ledger, _WAYS[scope], max_depth, max_units, concurrency, on_progress)
        crawl.seed(every_seed)
        await crawl.run()
        reached(crawl.depths())
        await _latest_runs(source, ledger)
    genealogy = ledger.genealogy(
        every_seed,
        depths,
        scope,
        source.url,
        captured_at=captured_at(source),
        max_depth=max_depth,
    )
    provenance = getattr(source, "provenance", None)
    if isinstance(provenance, dict):
        genealogy.provenance = dict(provenance)
    return genealogy


async def _latest_runs(source: Source, ledger: Ledger) -> None:
    """The latest run of every unit read in full, from its list form (`last_run`)."""
    serials = sorted(ledger.units)
    if not serials:
        return
    ledger.requests += pages(len(serials))
    found = await source.find_units(serials)
    for asked, record in ledger.listed(serials, found):
        ledger.record(asked, record, full=False)


@dataclass(frozen=True)
class BatchSeeds:
    """The batches a `batch` or `impact` command selected, and their units."""

    batches: tuple[str, ...]
    serials: tuple[str, ...]
    warnings: tuple[str, ...] = ()


async def resolve_batches(
    source: Source,
    numbers: Sequence[str],
    filters: BatchFilters,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> BatchSeeds:
    """Every unit of the named batches and of the batches the filters select."""
    wanted = list(dict.fromkeys(numbers))
    if not filters.is_empty():
        listed = [
            mend_text(str(b.get("number", "")))[0]  # the body's own number warns, below
            async for b in source.list_batches(filters)
            if isinstance(b, dict)
        ]
        folded = {n.casefold() for n in wanted}
        wanted += [n for n in dict.fromkeys(listed) if n and n.casefold() not in folded]
    if not wanted:
        raise NotFoundError("batch matching", filters.describe() or "(no filter)", source.url)
    slots = asyncio.Semaphore(max(1, concurrency))

    async def fetch(number: str) -> Record:
        async with slots:
            return await source.get_batch(number)

    bodies: list[Record] = []
    warnings: list[str] = []
    serials: dict[str, None] = {}
    for number, body in zip(wanted, await asyncio.gather(*map(fetch, wanted)), strict=True):
        body, mended = mend_text(body)
        if mended:
            warnings.append(unsound_text_warning(f"batch {str(body.get('number', number))!r}"))
        bodies.append(body)
        units = body.get("units")
        if not isinstance(units, list):
            raise SourceError(f"batch {number!r} from {source.url} has no list of units")
        for unit in units:
            serial = reference_serial(unit)
            if serial:
                serials[serial] = None
    return BatchSeeds(
        batches=tuple(str(b.get("number", n)) for b, n in zip(bodies, wanted, strict=True)),
        serials=tuple(serials),
        warnings=tuple(warnings),
    )
