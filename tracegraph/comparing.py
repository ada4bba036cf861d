"""The library's diff: what changed between two genealogies, each read from a source.

    import tracegraph

    changes = tracegraph.diff("before.json", "after.json", "EB-0042")
    print(changes.counts)
    tracegraph.write(changes, "changes.svg")

Each side is a snapshot file or any `Source` (the store as of a time is one);
both are crawled the same way (`crawl.crawl_genealogy`), then compared by the
one definition in `diff.compare`.
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tracegraph.crawl import DEFAULT_CONCURRENCY, DEFAULT_MAX_UNITS, crawl_genealogy
from tracegraph.crawl import resolve_batches as batch_members
from tracegraph.diff import (
    WHOLE,
    Added,
    Change,
    Changed,
    Diff,
    FirstSeen,
    Moved,
    Removed,
    Replaced,
    SeenBetween,
    Side,
    compare,
    widened,
)
from tracegraph.errors import NotFoundError, TracegraphError
from tracegraph.genealogy import Genealogy, Progress, Scope, reference_serial, unit_references
from tracegraph.graph import build_graph
from tracegraph.source import (
    BatchFilters,
    Record,
    Source,
    captured_at,
    iso_utc,
    parse_iso,
    public_url,
)
from tracegraph.sources.snapshot import SnapshotSource
from tracegraph.tracing import Connection, SourceLike, describe_serials, open_source, run_sync

if TYPE_CHECKING:  # networkx belongs to graph.py and export/; here it only names a type
    from datetime import datetime

    import networkx as nx

    from tracegraph.sources.store import LinkVersion, Store, SyncRecord, UnitRow, UnitVersion


@dataclass(frozen=True)
class Question:
    """What both sides are asked: the same seeds, scope and depth."""

    serials: tuple[str, ...]
    batches: tuple[str, ...]
    scope: Scope
    depth: int | None
    max_units: int
    concurrency: int
    on_progress: Callable[[Progress], None] | None

    @property
    def whole(self) -> bool:
        return not self.serials and not self.batches

    def label(self) -> str:
        if self.whole:
            return WHOLE
        parts = []
        if self.batches:
            parts.append(describe_serials("batch", list(self.batches), "batches"))
        if self.serials:
            parts.append(describe_serials("unit", list(self.serials)))
        return " and ".join(parts)


@dataclass(frozen=True)
class SideSeeds:
    required: tuple[str, ...]  # typed serials this side holds
    optional: tuple[str, ...]  # members of the batches this side holds
    batches: frozenset[str]  # the batches this side knows


def name_of(source: SourceLike, given: str | None) -> str:
    """What a side is called in every output: the file as given, or the source's own name."""
    if given:
        return given
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "") or "") or public_url(str(getattr(source, "url", "")))


def kind_of(source: Source) -> str:
    kind = getattr(source, "kind", None)
    if isinstance(kind, str) and kind:
        return kind
    return "snapshot" if isinstance(source, SnapshotSource) else "api"


async def _seeds(source: Source, question: Question, name: str) -> SideSeeds:
    if question.whole:
        every = getattr(source, "unit_serials", None)
        if every is None:
            raise TracegraphError(
                f"{name} cannot list every unit it holds; name serial numbers or --batch"
            )
        serials = every()
        if inspect.isawaitable(serials):  # a store may answer asynchronously
            serials = await serials
        return SideSeeds((), tuple(serials), frozenset())
    found = await source.find_units(question.serials) if question.serials else {}
    members: list[str] = []
    known: set[str] = set()
    for number in question.batches:
        try:
            batch = await batch_members(
                source, [number], BatchFilters(), concurrency=question.concurrency
            )
        except NotFoundError:
            continue
        known.add(number)
        members += batch.serials
    present = tuple(s for s in question.serials if s in found)
    return SideSeeds(present, tuple(dict.fromkeys(members)), frozenset(known))


async def _genealogy(
    source: Source,
    required: Sequence[str],
    optional: Sequence[str],
    question: Question,
    label: str,
    depth: int | None,
) -> nx.DiGraph:
    """One side's genealogy, crawled as `unit` and `batch` crawl it."""
    genealogy = await crawl_genealogy(
        source,
        required,
        optional_seeds=optional,
        scope=question.scope,
        max_depth=depth,
        max_units=question.max_units,
        concurrency=question.concurrency,
        on_progress=question.on_progress,
    )
    return build_graph(genealogy, seeds_label=label)


async def _with_parents(
    source: Source, graph: nx.DiGraph, units: Collection[str], question: Question
) -> nx.DiGraph:
    """`graph` with every compared unit this side holds and that unit's parent.

    A unit at the edge of the scope (a `down` seed, a unit of the other side
    only) has its parent outside the genealogy: its record, read in the list
    form, names it, so that a parent is compared as the data says it, whatever
    the scope. The whole of a side needs nothing more: its parents are what
    the side holds.
    """
    if question.whole:
        return graph
    needed = [s for s in sorted(units) if s not in graph]
    needed += [
        s
        for s in sorted(units)
        if s in graph and graph.in_degree(s) == 0 and graph.nodes[s].get("status") == "ok"
    ]
    if not needed:
        return graph
    records = await source.find_units(needed)
    return widened(graph, _around(records, source.url))


def _around(records: dict[str, Record], source_url: str) -> nx.DiGraph:
    """The units of `records` (list form) linked to the parents they name, as a graph."""
    units = {str(body.get("serial_number") or asked): body for asked, body in records.items()}
    parents: dict[str, Record] = {}
    for body in units.values():
        reference = unit_references(body)[0]
        parent = reference_serial(reference)
        if parent and parent not in units and reference is not None:
            parents[parent] = reference  # only a name here: the genealogy has the unit
    known = frozenset(units)
    genealogy = Genealogy(
        units=units,
        missing=parents,
        seeds=(),
        depths={},
        source_url=source_url,
        partial=known,
        listed=known,
        last_runs={serial: body.get("last_run") for serial, body in units.items()},
    )
    return build_graph(genealogy, seeds_label="")


def _check_asked(
    question: Question, old: SideSeeds, new: SideSeeds, names: tuple[str, str]
) -> None:
    """Every serial and batch asked for is on one side at least."""
    sides = f"{names[0]} at either time" if names[0] == names[1] else f"{names[0]} nor {names[1]}"
    for serial in question.serials:
        if serial not in old.required and serial not in new.required:
            raise TracegraphError(f"unit {serial!r} is in neither {sides}")
    for number in question.batches:
        if number not in old.batches and number not in new.batches:
            raise TracegraphError(f"batch {number!r} is in neither {sides}")


def _side(source: Source, name: str, graph: nx.DiGraph, question: Question) -> Side:
    return Side(
        name=name,
        kind=kind_of(source),
        source=public_url(source.url),
        captured_at=captured_at(source),
        as_of=str(getattr(source, "as_of", "") or ""),
        asked=question.label(),
        scope=question.scope.value,
        depth=question.depth,
        units=graph.number_of_nodes(),
        warnings=tuple(graph.graph.get("warnings", ())),
    )


async def diff_sources(
    old: Source,
    new: Source,
    question: Question,
    *,
    names: tuple[str, str],
    first_seen: FirstSeen | None = None,
) -> Diff:
    """The diff of two open sources: crawl both alike, compare, mark NEW's genealogy."""
    label = question.label()
    old_seeds = await _seeds(old, question, names[0])
    new_seeds = await _seeds(new, question, names[1])
    _check_asked(question, old_seeds, new_seeds, names)
    depth = 0 if question.whole else question.depth  # the whole side: its units, as they are
    graphs = []
    for source, seeds in ((old, old_seeds), (new, new_seeds)):
        graph = await _genealogy(source, seeds.required, seeds.optional, question, label, depth)
        graphs.append(graph)
    old_graph, new_graph = graphs
    units = set(old_graph) | set(new_graph)
    old_view = await _with_parents(old, old_graph, units, question)
    new_view = await _with_parents(new, new_graph, units, question)
    warnings = []
    if public_url(old.url) != public_url(new.url):
        warnings.append(
            f"the two sides come from different API URLs: {public_url(old.url) or 'unknown'} "
            f"and {public_url(new.url) or 'unknown'}"
        )
    found = compare(
        old_view,
        new_view,
        _side(old, names[0], old_graph, question),
        _side(new, names[1], new_graph, question),
        units=units,
        first_seen=first_seen,
        warnings=warnings,
    )
    return replace(found, genealogies=(old_graph, new_graph))


async def diff_async(
    old: SourceLike,
    new: SourceLike,
    *serials: str,
    batches: Sequence[str] = (),
    scope: Scope | str = Scope.TREE,
    depth: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    names: tuple[str | None, str | None] = (None, None),
    first_seen: FirstSeen | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Diff:
    """What changed from `old` to `new` (see `diff`)."""
    question = Question(
        tuple(dict.fromkeys(serials)),
        tuple(dict.fromkeys(batches)),
        Scope(scope),
        depth,
        max_units,
        concurrency,
        on_progress,
    )
    connection = Connection(concurrency=concurrency)
    called = (name_of(old, names[0]), name_of(new, names[1]))
    async with (
        open_source(old, connection) as old_source,
        open_source(new, connection) as new_source,
    ):
        return await diff_sources(
            old_source, new_source, question, names=called, first_seen=first_seen
        )


def diff(
    old: SourceLike,
    new: SourceLike,
    *serials: str,
    batches: Sequence[str] = (),
    scope: Scope | str = Scope.TREE,
    depth: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    names: tuple[str | None, str | None] = (None, None),
    first_seen: FirstSeen | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Diff:
    """What changed between two genealogies: added, removed, moved, replaced, changed units.

    `old` and `new` are snapshot files or `Source`s. With serials (or
    `batches`), their genealogies are compared, crawled with `scope` and
    `depth` as `trace` does; a unit is compared when it is in either side's
    genealogy. Without either, every unit of both sides is. `first_seen` (a
    store's lookup) dates each change; `names` replace the sides' names.

        changes = tracegraph.diff("before.json", "after.json", "EB-0042")
        tracegraph.write(changes, "changes.xlsx")
    """
    return run_sync(
        diff_async(
            old,
            new,
            *serials,
            batches=batches,
            scope=scope,
            depth=depth,
            max_units=max_units,
            concurrency=concurrency,
            names=names,
            first_seen=first_seen,
            on_progress=on_progress,
        )
    )


# -- the store at two times ------------------------------------------------------

State = tuple["UnitRow | None", "str | None"]  # a unit at one sync: its attributes, its parent


class StoreFirstSeen:
    """When each change of a store's diff was first seen: the sync between which it happened.

    A change is dated by the first sync after OLD's at which the part of a
    unit it names differs from what OLD's sync held: its parent (`moved`,
    both units of a `replaced`, the later of the two), one attribute
    (`changed`; `status` is whether the store holds the unit), or whether it
    is there and where (`added`, `removed`). A unit added or removed along
    with its parent (nothing of its own changed) is dated by the nearest
    ancestor that did change, up NEW's parents for an addition and OLD's
    for a removal. The version rows are read per unit, when first needed.
    """

    def __init__(self, store: Store, old: SyncRecord, new: SyncRecord) -> None:
        from tracegraph.sources.store import UNIT_FIELDS  # sqlite3, psycopg: only there

        self.store = store
        self.old = old
        self.new = new
        syncs = store.syncs()
        self.window = [s for s in syncs if old.id < s.id <= new.id]
        self.previous = {
            later.id: earlier.finished_at for earlier, later in itertools.pairwise(syncs)
        }
        self.fields = {name: i for i, name in enumerate(UNIT_FIELDS)}
        self._units: dict[str, list[UnitVersion]] = {}
        self._links: dict[str, list[LinkVersion]] = {}

    def _load(self, serials: Collection[str]) -> None:
        wanted = [s for s in serials if s not in self._units]
        if not wanted:
            return
        units, links = self.store.versions(wanted, self.old.id, self.new.id)
        for serial in wanted:
            self._units[serial] = []
            self._links[serial] = []
        for unit in units:
            self._units[unit.serial].append(unit)
        for link in links:
            self._links[link.child].append(link)

    def state(self, serial: str, sync: int) -> State:
        self._load([serial])
        row = next(
            (
                u.row
                for u in self._units[serial]
                if u.valid_from <= sync and (u.valid_to is None or u.valid_to > sync)
            ),
            None,
        )
        parent = next(
            (
                link.parent
                for link in self._links[serial]
                if link.valid_from <= sync and (link.valid_to is None or link.valid_to > sync)
            ),
            None,
        )
        return row, parent

    def first(self, serial: str, part: Callable[[State], object]) -> SyncRecord | None:
        """The first sync of the window at which `part` of the unit differs from OLD's."""
        before = part(self.state(serial, self.old.id))
        for sync in self.window:
            if part(self.state(serial, sync.id)) != before:
                return sync
        return None

    def _structural(self, serial: str, side: int) -> SyncRecord | None:
        """The unit's own arrival or departure, else its nearest ancestor's (at sync `side`)."""
        seen: set[str] = set()
        current: str | None = serial
        while current is not None and current not in seen:
            seen.add(current)
            found = self.first(current, lambda state: (state[0] is not None, state[1]))
            if found is not None:
                return found
            current = self.state(current, side)[1]
        return None

    def _field(self, change: Changed) -> SyncRecord | None:
        if change.field == "status":
            return self.first(change.serial, lambda state: state[0] is not None)
        index = self.fields.get(change.field)
        if index is None:
            return None
        return self.first(change.serial, lambda state: state[0][index] if state[0] else None)

    def sync_of(self, change: Change) -> SyncRecord | None:
        """The first sync that saw `change`."""
        if isinstance(change, Added):
            return self._structural(change.serial, self.new.id)
        if isinstance(change, Removed):
            return self._structural(change.serial, self.old.id)
        if isinstance(change, Moved):
            return self.first(change.serial, lambda state: state[1])
        if isinstance(change, Replaced):
            found = [self.first(s, lambda state: state[1]) for s in (change.removed, change.added)]
            dated = [sync for sync in found if sync is not None]
            return max(dated, key=lambda sync: sync.id) if dated else None
        return self._field(change)

    def __call__(self, change: Change) -> SeenBetween | None:
        sync = self.sync_of(change)
        if sync is None:
            return None
        return SeenBetween(after=self.previous.get(sync.id, ""), at=sync.finished_at)


async def diff_store_async(
    store: str,
    since: str | datetime,
    *serials: str,
    until: str | datetime | None = None,
    batches: Sequence[str] = (),
    scope: Scope | str = Scope.TREE,
    depth: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[Progress], None] | None = None,
) -> Diff:
    """What changed in a store from `since` to `until` (see `diff_store`)."""
    from tracegraph.sources.store import Store, StoreSource  # sqlite3, psycopg: only there

    start = _aware(since)
    end = None if until is None else _aware(until)
    if end is not None and start > end:
        raise TracegraphError(f"--since {moment_text(start)} is after --until {moment_text(end)}")
    question = Question(
        tuple(dict.fromkeys(serials)),
        tuple(dict.fromkeys(batches)),
        Scope(scope),
        depth,
        max_units,
        concurrency,
        on_progress,
    )
    with Store.open(store, create=False) as opened:
        old_sync = opened.sync_as_of(start, "--since")
        new_sync = opened.sync_as_of(end, "--until")
        # One connection for both sides: neither is entered (entering would close it).
        old = StoreSource(opened, old_sync, moment_text(start))
        new = StoreSource(opened, new_sync, moment_text(end) if end is not None else "")
        return await diff_sources(
            old,
            new,
            question,
            names=(opened.target, opened.target),
            first_seen=StoreFirstSeen(opened, old_sync, new_sync),
        )


def _aware(moment: str | datetime) -> datetime:
    """A time as given (ISO 8601 text or a datetime), naive taken as UTC."""
    return parse_iso(moment if isinstance(moment, str) else moment.isoformat())


def moment_text(moment: datetime) -> str:
    """A time asked for, in UTC, to the millisecond when it has one (syncs are that fine)."""
    text = iso_utc(moment)
    return f"{text[:-1]}.{moment.microsecond // 1000:03d}Z" if moment.microsecond else text


def diff_store(
    store: str,
    since: str | datetime,
    *serials: str,
    until: str | datetime | None = None,
    batches: Sequence[str] = (),
    scope: Scope | str = Scope.TREE,
    depth: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[Progress], None] | None = None,
) -> Diff:
    """What changed in a store between two times, each change dated by the sync that first saw it.

    The store as of `since` (ISO 8601 or a datetime) is OLD, as of `until`
    (default: its latest sync) NEW; the rest is `diff`'s. Each change's
    `first_seen` names the two syncs between which it happened.

        changes = tracegraph.diff_store("tracegraph.db", "2026-11-01", "EB-0042")
        tracegraph.write(changes, "changes.xlsx")
    """
    return run_sync(
        diff_store_async(
            store,
            since,
            *serials,
            until=until,
            batches=batches,
            scope=scope,
            depth=depth,
            max_units=max_units,
            concurrency=concurrency,
            on_progress=on_progress,
        )
    )
