"""The commands. Each reads: parse, open the source, one library call, deliver, exit code."""

from __future__ import annotations

import asyncio
import dataclasses
import json
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
    output_options,
    scope_options,
    source_options,
    text,
)
from tracegraph.cli.outputs import deliver, plan_outputs
from tracegraph.cli.progress import ProgressLine
from tracegraph.cli.terminal import echo_err, error_edge, report_warnings
from tracegraph.export.escape import terminal_text
from tracegraph.export.impact import impact_summary
from tracegraph.export.options import ExportOptions
from tracegraph.genealogy import Scope
from tracegraph.source import Source
from tracegraph.sources.snapshot import RecordingSource
from tracegraph.tracing import batches_async, impact_async, open_source, trace_async

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
@scope_options
@output_options
def unit(serials: tuple[str, ...], **options: Any) -> None:
    """Genealogy of units, from their serial numbers.

    Prints a text tree when no -o is given. The API key comes from
    TOFUPILOT_API_KEY (or --api-key).

    \b
    Example:
      export TOFUPILOT_API_KEY=...
      tracegraph unit DRN-X1-0001 -o genealogy.svg -o genealogy.json
      tracegraph unit DRN-X1-0001 --source samples/factory.json --scope up
    """
    genealogy_command(Run.parse(options), serials, ())


@main.command()
@click.argument("numbers", nargs=-1, callback=text)
@source_options
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
