"""Breadth-first, concurrent crawl of unit genealogy from seed units.

All crawl state lives in one `_Crawl` object driven by a single loop: fetches
run concurrently (at most `concurrency` in flight), but every decision about
what to fetch next is made in one place, so no unit is fetched twice and no
lock is needed.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tracegraph.errors import (
    CrawlLimitError,
    NotFoundError,
    RefusedError,
    SourceError,
    TracegraphError,
)
from tracegraph.source import LIST_CHILDREN_CAP, BatchFilters, Record, Source

DEFAULT_MAX_UNITS = 100_000
DEFAULT_CONCURRENCY = 16


class Scope(str, enum.Enum):
    """Which relatives of the seeds a crawl follows."""

    TREE = "tree"  # the whole genealogy tree: parents and children of every unit reached
    LINEAGE = "lineage"  # ancestors and descendants of the seeds only
    UP = "up"  # ancestors only (where-used)
    DOWN = "down"  # descendants only (as-built)


class _Way(enum.Enum):
    UP = "up"
    DOWN = "down"
    BOTH = "both"


@dataclass(frozen=True)
class Progress:
    """How far a crawl has come, for a progress line."""

    fetched: int
    in_flight: int
    queued: int


@dataclass(repr=False)
class Genealogy:
    """What a crawl found: unit records, units that answered 404, and how they were reached."""

    units: dict[str, Record]
    missing: dict[str, Record]  # serial -> the reference that named it ({} for a seed)
    seeds: tuple[str, ...]
    depths: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    source_url: str = ""
    scope: Scope = Scope.TREE
    requests: int = 0
    # Units known only in the list endpoint's form with `children` cut at 10.
    partial: frozenset[str] = frozenset()
    # Serials as referenced or typed -> as the API spells them (case).
    aliases: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # asyncio formats the result of a finished task with repr(): keep it short.
        return (
            f"Genealogy({len(self.units)} units, {len(self.missing)} missing, "
            f"{len(self.warnings)} warnings, scope={self.scope.value})"
        )


def reference_serial(reference: object) -> str | None:
    """The serial number in a parent/child reference, or None when there is none."""
    if isinstance(reference, dict):
        serial = reference.get("serial_number")
        if isinstance(serial, str) and serial:
            return serial
    return None


def unit_references(unit: Record) -> tuple[Record | None, list[Record]]:
    """A unit's parent reference and child references, tolerating odd shapes."""
    parent = unit.get("parent")
    children = unit.get("children") or []
    return (
        parent if reference_serial(parent) else None,
        [c for c in children if reference_serial(c)] if isinstance(children, list) else [],
    )


def missing_warning(serial: str, referrer: str | None, error: NotFoundError | RefusedError) -> str:
    """The warning for a unit that is named somewhere but cannot be had."""
    where = f"referenced by {referrer!r}" if referrer else "listed in a batch"
    if isinstance(error, RefusedError):
        return f"unit {serial!r} is {where} but the API refuses it ({error.reason})"
    return f"unit {serial!r} is {where} but does not exist (404)"


class _Crawl:
    def __init__(
        self,
        source: Source,
        scope: Scope,
        max_depth: int | None,
        max_units: int,
        concurrency: int,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.source = source
        self.scope = scope
        self.max_depth = max_depth
        self.max_units = max_units
        self.concurrency = max(1, concurrency)
        self.on_progress = on_progress
        self.reach: dict[_Way, dict[str, int]] = {way: {} for way in _Way}
        self.requested: set[str] = set()
        self.queue: deque[str] = deque()
        self.units: dict[str, Record] = {}
        self.missing: dict[str, Record] = {}
        self.references: dict[str, Record] = {}
        self.referrers: dict[str, str] = {}
        self.warnings: list[str] = []
        self.required: set[str] = set()
        self.aliases: dict[str, str] = {}
        self.requests = 0

    def seed(self, serials: Iterable[str], required: bool) -> None:
        ways = {
            Scope.TREE: (_Way.BOTH,),
            Scope.LINEAGE: (_Way.UP, _Way.DOWN),
            Scope.UP: (_Way.UP,),
            Scope.DOWN: (_Way.DOWN,),
        }[self.scope]
        for serial in serials:
            if required:
                self.required.add(serial)
            for way in ways:
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
                    raise CrawlLimitError(
                        f"the genealogy grows past --max-units {self.max_units} units; "
                        "narrow it with --scope or --depth, or raise --max-units"
                    )
                self.requested.add(serial)
                self.queue.append(serial)
            elif serial in self.units:
                pending.extend(self._neighbours(serial, way))

    def _neighbours(self, serial: str, way: _Way) -> list[tuple[str, _Way, int]]:
        depth = self.reach[way][serial]
        if self.max_depth is not None and depth >= self.max_depth:
            return []
        parent, children = unit_references(self.units[serial])
        found: list[tuple[str, _Way, int]] = []
        if parent is not None and way in (_Way.UP, _Way.BOTH):
            found.append(self._note(parent, serial, way, depth + 1))
        if way in (_Way.DOWN, _Way.BOTH):
            found.extend(self._note(child, serial, way, depth + 1) for child in children)
        return found

    def _note(
        self, reference: Record, referrer: str, way: _Way, depth: int
    ) -> tuple[str, _Way, int]:
        serial = reference_serial(reference) or ""
        self.references.setdefault(serial, reference)
        self.referrers.setdefault(serial, referrer)
        return (serial, way, depth)

    def _fetched(self, serial: str, unit: Record) -> None:
        canonical = unit.get("serial_number")
        if isinstance(canonical, str) and canonical and canonical != serial:
            # The API matched a differently written serial (case): key the unit
            # by its own serial so that references from other units meet it.
            self.aliases[serial] = canonical
            moved = {way: d.pop(serial) for way, d in self.reach.items() if serial in d}
            self.requested.add(canonical)
            self.units.setdefault(canonical, unit)
            for way, depth in moved.items():
                self._reach(canonical, way, depth)
            return
        self.units[serial] = unit
        for way in _Way:
            if serial in self.reach[way]:
                for neighbour in self._neighbours(serial, way):
                    self._reach(*neighbour)

    def _not_found(self, serial: str, error: NotFoundError | RefusedError) -> None:
        if serial in self.required:
            raise error
        self.missing[serial] = self.references.get(serial, {})
        self.warnings.append(missing_warning(serial, self.referrers.get(serial), error))

    async def _fetch(self, serial: str) -> Record:
        self.requests += 1
        return await self.source.get_unit(serial)

    async def run(self) -> None:
        in_flight: dict[asyncio.Task[Record], str] = {}
        try:
            while self.queue or in_flight:
                while self.queue and len(in_flight) < self.concurrency:
                    serial = self.queue.popleft()
                    in_flight[asyncio.ensure_future(self._fetch(serial))] = serial
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: in_flight[t]):
                    serial = in_flight.pop(task)
                    try:
                        self._fetched(serial, task.result())
                    except (NotFoundError, RefusedError) as error:
                        if error.kind != "unit":
                            raise
                        self._not_found(serial, error)
                if self.on_progress is not None:
                    self.on_progress(
                        Progress(
                            len(self.units) + len(self.missing), len(in_flight), len(self.queue)
                        )
                    )
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
                if serial in self.units or serial in self.missing:
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
) -> Genealogy:
    """Crawl the genealogy of `seeds` and `optional_seeds` through `source`.

    A seed that does not exist raises `NotFoundError` (a serial the user
    typed); an optional seed (a unit listed in a batch) that does not exist
    becomes, like any referenced unit that answers 404, a missing unit with a
    warning, and the crawl goes on.
    """
    if max_depth is not None and max_depth < 0:
        raise TracegraphError("--depth must be 0 or more")
    crawl = _Crawl(source, scope, max_depth, max_units, concurrency, on_progress)
    unique_seeds = tuple(dict.fromkeys([*seeds, *optional_seeds]))
    crawl.seed(dict.fromkeys(seeds), required=True)
    crawl.seed(dict.fromkeys(optional_seeds), required=False)
    await crawl.run()
    canonical = tuple(dict.fromkeys(crawl.aliases.get(s, s) for s in unique_seeds))
    return Genealogy(
        units=crawl.units,
        missing=crawl.missing,
        seeds=canonical,
        depths=crawl.depths(),
        warnings=crawl.warnings,
        source_url=source.url,
        scope=scope,
        requests=crawl.requests,
        aliases=crawl.aliases,
    )


async def trace_up(
    source: Source,
    seeds: Sequence[str],
    *,
    optional_seeds: Sequence[str] = (),
    max_units: int = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[Progress], None] | None = None,
) -> Genealogy:
    """The seeds and all their ancestors, looked up a level at a time in bulk.

    The same units as `crawl_genealogy(..., scope=Scope.UP)`, in far fewer
    requests: each level goes through the list endpoint, up to 100 units a
    request. A serial the list does not return is asked for on its own before
    it counts as missing. The list form carries no `created_during`, so the
    top-level unit above each seed is then fetched in full (and, for a top
    that does not exist, the unit that names it, for the part it names).
    """
    required = set(seeds)
    all_seeds = tuple(dict.fromkeys([*seeds, *optional_seeds]))
    units: dict[str, Record] = {}
    missing: dict[str, Record] = {}
    depths: dict[str, int] = dict.fromkeys(all_seeds, 0)
    referrers: dict[str, tuple[str, Record]] = {}
    aliases: dict[str, str] = {}
    warnings: list[str] = []
    full: set[str] = set()
    lookups = 0
    slots = asyncio.Semaphore(max(1, concurrency))

    def report() -> None:
        if on_progress is not None:
            on_progress(Progress(len(units) + len(missing), 0, len(level)))

    async def fetch_one(serial: str) -> Record | NotFoundError | RefusedError:
        nonlocal lookups
        async with slots:
            lookups += 1
            try:
                return await source.get_unit(serial)
            except (NotFoundError, RefusedError) as error:
                return error

    level = list(all_seeds)
    while level:
        if len(depths) > max_units:
            raise CrawlLimitError(
                f"the genealogy grows past --max-units {max_units} units; raise --max-units"
            )
        found = dict(await source.find_units(level))
        lookups += 1
        absent = [s for s in level if s not in found]
        for serial, answer in zip(
            absent, await asyncio.gather(*map(fetch_one, absent)), strict=True
        ):
            if isinstance(answer, dict):
                found[serial] = answer
                full.add(reference_serial(answer) or serial)
            elif serial in required:
                raise answer
            else:
                referrer, reference = referrers.get(serial, ("", {}))
                missing[serial] = reference
                warnings.append(missing_warning(serial, referrer, answer))
        upper: list[str] = []
        for serial in level:
            record = found.get(serial)
            if record is None:
                continue
            canonical = reference_serial(record) or serial
            if canonical != serial:
                aliases[serial] = canonical
                depth = depths.pop(serial)
                depths[canonical] = min(depth, depths.get(canonical, depth))
            units.setdefault(canonical, record)
            parent = record.get("parent")
            parent_serial = reference_serial(parent)
            if parent_serial and parent_serial not in depths:
                depths[parent_serial] = depths[canonical] + 1
                referrers[parent_serial] = (canonical, parent if isinstance(parent, dict) else {})
                upper.append(parent_serial)
        level = upper
        report()

    tops = {top for s in all_seeds for top in _walk_up(aliases.get(s, s), units, aliases)}
    loose = {
        s for s in tops if s in units and depths.get(s) == 0 and not unit_references(units[s])[1]
    }
    wanted = sorted(s for s in tops - loose - full if s in units)
    namers = sorted({referrers[s][0] for s in tops if s in missing and s in referrers})
    answers = await asyncio.gather(*map(fetch_one, [*wanted, *namers]))
    for serial, answer in zip([*wanted, *namers], answers, strict=True):
        if not isinstance(answer, dict):
            continue  # the list form stays: the unit is there, its full record is not
        units[serial] = answer
        full.add(serial)
        parent = answer.get("parent")
        named = aliases.get(reference_serial(parent) or "", reference_serial(parent) or "")
        if named in missing and isinstance(parent, dict):
            missing[named] = parent
    report()
    partial = {
        s
        for s, u in units.items()
        if s not in full and len(unit_references(u)[1]) >= LIST_CHILDREN_CAP
    }
    return Genealogy(
        units=units,
        missing=missing,
        seeds=tuple(dict.fromkeys(aliases.get(s, s) for s in all_seeds)),
        depths=depths,
        warnings=warnings,
        source_url=source.url,
        scope=Scope.UP,
        requests=lookups,
        partial=frozenset(partial),
        aliases=aliases,
    )


def _walk_up(serial: str, units: dict[str, Record], aliases: dict[str, str]) -> set[str]:
    """Where following parent references ends: the top unit, or every unit of a cycle."""
    path = [serial]
    while path[-1] in units:
        parent = reference_serial(units[path[-1]].get("parent"))
        parent = aliases.get(parent or "", parent)
        if not parent:
            break
        if parent in path:
            return set(path[path.index(parent) :])
        path.append(parent)
    return {path[-1]}


@dataclass(frozen=True)
class BatchSeeds:
    """The batches a `batch` or `impact` command selected, and their units."""

    batches: tuple[str, ...]
    serials: tuple[str, ...]


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
            str(b.get("number", ""))
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

    bodies = await asyncio.gather(*(fetch(n) for n in wanted))
    serials: dict[str, None] = {}
    for number, body in zip(wanted, bodies, strict=True):
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
    )
