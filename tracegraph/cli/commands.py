"""The commands. Each reads: parse, open the source, one library call, deliver, exit code."""
# unit, batch, impact, batches, diff

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tracegraph._version import __version__
from tracegraph.cli.options import (
    Run,
    filter_options,
    full_records_option,
    iso_time,
    output_options,
    picture_options,
    scope_options,
    source_options,
    store_options,
    text,
)
from tracegraph.cli.outputs import deliver, plan_outputs, write_stdout
from tracegraph.cli.progress import ProgressLine
from tracegraph.cli.terminal import echo_err, error_edge, report_warnings
from tracegraph.comparing import diff_async, diff_store_async
from tracegraph.crawl import DEFAULT_MAX_UNITS
from tracegraph.escape import terminal_text
from tracegraph.export import DIFF_FORMATS
from tracegraph.export.diff import diff_summary, diff_warnings
from tracegraph.export.history import HISTORY_FORMATS
from tracegraph.export.impact import impact_summary
from tracegraph.export.options import ExportOptions
from tracegraph.files import write_atomically
from tracegraph.genealogy import Scope
from tracegraph.source import Source, UnitFilters
from tracegraph.sources.snapshot import RecordingSource
from tracegraph.tracing import (
    batches_async,
    history,
    impact_async,
    open_source,
    run_sync,
    sync_async,
    trace_async,
)

if TYPE_CHECKING:  # networkx belongs to graph.py and export/; here it only names a type
    import networkx as nx

T = TypeVar("T")
LibraryCall = Callable[[Source, ProgressLine], Awaitable[T]]


def in_source(run: Run, call: LibraryCall[T]) -> tuple[T, RecordingSource | None]:
    """Open the source (recording it for --save-snapshot), make one library call, close it."""
    progress = ProgressLine(enabled=not run.quiet)
    connection = run.connection
    if run.verbose:
        connection = dataclasses.replace(
            connection,
            on_retry=lambda line: echo_err(f"Retrying: {line}"),
            on_notice=echo_err,
        )

    async def go() -> tuple[T, RecordingSource | None]:
        async with open_source(run.source_file, connection) as source:
            recorder = RecordingSource(source) if run.save_snapshot else None
            return await call(recorder or source, progress), recorder

    started = time.monotonic()
    try:
        result, recorder = asyncio.run(go())
    finally:
        progress.close()
    if run.verbose:
        echo_err(
            f"crawled {progress.latest.fetched} units with {progress.latest.requests} "
            f"unit lookups in {time.monotonic() - started:.2f} s"
        )
    return result, recorder


def warnings_of(graph: nx.DiGraph | None) -> list[str]:
    return list(graph.graph.get("warnings", [])) if graph is not None else []


def note_unredacted_snapshot(run: Run) -> None:
    if run.redactor is not None and run.save_snapshot:
        echo_err(
            f"Note: the snapshot {run.save_snapshot} is not redacted: it is the evidence, "
            "with the original serials, ids and names"
        )


def export_options(run: Run) -> ExportOptions:
    """The export options, with --title's identifiers redacted as the graph's are."""
    if run.redactor is None:
        return run.export
    return dataclasses.replace(run.export, title=run.redactor.text(run.export.title))


def genealogy_command(run: Run, serials: Sequence[str], batches: Sequence[str]) -> None:
    """The shared pipeline of `unit` and `batch`."""
    with error_edge(run.verbose):
        plan = plan_outputs(
            run.outputs,
            run.format_name,
            save_snapshot=run.save_snapshot,
            source_file=run.source_file,
            redact_map=run.redact_map,
        )
        note_unredacted_snapshot(run)
        graph, recorder = in_source(
            run,
            lambda source, progress: trace_async(
                *serials,
                batches=batches,
                filters=run.filters,
                scope=run.scope,
                depth=run.depth,
                source=source,
                concurrency=run.connection.concurrency,
                max_units=run.max_units,
                on_progress=progress,
                full_records=run.full_records,
                redactor=run.redactor,
            ),
        )
        deliver(plan, graph, export_options(run), recorder, run.redactor)
        report_warnings(warnings_of(graph), run.quiet)
    if run.strict and warnings_of(graph):
        sys.exit(3)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracegraph")
def main() -> None:
    """Crawl TofuPilot unit genealogy and export it as a graph.

    \b
    Example:
      tracegraph unit DRN-X1-0001 --source samples/factory.json -o genealogy.svg
    """


@main.command()
@click.argument("serials", nargs=-1, required=True, callback=text)
@source_options
@store_options
@click.option(
    "--history",
    "show_history",
    is_flag=True,
    help="With --store: every link of the unit's genealogy as it came and went, sync by "
    "sync; -o writes .txt .json .csv or .jsonld (EPCIS ADD and DELETE events).",
)
@scope_options
@output_options
@click.pass_context
def unit(ctx: click.Context, /, serials: tuple[str, ...], show_history: bool,
         **options: Any) -> None:  # fmt: skip
    """Genealogy of units, from their serial numbers.

    Prints a text tree when no -o is given. The API key comes from
    TOFUPILOT_API_KEY (or --api-key). With --store and --history, the
    as-maintained record of one unit instead.

    \b
    Example:
      export TOFUPILOT_API_KEY=...
      tracegraph unit DRN-X1-0001 -o genealogy.svg -o genealogy.json
      tracegraph unit DRN-X1-0001 --source samples/factory.json --scope up
      tracegraph unit DRN-X1-0001 --store tracegraph.db --history -o history.csv
    """
    if show_history:
        history_command(ctx, serials, options)
        return
    genealogy_command(Run.parse(options), serials, ())


# What --history does not take: what shapes a genealogy or a picture of it.
HISTORY_REFUSES = ("source_file", "as_of", "save_snapshot", "depth", "full_records", "redact",
                   "scope", "collapse", "layout", "title", "page", "strict")  # fmt: skip


def history_command(ctx: click.Context, serials: tuple[str, ...], options: dict[str, Any]) -> None:
    """`unit SN --store TARGET --history`: the history of one unit's genealogy."""
    if not options.get("store"):
        raise click.UsageError("--history reads a store's versions: give --store too")
    if len(serials) != 1:
        raise click.UsageError("--history takes one serial number")
    for name in HISTORY_REFUSES:
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
            flag = "--source" if name == "source_file" else f"--{name.replace('_', '-')}"
            raise click.UsageError(f"{flag} does not apply to --history")
    run = Run.parse(options)
    targets = history_targets(run.outputs, run.format_name)
    with error_edge(run.verbose):
        record = history(serials[0], options["store"])
        files = {path: HISTORY_FORMATS[fmt](record, run.export.epc_uri) for path, fmt in targets}
        write_atomically({path: data for path, data in files.items() if path != "-"})
        if "-" in files:
            write_stdout(files["-"])


def history_targets(outputs: tuple[str, ...], format_name: str | None) -> list[tuple[str, str]]:
    """Where --history writes what: the format from -f, else the extension (stdout: text)."""
    names = {"txt": "txt", "text": "txt", "json": "json", "csv": "csv", "epcis": "epcis",
             "jsonld": "epcis"}  # fmt: skip
    extensions = {".txt": "txt", ".json": "json", ".csv": "csv", ".jsonld": "epcis"}
    if format_name is not None and format_name.lower() not in names:
        raise click.UsageError(f"--history writes txt, json, csv or epcis, not {format_name!r}")
    targets = []
    for path in outputs or ("-",):
        if format_name is not None:
            fmt = names[format_name.lower()]
        elif path == "-":
            fmt = "txt"
        else:
            fmt = extensions.get(os.path.splitext(path)[1].lower(), "")
            if not fmt:
                raise click.UsageError(
                    f"--history cannot write {path!r}; use .txt, .json, .csv or .jsonld"
                )
        targets.append((path, fmt))
    if len({os.path.abspath(p) for p, _ in targets}) < len(targets):
        raise click.UsageError("the same file is named twice among -o")
    for path, _ in targets:
        if path != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise click.UsageError(f"cannot write {path!r}: its folder does not exist")
    return targets


@main.command()
@click.argument("numbers", nargs=-1, callback=text)
@source_options
@store_options
@filter_options
@scope_options
@output_options
def batch(numbers: tuple[str, ...], **options: Any) -> None:
    """Genealogy of every unit in the batches.

    Name batches, select them with the filters, or both.

    \b
    Example:
      tracegraph batch CAP-2407 --source samples/factory.json -o cap-2407.svg
      tracegraph batch --part-number CAP-10 --created-after 2024-07-01 -o caps.json
    """
    run = Run.parse(options)
    if not numbers and run.filters.is_empty():
        raise click.UsageError("name a batch number or select batches with a filter option")
    genealogy_command(run, (), numbers)


@main.command()
@click.argument("numbers", nargs=-1, callback=text)
@click.option(
    "--serial",
    "suspect_serials",
    multiple=True,
    callback=text,
    help="A suspect unit (repeatable).",
)
@source_options
@store_options
@filter_options
@click.option(
    "--scope",
    type=click.Choice([Scope.UP.value, Scope.LINEAGE.value, Scope.TREE.value]),
    default=Scope.UP.value,
    show_default=True,
    help="up: suspects and what contains them; lineage: also what the suspects contain; "
    "tree: the whole tree of every affected unit (the report is the same).",
)
@full_records_option
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
    **options: Any,
) -> None:
    """Recall impact: which top-level units contain suspect batches or units.

    Walks up from every unit of the suspect batches (named, or selected with
    the filters) and every --serial to its top-level unit, and prints a
    summary. Here .csv, .json, .xlsx and .txt outputs are the report (one row
    per affected top-level unit); .svg, .dot and the other graph formats draw
    the suspects and what contains them. -f csv, -f json, -f xlsx or -f txt
    give the graph's per-unit CSV, JSON, workbook or tree instead.

    \b
    Example:
      tracegraph impact CAP-2407 --source samples/factory.json -o impact.csv -o impact.svg
      tracegraph impact --part-number CAP-10 --created-after 2024-07-01 --fail-if-affected
    """
    run = Run.parse(options)
    if not numbers and not suspect_serials and run.filters.is_empty():
        raise click.UsageError("name a suspect batch, a --serial, or select batches with a filter")
    with error_edge(run.verbose):
        plan = plan_outputs(
            run.outputs,
            run.format_name,
            report=True,
            save_snapshot=run.save_snapshot,
            source_file=run.source_file,
            redact_map=run.redact_map,
        )
        note_unredacted_snapshot(run)
        report, recorder = in_source(
            run,
            lambda source, progress: impact_async(
                numbers,
                suspect_serials,
                run.filters,
                run.scope,
                source=source,
                concurrency=run.connection.concurrency,
                max_units=run.max_units,
                on_progress=progress,
                full_records=run.full_records,
                redactor=run.redactor,
            ),
        )
        deliver(plan, report, export_options(run), recorder, run.redactor)
        # The summary is the command's answer: on stdout, unless an output took stdout.
        on_stdout = plan.stdout_formats
        if not on_stdout or ("summary" not in on_stdout and not run.quiet):
            click.echo(impact_summary(report, run.verbose), nl=False, err=bool(on_stdout))
        report_warnings(report.warnings, run.quiet)
    if (run.strict and report.warnings) or (fail_if_affected and report.reached_a_top_level_unit):
        sys.exit(3)


@main.command()
@source_options
@store_options
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors.")
def batches(as_json: bool, **options: Any) -> None:
    """List the batches that match the filters (all batches without one).

    \b
    Example:
      tracegraph batches --part-number CAP-10 --source samples/factory.json
    """
    run = Run.parse(options)
    with error_edge(run.verbose):
        rows, _ = in_source(
            dataclasses.replace(run, quiet=True, verbose=False),
            lambda source, progress: batches_async(run.filters, source),
        )
        if as_json:
            # ASCII: text from the server cannot drive the terminal nor fail to encode.
            click.echo(json.dumps(rows, indent=2, ensure_ascii=True))
            return
        click.echo(batch_table(rows))


def batch_table(rows: list[dict[str, object]]) -> str:
    """Batches as an aligned text table; every cell from the server neutralised."""
    header = ("BATCH", "CREATED", "UNITS")
    cells = [
        (terminal_text(str(r["number"])), terminal_text(str(r["created_at"])), str(r["unit_count"]))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(3)]
    lines = [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in [header, *cells]
    ]
    lines.append(f"{len(rows)} batch{'es' if len(rows) != 1 else ''}")
    return "\n".join(lines)


@main.command()
@source_options
@click.option(
    "--store",
    envvar="TRACEGRAPH_STORE",
    default="tracegraph.db",
    show_default=True,
    show_envvar=True,
    metavar="TARGET",
    help="Where to keep the genealogy: a SQLite file (made when absent) or postgresql://...",
)
@click.option(
    "--part-number",
    "part_numbers",
    multiple=True,
    callback=text,
    help="Units of this part number (repeatable).",
)
@click.option(
    "--revision",
    "revisions",
    multiple=True,
    callback=text,
    help="Units of this revision (repeatable).",
)
@click.option(
    "--batch",
    "batch_numbers",
    multiple=True,
    callback=text,
    help="Units of this batch (repeatable).",
)
@click.option(
    "--created-after",
    callback=iso_time,
    metavar="ISO8601",
    help="Units created at or after this time.",
)
@click.option(
    "--created-before",
    callback=iso_time,
    metavar="ISO8601",
    help="Units created at or before this time.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress line or warnings on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="More on stderr; tracebacks on errors.")
@click.pass_context
def sync(ctx: click.Context, /, **options: Any) -> None:
    """Read the workspace's units (or those the filters select) into a store.

    Pages of 100 units, as many in flight as --concurrency allows. Each sync is
    one transaction that records what was added, changed and gone, so that
    --store and --as-of can answer later, offline. A sync of 100,000 units
    reads about 1,000 pages: --max-pages defaults to 100000 here.

    \b
    Example:
      tracegraph sync --store tracegraph.db
      tracegraph unit SN-0042 --store tracegraph.db -o genealogy.svg
    """
    if ctx.get_parameter_source("max_pages") is click.core.ParameterSource.DEFAULT:
        options["max_pages"] = 100_000
    run = Run.parse(options)
    filters = UnitFilters(
        part_numbers=tuple(options["part_numbers"]),
        revision_numbers=tuple(options["revisions"]),
        batch_numbers=tuple(options["batch_numbers"]),
        created_after=options["created_after"],
        created_before=options["created_before"],
    )
    with error_edge(run.verbose):
        progress = ProgressLine(enabled=not run.quiet)
        connection = dataclasses.replace(run.connection, store=None)  # the store is written
        if run.verbose:
            connection = dataclasses.replace(
                connection,
                on_retry=lambda line: echo_err(f"Retrying: {line}"),
                on_notice=echo_err,
            )
        try:
            result = asyncio.run(
                sync_async(
                    options["store"],
                    filters,
                    run.source_file,
                    connection=connection,
                    on_progress=progress,
                )
            )
        finally:
            progress.close()
        click.echo(terminal_text(result.summary()))
        report_warnings(list(result.warnings), run.quiet)


@main.command("diff")
# One list, so that a form without snapshots (a store at two times) takes serials alone.
@click.argument("arguments", nargs=-1, callback=text, metavar="[OLD NEW] [SERIAL]...")
@click.option(
    "--batch",
    "batches",
    multiple=True,
    callback=text,
    metavar="NUMBER",
    help="Compare the genealogies of this batch's units (repeatable).",
)
@scope_options
@click.option(
    "--max-units",
    type=click.IntRange(1),
    default=DEFAULT_MAX_UNITS,
    show_default=True,
    help="Stop with an error, writing nothing, past this many units on a side.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    help="Output file, repeatable: the changes as .json .csv .xlsx .txt, or NEW's genealogy "
    "drawn with them as .svg .png .pdf .html .dot; - is stdout.",
)
@click.option(
    "-f",
    "--format",
    "format_name",
    help="Format for -o -: " + ", ".join(DIFF_FORMATS) + " (json, csv, xlsx, txt for short).",
)
@click.option(
    "--store",
    metavar="TARGET",
    help="Compare a store (SQLite file or postgresql://...) as of --since with it as of "
    "--until; the arguments are then serial numbers only.",
)
@click.option(
    "--since", callback=iso_time, metavar="ISO8601", help="With --store: OLD is the store then."
)
@click.option(
    "--until",
    callback=iso_time,
    metavar="ISO8601",
    help="With --store: NEW is the store then (default: its latest sync).",
)
@picture_options
@click.option("--fail-if-changed", is_flag=True, help="Exit 3 when anything changed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or warnings on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors.")
def diff(
    arguments: tuple[str, ...],
    batches: tuple[str, ...],
    fail_if_changed: bool,
    **options: Any,
) -> None:
    """What changed between two snapshots, or a store at two times: units added,
    removed, moved, replaced, changed.

    With serial numbers (or --batch), their genealogies are compared, traced
    with --scope and --depth as `unit` does; without, every unit of both
    sides. Prints the changes; -o writes them, or draws NEW's genealogy
    with each change marked and OLD's departed units dashed where they were.
    With --store, OLD is the store as of --since and NEW as of --until (its
    latest sync by default), and each change says between which syncs it was
    first seen.

    \b
    Example:
      tracegraph diff before.json after.json EB-0042 -o changes.svg
      tracegraph diff monday.json today.json --fail-if-changed -o changes.xlsx
      tracegraph diff --store tracegraph.db --since 2026-11-01 EB-0042
    """
    store, since, until = options.pop("store"), options.pop("since"), options.pop("until")
    run = Run.parse(options)
    read = check_diff_arguments(arguments, store, since, until)
    with error_edge(run.verbose):
        plan = plan_outputs(run.outputs, run.format_name, diff=True, also_read=read)
        progress = ProgressLine(enabled=not run.quiet)
        asked: dict[str, Any] = dict(batches=batches, scope=run.scope, depth=run.depth,
                                     max_units=run.max_units, on_progress=progress)  # fmt: skip
        try:
            if store is None:
                changes = run_sync(diff_async(*arguments, **asked))
            else:
                changes = run_sync(diff_store_async(store, since, *arguments, until=until, **asked))
        finally:
            progress.close()
        report_warnings(diff_warnings(changes), run.quiet)
        deliver(plan, changes, run.export)
        if not plan.stdout_formats:
            click.echo(diff_summary(changes, run.export.colour), nl=False)
    if fail_if_changed and changes.anything_changed:
        sys.exit(3)


def check_diff_arguments(
    arguments: tuple[str, ...], store: str | None, since: object, until: object
) -> tuple[str, ...]:
    """The snapshots `diff` reads (none from a store); usage errors for a form it has not."""
    if store is None:
        if since is not None or until is not None:
            raise click.UsageError("--since and --until compare a store: give --store too")
        if len(arguments) < 2:
            raise click.UsageError("name two snapshots to compare, OLD and NEW")
        return arguments[:2]
    # A serial is no file name; a file with an extension or a folder is a snapshot.
    snapshots = [a for a in arguments if os.path.isfile(a) and ("." in a or os.sep in a)]
    if snapshots:
        raise click.UsageError(
            f"--store compares the store at two times and takes serial numbers, not "
            f"snapshots ({snapshots[0]!r} is a file); drop --store to compare snapshots"
        )
    if since is None:
        raise click.UsageError("--store needs --since: the time OLD is the store at")
    return ()
