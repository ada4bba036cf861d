"""Outputs: checked before the crawl, rendered in memory, delivered all at once."""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracegraph.cli.terminal import echo_err
from tracegraph.diff import Diff
from tracegraph.errors import ExportError, TracegraphWarning
from tracegraph.export import diff_format_for, extension_disagrees, format_for
from tracegraph.export.csv import csv_text
from tracegraph.export.options import ExportOptions
from tracegraph.files import write_atomically
from tracegraph.impact import ImpactReport
from tracegraph.picture.graphviz import find_dot
from tracegraph.redact import Redactor
from tracegraph.sources.snapshot import RecordingSource, dump_snapshot
from tracegraph.tracing import render

if TYPE_CHECKING:  # networkx belongs to graph.py and export/; here it only names a type
    import networkx as nx

GRAPHVIZ_FORMATS = {"svg", "png", "pdf"}


@dataclass(frozen=True)
class Target:
    """One output: where (`-` is stdout) and in which format."""

    path: str
    fmt: str


@dataclass(frozen=True)
class Plan:
    """Every output of a run, and the snapshot to save with them."""

    targets: list[Target]
    save_snapshot: str | None
    redact_map: str | None = None

    @property
    def stdout_formats(self) -> set[str]:
        return {t.fmt for t in self.targets if t.path == "-"}


def _targets(
    outputs: tuple[str, ...], format_name: str | None, report: bool, diff: bool = False
) -> list[Target]:
    try:
        if diff:
            targets = [Target(p, diff_format_for(p, format_name)) for p in outputs]
        else:
            targets = [Target(p, format_for(p, format_name, report=report)) for p in outputs]
        if not targets and not report and not diff:
            targets = [Target("-", format_for("-", format_name))]
    except ExportError as error:
        raise click.UsageError(str(error)) from None
    for target in targets:
        if extension_disagrees(target.path, target.fmt):
            raise click.UsageError(
                f"-f {target.fmt} would write {target.path!r} in another format than its "
                "extension says; use -f with -o - or with outputs of that one kind"
            )
    return targets


def _same_file(path: str, other: str | None) -> bool:
    """Whether two names point at one existing file."""
    if not other or not (os.path.exists(path) and os.path.exists(other)):
        return False
    return os.path.samefile(path, other)


def _check_path(path: str, source_file: str | None, also_read: tuple[str, ...] = ()) -> None:
    parent = Path(path).parent
    if not parent.is_dir():
        raise ExportError(f"cannot write {path!r}: folder {str(parent)!r} does not exist")
    if Path(path).is_dir():
        raise ExportError(f"cannot write {path!r}: it is a folder")
    if _same_file(path, source_file):
        raise ExportError(f"cannot write {path!r}: it is the --source snapshot being read")
    if any(_same_file(path, other) for other in also_read):
        raise ExportError(f"cannot write {path!r}: it is a snapshot being compared")


def plan_outputs(
    outputs: tuple[str, ...],
    format_name: str | None,
    *,
    report: bool = False,
    save_snapshot: str | None = None,
    source_file: str | None = None,
    diff: bool = False,
    also_read: tuple[str, ...] = (),
    redact_map: str | None = None,
) -> Plan:
    """Check every output before the crawl starts, so a typo costs no crawl.

    `diff`: the outputs of `tracegraph diff`, which reads `also_read` too.
    """
    targets = _targets(outputs, format_name, report, diff)
    paths = [t.path for t in targets if t.path != "-"]
    paths += [path for path in (save_snapshot, redact_map) if path]
    if len({os.path.abspath(p) for p in paths}) < len(paths):
        raise click.UsageError(
            "the same file is named twice among -o, --save-snapshot and --redact-map"
        )
    for path in paths:
        _check_path(path, source_file, also_read)
    if any(t.fmt in GRAPHVIZ_FORMATS for t in targets):
        find_dot()
    return Plan(targets, save_snapshot, redact_map)


def deliver(
    plan: Plan,
    result: nx.DiGraph | ImpactReport | Diff,
    options: ExportOptions,
    recorder: RecordingSource | None = None,
    redactor: Redactor | None = None,
) -> None:
    """Render every output in memory, then write them all (stdout last).

    What an exporter warns about (a PNG scaled down to fit) is printed as a warning.
    The snapshot is what the API sent, never redacted; the redaction map is
    the `redactor`'s tokens.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TracegraphWarning)
        # Colours only for the terminal; a file gets plain text.
        plain = dataclasses.replace(options, colour=False)
        rendered = [
            (t, render(result, t.fmt, options if t.path == "-" else plain)) for t in plan.targets
        ]
    for warning in caught:
        if issubclass(warning.category, TracegraphWarning):
            echo_err(f"Warning: {warning.message}")
    files = {t.path: data for t, data in rendered if t.path != "-"}
    if recorder is not None and plan.save_snapshot:
        files[plan.save_snapshot] = dump_snapshot(recorder.snapshot(recorder.captured_at)).encode()
    if redactor is not None and plan.redact_map:
        files[plan.redact_map] = redaction_map(redactor).encode("utf-8")
    write_atomically(files)
    for target, data in rendered:
        if target.path == "-":
            write_stdout(data)


def redaction_map(redactor: Redactor) -> str:
    """Every token and what it stands for, as CSV for the key's owner."""
    return csv_text(("kind", "value", "token"), redactor.map_rows())


def write_stdout(data: bytes) -> None:
    """All of `data` on stdout: a write may take only part (a pipe whose reader left
    takes what fits and reports no error until the next write), so write until done."""
    stream = sys.stdout.buffer
    rest = memoryview(data)
    while rest:
        rest = rest[stream.write(rest) or 0 :]
    stream.flush()
