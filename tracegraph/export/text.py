"""A text tree for the terminal: what `tracegraph unit SN` prints by default."""

from __future__ import annotations

import networkx as nx

from tracegraph.export import style
from tracegraph.graph import roots


def printable(text: str) -> str:
    """Text with control characters shown as escapes, so no serial can drive the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def unit_line(graph: nx.DiGraph, serial: str) -> str:
    attributes = graph.nodes[serial]
    _, part_line, name = style.unit_lines(attributes)
    fields = [printable(serial)]
    fields += [printable(f) for f in (part_line, name) if f]
    if attributes.get("batch"):
        fields.append(f"[batch {printable(str(attributes['batch']))}]")
    outcome = attributes.get("outcome")
    if outcome and outcome != "PASS":
        fields.append(f"[{printable(str(outcome))}]")
    if attributes.get("status") == "missing":
        fields.append("(missing)")
    fields += [f"[{mark}]" for mark in style.marks(attributes)]
    if attributes.get("seed"):
        fields.append("*")
    return "  ".join(fields)


def to_text(graph: nx.DiGraph) -> str:
    """Every tree of the genealogy, top-level units first; `*` marks the seeds."""
    heading, details = style.title_lines(graph)
    lines = [printable(heading), printable(details) + " · * marks a seed", ""]
    shown: set[str] = set()
    for root in roots(graph):
        # (serial, prefix for its line, prefix for its children)
        stack: list[tuple[str, str, str]] = [(root, "", "")]
        while stack:
            serial, lead, child_lead = stack.pop()
            if serial in shown:
                lines.append(f"{lead}{printable(serial)}  (shown above)")
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
        lines += [f"  ! {printable(w)}" for w in warnings]
    return "\n".join(lines) + "\n"
