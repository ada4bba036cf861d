"""The library's front door: trace a genealogy, trace a recall, write the result.

    import tracegraph

    graph = tracegraph.trace("DRN-X1-0001", source="samples/factory.json")
    tracegraph.write(graph, "genealogy.svg")

Every call has an async twin (`trace_async`, `impact_async`) for code that
runs an event loop; the sync ones also work when called from inside one
(Jupyter), by running the crawl in a thread of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tracegraph.crawl import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_UNITS,
    crawl_genealogy,
    resolve_batches,
)
from tracegraph.diff import Diff
from tracegraph.errors import TracegraphError
from tracegraph.export import ExportOptions, diff_format_for, export_diff, export_with, format_for
from tracegraph.files import write_atomically
from tracegraph.genealogy import Genealogy, Progress, Scope, unit_references
from tracegraph.graph import build_graph
from tracegraph.history import History, read_history
from tracegraph.impact import ImpactReport, analyse_impact, mark_impact
from tracegraph.redact import Redactor
from tracegraph.source import (
    DEFAULT_API_URL,
    BatchFilters,
    Source,
    UnitFilters,
    iso_utc,
    parse_iso,
)
from tracegraph.sources.snapshot import SnapshotSource

if TYPE_CHECKING:  # networkx belongs to graph.py and export/; here it only names a type
    import networkx as nx

    from tracegraph.syncing import SyncResult

T = TypeVar("T")
Filters = BatchFilters | Mapping[str, Any] | None
SourceLike = Source | str | os.PathLike[str] | None
IMPACT_SCOPES = (Scope.UP, Scope.LINEAGE, Scope.TREE)


@dataclasses.dataclass(frozen=True)
class Seeds:
    """The units a trace starts from: typed serials must exist, batch members may not."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    label: str  # what was asked, for titles: "unit SN-1", "batch CAP-2407"
    warnings: tuple[str, ...] = ()  # what the batches' records made known
    batches: tuple[str, ...] = ()  # the batches the label names


@dataclasses.dataclass(frozen=True)
class Connection:
    """How to reach the API when no snapshot or Source is given."""

    api_url: str | None = None
    api_key: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = 30.0
    retries: int = 5
    on_retry: Callable[[str], None] | None = None
    on_notice: Callable[[str], None] | None = None  # how the API is read (-v)
    max_response_mb: float = 32.0  # decoded size of one answer
    max_pages: int = 1000  # of a list endpoint (batches)
    allow_insecure_http: bool = False  # plain http to a host other than this machine
    store: str | None = None  # read a store (SQLite path or postgresql:// URL) instead
    as_of: datetime | None = None  # the store as it stood then (None: its latest sync)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end, also from code that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tracegraph") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def batch_filters(filters: Filters) -> BatchFilters:
    """`BatchFilters` from the object itself or a mapping of its field names."""
    if filters is None:
        return BatchFilters()
    if isinstance(filters, BatchFilters):
        return filters
    fields = {f.name for f in dataclasses.fields(BatchFilters)}
    unknown = sorted(set(filters) - fields)
    if unknown:
        raise TracegraphError(
            f"unknown batch filter {unknown[0]!r}; use {', '.join(sorted(fields))}"
        )
    values: dict[str, Any] = {}
    for name, value in filters.items():
        if name in ("created_after", "created_before") and isinstance(value, str):
            value = parse_iso(value)
        elif isinstance(value, str) and name != "search":
            value = (value,)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            value = tuple(value)
        values[name] = value
    return BatchFilters(**values)


@asynccontextmanager
async def open_source(source: SourceLike, connection: Connection) -> AsyncIterator[Source]:
    """The Source to read: the one given, a snapshot file, or the API.

    The API URL and key default to `TOFUPILOT_API_URL` and `TOFUPILOT_API_KEY`,
    as on the command line. A Source passed in is used as it is, not closed.
    """
    if connection.store is not None:
        if source is not None:
            raise TracegraphError("--store and --source both say where to read; give one of them")
        from tracegraph.sources.store import Store, StoreSource  # sqlite3, psycopg: only here

        store = Store.open(connection.store, create=False)
        try:
            sync = store.sync_as_of(connection.as_of)
        except BaseException:
            store.close()
            raise
        as_of = iso_utc(connection.as_of) if connection.as_of is not None else ""
        async with StoreSource(store, sync, as_of) as opened:
            yield opened
        return
    if connection.as_of is not None:
        raise TracegraphError("--as-of reads a store: give --store too")
    if source is not None and not isinstance(source, (str, os.PathLike)):
        yield source
        return
    if source is not None:
        yield SnapshotSource.from_file(Path(source))
        return
    from tracegraph.sources.api import ApiSource, RetryPolicy  # httpx: imported only to go online

    async with ApiSource(
        connection.api_url or os.environ.get("TOFUPILOT_API_URL") or DEFAULT_API_URL,
        connection.api_key or os.environ.get("TOFUPILOT_API_KEY") or "",
        concurrency=connection.concurrency,
        timeout=connection.timeout,
        retry=RetryPolicy(retries=connection.retries),
        on_retry=connection.on_retry,
        on_notice=connection.on_notice,
        max_response_bytes=int(connection.max_response_mb * 2**20),
        max_pages=connection.max_pages,
        allow_insecure_http=connection.allow_insecure_http,
    ) as api:
        yield api


def describe_serials(kind: str, items: Sequence[str], plural: str | None = None) -> str:
    """`unit A`, `units A, B, C` or `units A, B, C, D, E and 7 more`."""
    shown = ", ".join(items[:5])
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f"{kind if len(items) == 1 else plural or kind + 's'} {shown}{more}"


async def find_seeds(
    source: Source,
    serials: Sequence[str],
    batches: Sequence[str],
    filters: BatchFilters,
    concurrency: int,
) -> Seeds:
    """The units to start from: the serials, and every unit of the batches asked for."""
    parts: list[str] = []
    members: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    if batches or not filters.is_empty():
        found = await resolve_batches(source, batches, filters, concurrency=concurrency)
        members, warnings, numbers = found.serials, found.warnings, tuple(found.batches)
        label = describe_serials("batch", list(found.batches), "batches")
        if not filters.is_empty():
            label += f" (matching {filters.describe()})"
        parts.append(label)
    typed = tuple(dict.fromkeys(serials))
    if typed:
        parts.append(describe_serials("unit", typed))
    if not parts:
        raise TracegraphError("name a serial number, a batch number or a batch filter")
    return Seeds(typed, members, " and ".join(parts), warnings, numbers)


async def _crawl(
    source: SourceLike,
    connection: Connection,
    serials: Sequence[str],
    batches: Sequence[str],
    filters: Filters,
    crawl: dict[str, Any],
) -> tuple[Genealogy, Seeds]:
    async with open_source(source, connection) as opened:
        seeds = await find_seeds(
            opened, serials, batches, batch_filters(filters), connection.concurrency
        )
        genealogy = await crawl_genealogy(
            opened,
            seeds.required,
            optional_seeds=seeds.optional,
            concurrency=connection.concurrency,
            **crawl,
        )
    genealogy.warnings.extend(seeds.warnings)
    return genealogy, seeds


async def trace_async(
    *serials: str,
    batches: Sequence[str] = (),
    filters: Filters = None,
    scope: Scope | str = Scope.TREE,
    depth: int | None = None,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
    retries: int = 5,
    max_units: int = DEFAULT_MAX_UNITS,
    on_progress: Callable[[Progress], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
    full_records: bool = False,
    store: str | None = None,
    as_of: str | datetime | None = None,
    redactor: Redactor | None = None,
) -> nx.DiGraph:
    """The genealogy graph of units, batches and filtered batches (see `trace`)."""
    connection = Connection(
        api_url, api_key, concurrency, timeout, retries, on_retry, **_stored(store, as_of)
    )
    crawl = {
        "scope": Scope(scope),
        "max_depth": depth,
        "max_units": max_units,
        "on_progress": on_progress,
        "full_records": full_records,
    }
    genealogy, seeds = await _crawl(source, connection, serials, batches, filters, crawl)
    return genealogy_graph(genealogy, seeds, redactor)


def genealogy_graph(genealogy: Genealogy, seeds: Seeds, redactor: Redactor | None) -> nx.DiGraph:
    """The crawl's graph, with tokens for its identifiers when a `Redactor` is given."""
    graph = build_graph(genealogy, seeds_label=seeds.label)
    if redactor is None:
        return graph
    if redactor.batches:
        for number in seeds.batches:
            redactor.token(number, "batch")
    return redactor.redact_graph(graph, genealogy)


def trace(
    *serials: str,
    batches: Sequence[str] = (),
    filters: Filters = None,
    scope: Scope | str = Scope.TREE,
    depth: int | None = None,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
    retries: int = 5,
    max_units: int = DEFAULT_MAX_UNITS,
    on_progress: Callable[[Progress], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
    full_records: bool = False,
    store: str | None = None,
    as_of: str | datetime | None = None,
    redactor: Redactor | None = None,
) -> nx.DiGraph:
    """The genealogy of units and batches, as a `networkx.DiGraph` (parent -> child edges).

    Start from serial numbers, from `batches` (numbers), from the batches
    `filters` select (a `BatchFilters`, or a mapping of its field names:
    ``{"part_numbers": ["CAP-10"], "created_after": "2024-07-01"}``), or any
    mix. `scope` is `tree`, `lineage`, `up` or `down`; `depth` keeps units at
    most that many links from a seed. Units are read in pages of the list
    endpoint; `full_records` also fetches each in full, one request a unit,
    for the run that created it (`outcome`, `procedure`). `source` is a snapshot file or a
    `Source`; `store` a store that `sync` filled (a SQLite path or a
    `postgresql://` URL), as it stood at `as_of` (ISO 8601; default: its
    latest sync); without either the API is read at `api_url` with `api_key`
    (by default `TOFUPILOT_API_URL` and `TOFUPILOT_API_KEY`). With a `Redactor`,
    serials, unit ids, user and station names are keyed tokens everywhere.

        graph = tracegraph.trace("SN-0042", scope="up")
        graph = tracegraph.trace(batches=["CAP-2407"], source="evidence.json")
    """
    return run_sync(
        trace_async(
            *serials,
            batches=batches,
            filters=filters,
            scope=scope,
            depth=depth,
            source=source,
            api_url=api_url,
            api_key=api_key,
            concurrency=concurrency,
            timeout=timeout,
            retries=retries,
            max_units=max_units,
            on_progress=on_progress,
            on_retry=on_retry,
            full_records=full_records,
            store=store,
            as_of=as_of,
            redactor=redactor,
        )
    )


async def impact_async(
    batches: Sequence[str] = (),
    serials: Sequence[str] = (),
    filters: Filters = None,
    scope: Scope | str = Scope.UP,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
    retries: int = 5,
    max_units: int = DEFAULT_MAX_UNITS,
    on_progress: Callable[[Progress], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
    full_records: bool = False,
    store: str | None = None,
    as_of: str | datetime | None = None,
    redactor: Redactor | None = None,
) -> ImpactReport:
    """The recall impact of suspect batches and units (see `impact`)."""
    if Scope(scope) not in IMPACT_SCOPES:
        raise TracegraphError(f"impact traces scope up, lineage or tree, not {Scope(scope).value}")
    connection = Connection(
        api_url, api_key, concurrency, timeout, retries, on_retry, **_stored(store, as_of)
    )
    crawl = {
        "scope": Scope(scope),
        "max_units": max_units,
        "on_progress": on_progress,
        "full_records": full_records,
    }
    genealogy, seeds = await _crawl(source, connection, serials, batches, filters, crawl)
    graph = genealogy_graph(genealogy, seeds, redactor)
    # A suspect with no parent that the API lists children for is an assembly
    # (a finished product from a suspect batch): affected, holding itself.
    assemblies = [s for s, unit in genealogy.units.items() if unit_references(unit)[1]]
    suspects = list(genealogy.seeds)
    if redactor is not None:
        suspects = [redactor.token(s) for s in suspects]
        assemblies = [redactor.token(s) for s in assemblies]
    report = analyse_impact(graph, suspects, str(graph.graph["seeds"]), assemblies)
    return dataclasses.replace(report, graph=mark_impact(graph, report))


def impact(
    batches: Sequence[str] = (),
    serials: Sequence[str] = (),
    filters: Filters = None,
    scope: Scope | str = Scope.UP,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
    retries: int = 5,
    max_units: int = DEFAULT_MAX_UNITS,
    on_progress: Callable[[Progress], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
    full_records: bool = False,
    store: str | None = None,
    as_of: str | datetime | None = None,
    redactor: Redactor | None = None,
) -> ImpactReport:
    """Where suspect batches and units went: the top-level units holding them.

    Every unit of `batches`, of the batches `filters` select, and every one
    of `serials` is a suspect; each is traced up to its top-level unit. The
    `ImpactReport` lists the affected top-level units (with the path down to
    each suspect), the loose suspects (built into nothing), and carries the
    marked graph (`report.graph`) that `write` draws. With a `Redactor`, the
    report and its graph name units by keyed tokens.

        report = tracegraph.impact(["CAP-2407"], source="samples/factory.json")
        print(len(report.affected), "products to recall")
    """
    return run_sync(
        impact_async(
            batches,
            serials,
            filters,
            scope,
            source,
            api_url,
            api_key,
            concurrency,
            timeout,
            retries,
            max_units,
            on_progress,
            on_retry,
            full_records,
            store,
            as_of,
            redactor,
        )
    )


def render(result: nx.DiGraph | ImpactReport | Diff, fmt: str, options: ExportOptions) -> bytes:
    """A graph, an impact report and its graph, or a diff, in the format named."""
    if isinstance(result, Diff):
        return export_diff(result, fmt, options)
    report = result if isinstance(result, ImpactReport) else None
    graph = report.graph if report is not None else result
    return export_with(graph, fmt, report, options)


def write(
    result: nx.DiGraph | ImpactReport | Diff,
    path: str | os.PathLike[str],
    format: str | None = None,
    **options: Any,
) -> None:
    """Write a genealogy graph or an impact report to `path`, whole or not at all.

    The format comes from the extension, or from `format` (a name the command
    line takes, such as `svg`, `mermaid` or `impact-csv`). For a report,
    `.csv`, `.json`, `.xlsx` and `.txt` are the report itself and the picture
    formats draw its graph, as in `tracegraph impact`. For a diff, `.json`,
    `.csv`, `.xlsx` and `.txt` are the changes and the pictures draw NEW
    with them, as in `tracegraph diff`.

        tracegraph.write(graph, "genealogy.svg")
        tracegraph.write(report, "recall.xlsx")
    """
    target = os.fspath(path)
    if isinstance(result, Diff):
        fmt = diff_format_for(target, format)
    else:
        fmt = format_for(target, format, report=isinstance(result, ImpactReport))
    write_atomically({target: render(result, fmt, ExportOptions.of(**options))})


def _stored(store: str | None, as_of: str | datetime | None) -> dict[str, Any]:
    """The `Connection` fields of a store read (`as_of` parsed from ISO 8601 text)."""
    moment = parse_iso(as_of) if isinstance(as_of, str) else as_of
    return {"store": store, "as_of": moment}


async def sync_async(
    store: str,
    filters: UnitFilters | None = None,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
    retries: int = 5,
    on_progress: Callable[[Progress], None] | None = None,
    connection: Connection | None = None,
) -> SyncResult:
    """Read the units `filters` select (all of them without) into `store` (see `sync`)."""
    from tracegraph.sources.store import Store  # sqlite3, psycopg: only here
    from tracegraph.syncing import sync_store

    if connection is None:
        connection = Connection(api_url, api_key, concurrency, timeout, retries)
    with Store.open(store, create=True) as opened_store:
        async with open_source(source, connection) as opened:
            # The API client counts every request it sent, retries included.
            counted = hasattr(opened, "requests_sent")

            def sent() -> int:
                return int(getattr(opened, "requests_sent", 0))

            return await sync_store(
                opened,
                opened_store,
                filters or UnitFilters(),
                concurrency=connection.concurrency,
                requests_sent=sent if counted else None,
                on_progress=on_progress,
            )


def sync(
    store: str,
    filters: UnitFilters | None = None,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
    retries: int = 5,
    on_progress: Callable[[Progress], None] | None = None,
) -> SyncResult:
    """Read a workspace's units through the list endpoint into a store, keeping what changed.

    `store` is a SQLite file (made when absent) or a `postgresql://` URL;
    `filters` (a `UnitFilters`) narrows the read to what the endpoint filters.
    Each sync is one transaction; `result.sync` is its row (counts, requests,
    seconds) and `result.summary()` says it in a line.

        result = tracegraph.syncing("tracegraph.db")
        graph = tracegraph.trace("SN-0042", store="tracegraph.db")
    """
    return run_sync(
        sync_async(
            store, filters, source, api_url, api_key, concurrency, timeout, retries, on_progress
        )
    )


async def batches_async(
    filters: Filters = None,
    source: SourceLike = None,
    api_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 30.0,
    retries: int = 5,
    store: str | None = None,
    as_of: str | datetime | None = None,
) -> list[dict[str, object]]:
    """The batches the filters select (all batches without one): number, created_at, unit_count."""
    connection = Connection(
        api_url, api_key, timeout=timeout, retries=retries, **_stored(store, as_of)
    )
    async with open_source(source, connection) as opened:
        found = [b async for b in opened.list_batches(batch_filters(filters))]
    rows = [
        {
            "number": str(b.get("number", "")),
            "created_at": str(b.get("created_at", "")),
            "unit_count": _count(b.get("unit_count")),
        }
        for b in found
    ]
    return sorted(rows, key=lambda row: str(row["number"]))


def _count(value: object) -> int:
    """A count from the server: an integer, or 0 for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def history(serial: str, store: str) -> History:
    """The as-maintained record of a unit's genealogy: each link of it as it came and went.

    `store` is a store that `sync` filled. Every link that was part of the
    unit's tree at some sync, with the sync that first saw it and the one
    that no longer did, in time order (`history.History`).

        record = tracegraph.history("SN-0042", "tracegraph.db")
        for event in record.events:
            print(event.at, event.action, event.parent, event.child)
    """
    from tracegraph.sources.store import Store  # sqlite3, psycopg: only here

    with Store.open(store, create=False) as opened:
        return read_history(opened, serial)
