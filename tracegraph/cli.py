"""The `tracegraph` command line: source -> crawl -> graph -> export, one line each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from tracegraph import __version__
from tracegraph.api import DEFAULT_API_URL, ApiSource, RetryPolicy
from tracegraph.crawl import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_UNITS,
    Genealogy,
    Progress,
    Scope,
    crawl_genealogy,
    resolve_batches,
    trace_up,
    unit_references,
)
from tracegraph.errors import ExportError, TracegraphError
from tracegraph.export import export, extension_disagrees, format_for, format_names
from tracegraph.export.escape import terminal_text
from tracegraph.export.graphviz import find_dot
from tracegraph.export.impact import impact_summary
from tracegraph.graph import build_graph, generated_at
from tracegraph.impact import ImpactReport, analyse_impact, mark_impact
from tracegraph.snapshot import RecordingSource, SnapshotSource, dump_snapshot
from tracegraph.source import BatchFilters, Source, parse_iso

if TYPE_CHECKING:  # networkx belongs to graph.py and export/; here it only names a type
    import networkx as nx

F = TypeVar("F", bound=Callable[..., Any])
GRAPHVIZ_FORMATS = {"svg", "png", "pdf"}
WARNINGS_SHOWN = 20


def iso_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Click callback: an ISO 8601 time, or a usage error that shows the expected form."""
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2024-07-01 or 2024-07-01T08:00:00Z"
        ) from None


@dataclass(frozen=True)
class SourceOptions:
    api_url: str
    api_key: str | None
    source_file: str | None
    concurrency: int
    timeout: float
    retries: int


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    _echo_err(f"Error: {message}")
    sys.exit(code)


@contextlib.contextmanager
def error_edge(verbose: bool) -> Iterator[None]:
    """Turn every error into one `Error:` line and exit 1 (a traceback only with -v)."""
    try:
        yield
    except TracegraphError as error:
        if verbose:
            traceback.print_exc()
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; nothing was written", 130)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except Exception as error:  # the last line of defence: no bare traceback
        if verbose:
            traceback.print_exc()
        fail(f"unexpected {type(error).__name__}: {error} (rerun with -v for details)")


# --- options shared by the commands -------------------------------------------------


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


source_options = _compose(
    click.option(
        "--api-url",
        envvar="TOFUPILOT_API_URL",
        default=DEFAULT_API_URL,
        show_default=True,
        show_envvar=True,
        help="TofuPilot API base URL (self-hosted: https://HOST/api).",
    ),
    click.option(
        "--api-key",
        envvar="TOFUPILOT_API_KEY",
        show_envvar=True,
        help="TofuPilot API key; never printed or exported.",
    ),
    click.option(
        "--source",
        "source_file",
        metavar="FILE",
        help="Read a snapshot file instead of the API (offline).",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 256),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Requests in flight.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(0, min_open=True),
        default=30.0,
        show_default=True,
        help="Seconds per request.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(0, 50),
        default=5,
        show_default=True,
        help="Retries for 429, 5xx and network errors (honouring Retry-After).",
    ),
)

filter_options = _compose(
    click.option(
        "--part-number",
        "part_numbers",
        multiple=True,
        help="Batches holding this part number (repeatable).",
    ),
    click.option(
        "--revision", "revisions", multiple=True, help="Batches holding this revision (repeatable)."
    ),
    click.option(
        "--created-after",
        callback=iso_time,
        metavar="ISO8601",
        help="Batches created at or after this time.",
    ),
    click.option(
        "--created-before",
        callback=iso_time,
        metavar="ISO8601",
        help="Batches created at or before this time.",
    ),
    click.option("--search", help="Batches whose number contains this text."),
)

scope_options = _compose(
    click.option(
        "--scope",
        type=click.Choice([s.value for s in Scope]),
        default=Scope.TREE.value,
        show_default=True,
        help="tree: whole tree of each seed; lineage: ancestors and descendants; "
        "up: ancestors (where-used); down: descendants (as-built).",
    ),
    click.option("--depth", type=click.IntRange(0), help="Keep units at most N links from a seed."),
)

output_options = _compose(
    click.option(
        "--save-snapshot",
        type=click.Path(dir_okay=False),
        help="Write every API response the crawl used to this snapshot file.",
    ),
    click.option(
        "--max-units",
        type=click.IntRange(1),
        default=DEFAULT_MAX_UNITS,
        show_default=True,
        help="Stop with an error, writing nothing, past this many units.",
    ),
    click.option(
        "-o",
        "--output",
        "outputs",
        multiple=True,
        help="Output file, repeatable; the format comes from the extension "
        "(.dot .gv .svg .png .pdf .graphml .json .csv .mmd .txt); - is stdout.",
    ),
    click.option(
        "-f",
        "--format",
        "format_name",
        help="Format for -o -, or for outputs of one kind whatever their extension: "
        + ", ".join(format_names())
        + " (impact also: impact-csv, impact-json, summary).",
    ),
    click.option("--strict", is_flag=True, help="Exit 3 when the data had consistency warnings."),
    click.option("-q", "--quiet", is_flag=True, help="No progress or warnings on stderr."),
    click.option("-v", "--verbose", is_flag=True, help="More on stderr; tracebacks on errors."),
)


# --- running a crawl ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_source(
    options: SourceOptions, on_retry: Callable[[str], None] | None = None
) -> AsyncIterator[Source]:
    """The snapshot file when --source is given, else the API."""
    if options.source_file:
        yield SnapshotSource.from_file(options.source_file)
        return
    async with ApiSource(
        options.api_url,
        options.api_key or "",
        concurrency=options.concurrency,
        timeout=options.timeout,
        retry=RetryPolicy(retries=options.retries),
        on_retry=on_retry,
    ) as api:
        yield api


class ProgressLine:
    """Live progress on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        sys.stderr.write(
            f"\rfetched {progress.fetched} units, {progress.in_flight} in flight, "
            f"{progress.queued} queued\x1b[K"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


T = TypeVar("T")


def run_with_source(
    options: SourceOptions,
    save_snapshot: str | None,
    work: Callable[[Source], Awaitable[T]],
    on_retry: Callable[[str], None] | None = None,
) -> tuple[T, RecordingSource | None]:
    """Open the source (recording it when asked), run `work` on it, close it."""

    async def go() -> tuple[T, RecordingSource | None]:
        async with open_source(options, on_retry) as source:
            recorder = RecordingSource(source) if save_snapshot else None
            return await work(recorder or source), recorder

    return asyncio.run(go())


@dataclass(frozen=True)
class Target:
    path: str
    fmt: str


def plan_outputs(
    outputs: tuple[str, ...],
    format_name: str | None,
    *,
    report: bool = False,
    save_snapshot: str | None = None,
    source_file: str | None = None,
) -> list[Target]:
    """Check every output before the crawl starts, so a typo costs no crawl."""
    try:
        targets = [Target(p, format_for(p, format_name, report=report)) for p in outputs]
        if not targets and not report:
            targets = [Target("-", format_for("-", format_name))]
    except ExportError as error:
        raise click.UsageError(str(error)) from None
    for target in targets:
        if extension_disagrees(target.path, target.fmt):
            raise click.UsageError(
                f"-f {target.fmt} would write {target.path!r} in another format than its "
                "extension says; use -f with -o - or with outputs of that one kind"
            )
    paths = [t.path for t in targets if t.path != "-"] + ([save_snapshot] if save_snapshot else [])
    if len({os.path.abspath(p) for p in paths}) < len(paths):
        raise click.UsageError("the same file is named twice among -o and --save-snapshot")
    for path in paths:
        parent = Path(path).parent
        if not parent.is_dir():
            raise ExportError(f"cannot write {path!r}: folder {str(parent)!r} does not exist")
        if Path(path).is_dir():
            raise ExportError(f"cannot write {path!r}: it is a folder")
        if _same_file(path, source_file):
            raise ExportError(f"cannot write {path!r}: it is the --source snapshot being read")
    if any(t.fmt in GRAPHVIZ_FORMATS for t in targets):
        find_dot()
    return targets


def _same_file(path: str, other: str | None) -> bool:
    """Whether two names point at one existing file."""
    if not other or not (os.path.exists(path) and os.path.exists(other)):
        return False
    return os.path.samefile(path, other)


def write_atomically(files: dict[str, bytes]) -> None:
    """Write every file, or none: temporary files first, renamed once all are written.

    A target that exists but is not a regular file (`/dev/stdout`, a pipe) is
    written in place, after every other file is ready, never replaced.
    """
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[str, str]] = []
    in_place: list[tuple[str, bytes]] = []
    current = ""
    try:
        for current, data in files.items():
            if os.path.exists(current) and not os.path.isfile(current):
                in_place.append((current, data))
                continue
            directory = os.path.dirname(os.path.abspath(current))
            handle, temporary = tempfile.mkstemp(
                dir=directory, prefix=f".{os.path.basename(current)}.", suffix=".tmp"
            )
            staged.append((temporary, current))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            exists = os.path.exists(current)
            os.chmod(temporary, os.stat(current).st_mode & 0o7777 if exists else 0o666 & ~umask)
        for temporary, current in staged:
            os.replace(temporary, current)
        staged.clear()
        for current, data in in_place:
            with open(current, "wb") as stream:
                stream.write(data)
    except OSError as error:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise ExportError(f"cannot write {current!r}: {error.strerror}") from None


def deliver(
    graph: nx.DiGraph,
    targets: list[Target],
    crawled: Crawled,
    report: ImpactReport | None = None,
) -> None:
    """Render every output in memory, then write them all (stdout last)."""
    rendered = [(t, export(graph, t.fmt, report)) for t in targets]
    files = {t.path: data for t, data in rendered if t.path != "-"}
    if crawled.recorder is not None and crawled.save_snapshot:
        captured = str(graph.graph.get("generated_at", generated_at()))
        snapshot = crawled.recorder.snapshot(captured)
        files[crawled.save_snapshot] = dump_snapshot(snapshot).encode("utf-8")
    write_atomically(files)
    for target, data in rendered:
        if target.path == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()


def report_warnings(warnings: list[str], quiet: bool) -> None:
    if quiet or not warnings:
        return
    for warning in warnings[:WARNINGS_SHOWN]:
        _echo_err(f"Warning: {warning}")
    if len(warnings) > WARNINGS_SHOWN:
        _echo_err(
            f"Warning: ... and {len(warnings) - WARNINGS_SHOWN} more (all are in the JSON export)"
        )


def describe_serials(kind: str, items: Sequence[str], plural: str | None = None) -> str:
    """`unit A`, `units A, B, C` or `units A, B, C, D, E and 7 more`."""
    shown = ", ".join(items[:5])
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f"{kind if len(items) == 1 else plural or kind + 's'} {shown}{more}"


@dataclass(frozen=True)
class Seeds:
    """The units a command starts from: typed serials must exist, batch members may not."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    label: str  # what was asked, for titles: "unit SN-1", "batch CAP-2407"


@dataclass(frozen=True)
class CrawlOptions:
    scope: str
    depth: int | None
    max_units: int
    save_snapshot: str | None
    quiet: bool
    verbose: bool
    bulk: bool = False  # walk up through the list endpoint (impact --scope up)


@dataclass(frozen=True)
class Crawled:
    genealogy: Genealogy
    graph: nx.DiGraph
    seeds: Seeds
    recorder: RecordingSource | None
    save_snapshot: str | None


def crawl_graph(
    options: SourceOptions,
    crawl: CrawlOptions,
    find_seeds: Callable[[Source], Awaitable[Seeds]],
) -> Crawled:
    """Source -> seeds -> crawl -> graph, with a progress line on a terminal."""
    progress = ProgressLine(enabled=not crawl.quiet)
    started = time.monotonic()

    async def work(source: Source) -> tuple[Genealogy, Seeds]:
        seeds = await find_seeds(source)
        if crawl.bulk and crawl.scope == Scope.UP.value:
            genealogy = await trace_up(
                source,
                seeds.required,
                optional_seeds=seeds.optional,
                max_units=crawl.max_units,
                concurrency=options.concurrency,
                on_progress=progress,
            )
            return genealogy, seeds
        genealogy = await crawl_genealogy(
            source,
            seeds.required,
            optional_seeds=seeds.optional,
            scope=Scope(crawl.scope),
            max_depth=crawl.depth,
            max_units=crawl.max_units,
            concurrency=options.concurrency,
            on_progress=progress,
        )
        return genealogy, seeds

    try:
        on_retry = (lambda line: _echo_err(f"Retrying: {line}")) if crawl.verbose else None
        (genealogy, seeds), recorder = run_with_source(options, crawl.save_snapshot, work, on_retry)
    finally:
        progress.close()
    graph = build_graph(genealogy, seeds_label=seeds.label)
    if crawl.verbose:
        _echo_err(
            f"crawled {graph.number_of_nodes()} units, {graph.number_of_edges()} links "
            f"with {genealogy.requests} unit lookups in {time.monotonic() - started:.2f} s"
        )
    return Crawled(genealogy, graph, seeds, recorder, crawl.save_snapshot)


def _crawl_options(kwargs: dict[str, Any], bulk: bool = False) -> CrawlOptions:
    return CrawlOptions(
        bulk=bulk,
        scope=kwargs.pop("scope"),
        depth=kwargs.pop("depth", None),
        max_units=kwargs.pop("max_units"),
        save_snapshot=kwargs.pop("save_snapshot"),
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
    )


def genealogy_command(
    options: SourceOptions,
    find_seeds: Callable[[Source], Awaitable[Seeds]],
    kwargs: dict[str, Any],
) -> None:
    """The shared pipeline of `unit` and `batch`."""
    crawl = _crawl_options(kwargs)
    with error_edge(crawl.verbose):
        targets = plan_outputs(
            kwargs["outputs"],
            kwargs["format_name"],
            save_snapshot=crawl.save_snapshot,
            source_file=options.source_file,
        )
        crawled = crawl_graph(options, crawl, find_seeds)
        deliver(crawled.graph, targets, crawled)
        warnings = list(crawled.graph.graph.get("warnings", []))
        report_warnings(warnings, crawl.quiet)
    if kwargs["strict"] and warnings:
        sys.exit(3)


async def batch_seeds(
    source: Source, numbers: tuple[str, ...], filters: BatchFilters, concurrency: int
) -> tuple[tuple[str, ...], str]:
    """Every unit of the named and filtered batches, and a label for them."""
    found = await resolve_batches(source, numbers, filters, concurrency=concurrency)
    batches = list(found.batches)
    label = describe_serials("batch", batches, "batches")
    if not filters.is_empty():
        label += f" (matching {filters.describe()})"
    return found.serials, label


def _source_options(kwargs: dict[str, Any]) -> SourceOptions:
    return SourceOptions(
        api_url=kwargs.pop("api_url"),
        api_key=kwargs.pop("api_key"),
        source_file=kwargs.pop("source_file"),
        concurrency=kwargs.pop("concurrency"),
        timeout=kwargs.pop("timeout"),
        retries=kwargs.pop("retries"),
    )


def _filters(kwargs: dict[str, Any]) -> BatchFilters:
    return BatchFilters(
        part_numbers=tuple(kwargs.pop("part_numbers")),
        revision_numbers=tuple(kwargs.pop("revisions")),
        created_after=kwargs.pop("created_after"),
        created_before=kwargs.pop("created_before"),
        search=kwargs.pop("search"),
    )


# --- commands ----------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracegraph")
def main() -> None:
    """Crawl TofuPilot unit genealogy and export it as a graph.

    \b
    Example:
      tracegraph unit DRN-X1-0001 --source samples/factory.json -o genealogy.svg
    """


@main.command()
@click.argument("serials", nargs=-1, required=True)
@source_options
@scope_options
@output_options
def unit(serials: tuple[str, ...], **kwargs: Any) -> None:
    """Genealogy of units, from their serial numbers.

    Prints a text tree when no -o is given.

    \b
    Example:
      tracegraph unit DRN-X1-0001 --api-key $KEY -o genealogy.svg -o genealogy.json
    """
    options = _source_options(kwargs)

    async def seeds(source: Source) -> Seeds:
        unique = tuple(dict.fromkeys(serials))
        return Seeds(unique, (), describe_serials("unit", unique))

    genealogy_command(options, seeds, kwargs)


@main.command()
@click.argument("numbers", nargs=-1)
@source_options
@filter_options
@scope_options
@output_options
def batch(numbers: tuple[str, ...], **kwargs: Any) -> None:
    """Genealogy of every unit in the batches.

    Name batches, select them with the filters, or both.

    \b
    Example:
      tracegraph batch CAP-2407 --source samples/factory.json -o cap-2407.svg
      tracegraph batch --part-number CAP-10 --created-after 2024-07-01 -o caps.json
    """
    options = _source_options(kwargs)
    filters = _filters(kwargs)
    if not numbers and filters.is_empty():
        raise click.UsageError("name a batch number or select batches with a filter option")

    async def seeds(source: Source) -> Seeds:
        serials, label = await batch_seeds(source, numbers, filters, options.concurrency)
        return Seeds((), serials, label)

    genealogy_command(options, seeds, kwargs)


@main.command()
@click.argument("numbers", nargs=-1)
@click.option("--serial", "suspect_serials", multiple=True, help="A suspect unit (repeatable).")
@source_options
@filter_options
@click.option(
    "--scope",
    type=click.Choice([Scope.UP.value, Scope.LINEAGE.value, Scope.TREE.value]),
    default=Scope.UP.value,
    show_default=True,
    help="up: suspects and what contains them; lineage: also what the suspects contain; "
    "tree: the whole tree of every affected unit (the report is the same).",
)
@output_options
@click.option(
    "--fail-if-affected",
    is_flag=True,
    help="Exit 3 when any suspect unit is built into a top-level unit.",
)
def impact(
    numbers: tuple[str, ...],
    suspect_serials: tuple[str, ...],
    fail_if_affected: bool,
    **kwargs: Any,
) -> None:
    """Recall impact: which top-level units contain suspect batches or units.

    Walks up from every unit of the suspect batches (named, or selected with
    the filters) and every --serial to its top-level unit, and prints a
    summary. Here .csv, .json and .txt outputs are the report (one row per
    affected top-level unit); .svg, .dot and the other graph formats draw the
    suspects and what contains them. -f csv, -f json or -f txt give the
    graph's per-unit CSV, JSON or tree instead.

    \b
    Example:
      tracegraph impact CAP-2407 --source samples/factory.json -o impact.csv -o impact.svg
      tracegraph impact --part-number CAP-10 --created-after 2024-07-01 --fail-if-affected
    """
    options = _source_options(kwargs)
    filters = _filters(kwargs)
    if not numbers and not suspect_serials and filters.is_empty():
        raise click.UsageError("name a suspect batch, a --serial, or select batches with a filter")
    crawl = _crawl_options(kwargs, bulk=True)

    async def seeds(source: Source) -> Seeds:
        parts: list[str] = []
        members: tuple[str, ...] = ()
        if numbers or not filters.is_empty():
            members, label = await batch_seeds(source, numbers, filters, options.concurrency)
            parts.append(label)
        serials = tuple(dict.fromkeys(suspect_serials))
        if serials:
            parts.append(describe_serials("unit", serials))
        return Seeds(serials, members, " and ".join(parts))

    with error_edge(crawl.verbose):
        targets = plan_outputs(
            kwargs["outputs"],
            kwargs["format_name"],
            report=True,
            save_snapshot=crawl.save_snapshot,
            source_file=options.source_file,
        )
        crawled = crawl_graph(options, crawl, seeds)
        suspects = crawled.genealogy.seeds  # as the API spells them
        assemblies = [s for s, u in crawled.genealogy.units.items() if unit_references(u)[1]]
        report = analyse_impact(crawled.graph, suspects, crawled.seeds.label, assemblies)
        deliver(mark_impact(crawled.graph, report), targets, crawled, report)
        # The summary is the command's answer: on stdout, unless an output took stdout.
        on_stdout = {t.fmt for t in targets if t.path == "-"}
        if not on_stdout or ("summary" not in on_stdout and not crawl.quiet):
            click.echo(impact_summary(report), nl=False, err=bool(on_stdout))
        warnings = list(crawled.graph.graph.get("warnings", []))
        report_warnings(warnings, crawl.quiet)
    if (kwargs["strict"] and warnings) or (fail_if_affected and report.reached_a_top_level_unit):
        sys.exit(3)


@main.command()
@source_options
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors.")
def batches(as_json: bool, verbose: bool, **kwargs: Any) -> None:
    """List the batches that match the filters (all batches without one).

    \b
    Example:
      tracegraph batches --part-number CAP-10 --source samples/factory.json
    """
    options = _source_options(kwargs)
    filters = _filters(kwargs)
    with error_edge(verbose):

        async def listing(source: Source) -> list[dict[str, Any]]:
            return [b async for b in source.list_batches(filters)]

        found, _ = run_with_source(options, None, listing)
        rows = sorted(
            (
                {
                    "number": str(b.get("number", "")),
                    "created_at": str(b.get("created_at", "")),
                    "unit_count": int(b.get("unit_count") or 0),
                }
                for b in found
            ),
            key=lambda r: str(r["number"]),
        )
        if as_json:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        click.echo(batch_table(rows))


def batch_table(rows: list[dict[str, Any]]) -> str:
    """Batches as an aligned text table."""
    header = ("BATCH", "CREATED", "UNITS")
    cells = [(terminal_text(r["number"]), r["created_at"], str(r["unit_count"])) for r in rows]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(3)]
    lines = [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in [header, *cells]
    ]
    lines.append(f"{len(rows)} batch{'es' if len(rows) != 1 else ''}")
    return "\n".join(lines)
