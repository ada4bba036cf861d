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
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tracegraph.crawl import DEFAULT_CONCURRENCY, DEFAULT_MAX_UNITS, crawl_genealogy
from tracegraph.crawl import resolve_batches as batch_members
from tracegraph.diff import WHOLE, Diff, FirstSeen, Side, compare, widened
from tracegraph.errors import NotFoundError, TracegraphError
from tracegraph.genealogy import Genealogy, Progress, Scope, reference_serial, unit_references
from tracegraph.graph import build_graph
from tracegraph.source import BatchFilters, Record, Source, captured_at, public_url
from tracegraph.sources.snapshot import SnapshotSource
from tracegraph.tracing import Connection, SourceLike, describe_serials, open_source, run_sync

if TYPE_CHECKING:  # networkx belongs to graph.py and export/; here it only names a type
    import networkx as nx


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
    for serial in question.serials:
        if serial not in old.required and serial not in new.required:
            raise TracegraphError(f"unit {serial!r} is in neither {names[0]} nor {names[1]}")
    for number in question.batches:
        if number not in old.batches and number not in new.batches:
            raise TracegraphError(f"batch {number!r} is in neither {names[0]} nor {names[1]}")


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
