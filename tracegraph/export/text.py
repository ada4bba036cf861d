"""A text tree for the terminal: what `tracegraph unit SN` prints by default."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import networkx as nx

from tracegraph.escape import terminal_text
from tracegraph.export.options import ExportOptions
from tracegraph.graph import outcome_mark, roots
from tracegraph.picture import style
from tracegraph.picture.collapse import collapse, failed, is_group

# ANSI styles for a terminal (`ExportOptions.colour`): never from the server's text.
BOLD_RED, RED, YELLOW, DIM, RESET = "\x1b[1;31m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m"
WHERE_USED_LIMIT = 20  # paths shown per seed; the rest are counted


def display_width(text: str) -> int:
    """Columns a terminal gives `text`: wide characters take two, combining ones none."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def _padded(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class _Paint:
    """ANSI colours, or none."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, colour: str) -> str:
        return f"{colour}{text}{RESET}" if self.on and text else text


def _columns(graph: nx.DiGraph, serial: str) -> tuple[str, str, str]:
    """A unit line's aligned columns: serial, part and revision, part name."""
    _, part_line, name = style.unit_lines(graph.nodes[serial])
    return terminal_text(serial), terminal_text(part_line), terminal_text(name)


def unit_line(
    graph: nx.DiGraph,
    serial: str,
    widths: tuple[int, int, int] = (0, 0, 0),
    paint: _Paint | None = None,
) -> str:
    """One unit's line; `widths` pad its columns to line up with its siblings'."""
    paint = paint or _Paint(False)
    attributes = graph.nodes[serial]
    if is_group(attributes):
        batch = attributes.get("batch")
        shown = f" ({terminal_text(str(batch))})" if batch else ""
        return f"… {terminal_text(style.group_heading(attributes))}{shown}"
    columns = _columns(graph, serial)
    fields = []
    for i, (text, width) in enumerate(zip(columns, widths, strict=True)):
        if i == 0:
            colour = BOLD_RED if attributes.get("suspect") or attributes.get("seed") else ""
            colour = DIM if attributes.get("status") == "missing" else colour
            fields.append(paint(_padded(text, width), colour) if colour else _padded(text, width))
        elif text or width:
            fields.append(_padded(text, width))
    if attributes.get("batch"):
        fields.append(f"[batch {terminal_text(str(attributes['batch']))}]")
    if failed(attributes):
        fields.append(paint(f"[{terminal_text(outcome_mark(attributes))}]", RED))
    if attributes.get("status") == "missing":
        fields.append(paint("(missing)", DIM))
    fields += [paint(f"[{mark}]", YELLOW) for mark in style.marks(attributes)]
    if attributes.get("seed"):
        fields.append(paint("*", BOLD_RED))
    return "  ".join(fields).rstrip()


def _sibling_widths(graph: nx.DiGraph, serials: list[str]) -> tuple[int, int, int]:
    units = [s for s in serials if not is_group(graph.nodes[s])]
    columns = [_columns(graph, s) for s in units]
    if not columns:
        return (0, 0, 0)
    serial, part, name = (max(display_width(c[i]) for c in columns) for i in range(3))
    return serial, part, name


def paths_up(graph: nx.DiGraph, serial: str) -> Iterator[list[str]]:
    """Every path from a unit up to a top-level unit, the unit first (each unit once a path)."""
    stack: list[list[str]] = [[serial]]
    while stack:
        path = stack.pop()
        parents = [p for p in sorted(graph.predecessors(path[-1]), reverse=True) if p not in path]
        if not parents:
            yield path
        stack += [[*path, parent] for parent in parents]


def where_used(graph: nx.DiGraph) -> list[str]:
    """For each seed, its path to the top: `CL000203 → PK0002 → EB0002`."""
    lines = ["Where used (seed → … → top-level unit):"]
    for seed in sorted(s for s, a in graph.nodes(data=True) if a.get("seed")):
        for shown, path in enumerate(paths_up(graph, seed)):
            if shown == WHERE_USED_LIMIT:
                lines.append(f"  … {terminal_text(seed)} is used in more places")
                break
            lines.append("  " + " → ".join(map(terminal_text, path)))
    return lines


def to_text(graph: nx.DiGraph, options: ExportOptions | None = None) -> str:
    """Every tree of the genealogy, top-level units first; `*` marks the seeds.

    Every unit has its line, unless `--collapse siblings` asks for repeated parts
    as one line each (`… 40 × CAP-100N rev A (C100-2409)`). Siblings' columns
    line up. Traced up (`--scope up`), each seed's path to the top comes first.
    ANSI colours mark seeds, suspects, failed outcomes and missing units when
    `options.colour` says the output is a terminal that wants them.
    """
    options = options or ExportOptions()
    paint = _Paint(options.colour)
    if options.collapse == "siblings":
        graph = collapse(graph)
    heading, details = style.title_block(graph)
    details[0] += " · * marks a seed"
    lines = [terminal_text(heading), *map(terminal_text, details), ""]
    if graph.graph.get("scope") == "up":
        lines += [*where_used(graph), ""]
    shown: set[str] = set()
    tops = list(roots(graph))
    # (serial, prefix for its line, prefix for its children, its siblings' widths)
    stack: list[tuple[str, str, str, tuple[int, int, int]]] = []
    for root in reversed(tops):
        stack.append((root, "", "", (0, 0, 0)))
    while stack:
        serial, lead, child_lead, widths = stack.pop()
        if serial in shown:
            lines.append(f"{lead}{terminal_text(serial)}  (shown above)")
            continue
        shown.add(serial)
        lines.append(lead + unit_line(graph, serial, widths, paint))
        children = sorted(graph.successors(serial))
        child_widths = _sibling_widths(graph, children)
        for i, child in reversed(list(enumerate(children))):
            last = i == len(children) - 1
            stack.append(
                (
                    child,
                    child_lead + ("└── " if last else "├── "),
                    child_lead + ("    " if last else "│   "),
                    child_widths,
                )
            )
    warnings = graph.graph.get("warnings", [])
    if warnings:
        lines += ["", f"{len(warnings)} warning(s):"]
        lines += [f"  ! {terminal_text(w)}" for w in warnings]
    return "\n".join(lines) + "\n"
