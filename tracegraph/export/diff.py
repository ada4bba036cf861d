"""What changed between two genealogies: the summary, JSON and CSV of a `Diff`.

Every output lists the changes in the same order (kind by kind as in
`diff.KINDS`, each kind sorted) and names both sides (source, capture or
sync time, `--as-of`), so that the same two genealogies give the same bytes.
"""

from __future__ import annotations

import json

from tracegraph._version import __version__
from tracegraph.diff import (
    KINDS,
    WHOLE,
    Added,
    Change,
    Diff,
    Moved,
    Removed,
    Replaced,
    change_data,
    side_text,
)
from tracegraph.escape import terminal_text
from tracegraph.export.csv import csv_text
from tracegraph.export.epcis import DEFAULT_EPC_URI, links_graph, to_epcis

FORMAT, VERSION = "tracegraph-diff", 1
# One mark per kind, as BOM compares show them (Fusion Manage: + for added,
# U+2212 minus for removed, ! for changed).
MARKS = {"added": "+", "removed": "\u2212", "moved": "~", "replaced": "⇄", "changed": "!"}
GREEN, RED, BLUE, MAGENTA, YELLOW, BOLD, RESET = (
    *("\x1b[32m", "\x1b[31m", "\x1b[34m", "\x1b[35m", "\x1b[33m", "\x1b[1m", "\x1b[0m"),
)
COLOURS = {"added": GREEN, "removed": RED, "moved": BLUE, "replaced": MAGENTA, "changed": YELLOW}
CSV_COLUMNS = (
    *("kind", "serial", "parent", "from_parent", "to_parent", "part_number"),
    *("removed", "added", "field", "old", "new", "first_seen_after", "first_seen_at", "note"),
)


def diff_data(diff: Diff) -> dict[str, object]:
    """The diff as the JSON export writes it (`format` tracegraph-diff, version 1)."""
    data: dict[str, object] = {
        "format": FORMAT,
        "version": VERSION,
        "from": diff.old.as_dict(),
        "to": diff.new.as_dict(),
    }
    for kind in KINDS:
        data[kind] = [change_data(change) for change in diff.of_kind(kind)]
    return data


def diff_json(diff: Diff) -> str:
    return json.dumps(diff_data(diff), indent=2, ensure_ascii=False) + "\n"


def _parent(serial: str | None) -> str:
    return serial if serial is not None else "no parent"


def describe(change: Change) -> tuple[str, str]:
    """A change in words: the unit it is about, and what happened to it."""
    if isinstance(change, Added):
        return change.serial, f"added under {_parent(change.parent)}"
    if isinstance(change, Removed):
        return change.serial, f"removed from {_parent(change.parent)}"
    if isinstance(change, Moved):
        before, after = _parent(change.from_parent), _parent(change.to_parent)
        return change.serial, f"moved from {before} to {after}"
    if isinstance(change, Replaced):
        return (
            change.removed,
            f"replaced by {change.added} under {change.parent} (part {change.part_number})",
        )
    old, new = change.old or "(none)", change.new or "(none)"
    return change.serial, f"{change.field} {old} → {new}"


def _count_line(diff: Diff) -> str:
    return " · ".join(f"{count} {kind}" for kind, count in diff.counts.items())


def diff_heading(diff: Diff) -> list[str]:
    """The lines that say what was compared: both sides, the question, the counts."""
    old, new = diff.old, diff.new
    depth = "any depth" if old.depth is None else f"depth ≤ {old.depth}"
    asked = f"compared {old.asked} · scope {old.scope} · {depth} · {diff.compared} units"
    if old.asked == WHOLE:
        asked = f"compared every unit of both sides · {diff.compared} units"
    return [
        f"Changes from {old.name} to {new.name}",
        f"  from  {side_text(old)} · {old.units} units",
        f"  to    {side_text(new)} · {new.units} units",
        f"  {asked}",
    ]


def diff_summary(diff: Diff, colour: bool = False) -> str:
    """Counts per kind, then one line per change (coloured for a terminal)."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if colour else text

    lines = [*map(terminal_text, diff_heading(diff)), ""]
    lines.append(paint(_count_line(diff), BOLD) if diff.anything_changed else "No changes.")
    described = []
    for change in diff.changes:
        serial, what = describe(change)
        described.append((change, terminal_text(serial), terminal_text(what)))
    width = max((len(serial) for _, serial, _ in described), default=0)
    if described:
        lines.append("")
    for change, serial, what in described:
        mark = paint(MARKS[change.kind], COLOURS[change.kind])
        line = f"{mark} {serial:<{width}}  {what}"
        if change.first_seen is not None:
            seen = change.first_seen
            line += terminal_text(f"  (first seen {_between(seen.after, seen.at)})")
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def _between(after: str, at: str) -> str:
    return f"between the syncs of {after} and {at}" if after else f"by the sync of {at}"


def diff_warnings(diff: Diff) -> list[str]:
    """Every warning: about the comparison, then each side's data warnings, named by side."""
    sides = [f"{side.name}: {w}" for side in (diff.old, diff.new) for w in side.warnings]
    return [*diff.warnings, *sides]


def change_row(change: Change) -> dict[str, object]:
    """A change as a table row: its JSON fields, `None` as empty, when first seen."""
    row: dict[str, object] = {"kind": change.kind}
    for name, value in change_data(change).items():
        if name != "first_seen":
            row[name] = "" if value is None else value
    if change.first_seen is not None:
        row["first_seen_after"] = change.first_seen.after
        row["first_seen_at"] = change.first_seen.at
    return row


def diff_csv(diff: Diff) -> str:
    """One row per change, after a `from` and a `to` row that name the sides (their `note`)."""
    rows: list[list[object]] = [
        [kind, *([""] * (len(CSV_COLUMNS) - 2)), side_text(side)]
        for kind, side in (("from", diff.old), ("to", diff.new))
    ]
    for change in diff.changes:
        row = change_row(change)
        rows.append([row.get(column, "") for column in CSV_COLUMNS])
    return csv_text(CSV_COLUMNS, rows)


def diff_links(diff: Diff) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The links a diff took apart and made, as (parent, child, time) each: removed, added.

    A change is at the time of the sync that first saw it (a store's diff),
    else at NEW's capture time. A unit added or removed without a parent, and
    an attribute change, make no link.
    """
    removed: list[tuple[str, str, str]] = []
    added: list[tuple[str, str, str]] = []
    fallback = diff.new.captured_at or diff.old.captured_at or "1970-01-01T00:00:00Z"
    for change in diff.changes:
        at = change.first_seen.at if change.first_seen is not None else fallback
        if isinstance(change, Added) and change.parent is not None:
            added.append((change.parent, change.serial, at))
        elif isinstance(change, Removed) and change.parent is not None:
            removed.append((change.parent, change.serial, at))
        elif isinstance(change, Moved):
            if change.from_parent is not None:
                removed.append((change.from_parent, change.serial, at))
            if change.to_parent is not None:
                added.append((change.to_parent, change.serial, at))
        elif isinstance(change, Replaced):
            removed.append((change.parent, change.removed, at))
            added.append((change.parent, change.added, at))
    return removed, added


def diff_epcis(diff: Diff, epc_uri: str = DEFAULT_EPC_URI) -> bytes:
    """The diff's link changes as EPCIS events: DELETE (`removing`) for each link taken
    apart, ADD (`assembling`) for each made, in time order (a DELETE first at one time)."""
    removed, added = diff_links(diff)
    graph = diff.graph
    known = {s: graph.nodes[s] for s in graph} if graph is not None else {}
    named = {s for parent, child, _ in (*removed, *added) for s in (parent, child)}
    units = links_graph(
        named,
        known,
        seeds=diff.new.asked,
        scope=f"diff from {side_text(diff.old)} to {side_text(diff.new)}",
        source=diff.new.source,
        captured_at=diff.new.captured_at,
        generated_at=diff.new.captured_at,
        tool_version=__version__,
    )
    return to_epcis(units, epc_uri, removed, added)
