"""A text tree for the terminal: what `tracegraph unit SN` prints by default."""

from __future__ import annotations

import networkx as nx

from tracegraph.export import style
from tracegraph.export.collapse import collapse, is_group
from tracegraph.export.escape import terminal_text
from tracegraph.export.options import ExportOptions
from tracegraph.graph import roots


def unit_line(graph: nx.DiGraph, serial: str) -> str:
    attributes = graph.nodes[serial]
    if is_group(attributes):
        batch = attributes.get("batch")
        shown = f" ({terminal_text(str(batch))})" if batch else ""
        return f"… {terminal_text(style.group_heading(attributes))}{shown}"
    _, part_line, name = style.unit_lines(attributes)
    fields = [terminal_text(serial)]
    fields += [terminal_text(f) for f in (part_line, name) if f]
    if attributes.get("batch"):
        fields.append(f"[batch {terminal_text(str(attributes['batch']))}]")
    outcome = attributes.get("outcome")
    if outcome and outcome != "PASS":
        fields.append(f"[{terminal_text(str(outcome))}]")
    if attributes.get("status") == "missing":
        fields.append("(missing)")
    fields += [f"[{mark}]" for mark in style.marks(attributes)]
    if attributes.get("seed"):
        fields.append("*")
    return "  ".join(fields)


def to_text(graph: nx.DiGraph, options: ExportOptions | None = None) -> str:
    """Every tree of the genealogy, top-level units first; `*` marks the seeds.

    Every unit has its line, unless `--collapse siblings` asks for repeated parts
    as one line each (`… 40 × CAP-100N rev A (C100-2409)`).
    """
    if options is not None and options.collapse == "siblings":
        graph = collapse(graph)
    heading, details = style.title_lines(graph)
    lines = [terminal_text(heading), terminal_text(details) + " · * marks a seed", ""]
    shown: set[str] = set()
    for root in roots(graph):
        # (serial, prefix for its line, prefix for its children)
        stack: list[tuple[str, str, str]] = [(root, "", "")]
        while stack:
            serial, lead, child_lead = stack.pop()
            if serial in shown:
                lines.append(f"{lead}{terminal_text(serial)}  (shown above)")
                continue
            shown.add(serial)
            lines.append(lead + unit_line(graph, serial))
            children = sorted(graph.successors(serial))
            for i, child in reversed(list(enumerate(children))):
                last = i == len(children) - 1
                stack.append(
                    (
                        child,
                        child_lead + ("└── " if last else "├── "),
                        child_lead + ("    " if last else "│   "),
                    )
                )
    warnings = graph.graph.get("warnings", [])
    if warnings:
        lines += ["", f"{len(warnings)} warning(s):"]
        lines += [f"  ! {terminal_text(w)}" for w in warnings]
    return "\n".join(lines) + "\n"
