"""Mermaid flowchart, for Markdown pages that render it (GitHub, GitLab, wikis).

Checked with the Mermaid CLI: every label and title reads exactly as the data
says, whitespace runs shown as one space (`escape.mermaid_label`). The
front-matter title goes through DOMPurify in Mermaid, which cannot show a `<`
as itself, so such a title is the label of a frame around the diagram instead.
"""

from __future__ import annotations

import networkx as nx

from tracegraph.export import style
from tracegraph.export.escape import (
    mermaid_label,
    mermaid_text,
    mermaid_title_is_plain,
    yaml_string,
)


def _class_lines(name: str, definition: str, members: list[str]) -> list[str]:
    """A classDef and its class statement; nothing when no unit has the class."""
    if not members:
        return []
    return [f"  classDef {name} {definition}", f"  class {','.join(members)} {name}"]


def _node_line(attributes: dict[str, object]) -> str:
    """A unit's label rows: serial (bold), part and revision, part name, marks, outcome."""
    rows = [
        f"<b>{mermaid_label(line)}</b>" if i == 0 else mermaid_label(line)
        for i, line in enumerate(style.unit_lines(attributes))
        if line
    ]
    rows += [f"<b>{mark}</b>" for mark in style.marks(attributes)]
    outcome = str(attributes.get("outcome", ""))
    if outcome and outcome != "PASS":
        rows.append(mermaid_label(outcome))
    if attributes.get("status") == "missing":
        rows.append("missing (404)")
    return "<br/>".join(rows)


def _classes(graph: nx.DiGraph, ids: dict[str, str]) -> list[str]:
    """Part colours, then the seed and missing marks, for the units that have them."""
    colours = style.part_colours(graph)
    lines = []
    for i, part in enumerate(sorted(colours)):
        members = [ids[s] for s in sorted(graph) if graph.nodes[s].get("part_number", "") == part]
        lines += _class_lines(f"part{i}", f"fill:{colours[part]},stroke:{style.BORDER}", members)
    seeds = [ids[s] for s in sorted(graph) if graph.nodes[s].get("seed")]
    lines += _class_lines("seed", f"stroke:{style.SEED_BORDER},stroke-width:3px", seeds)
    missing = [ids[s] for s in sorted(graph) if graph.nodes[s].get("status") == "missing"]
    return lines + _class_lines("missing", "stroke-dasharray:5 5", missing)


def to_mermaid(graph: nx.DiGraph) -> str:
    """The genealogy as a top-down Mermaid flowchart, units coloured by part number."""
    ids = {serial: f"u{i}" for i, serial in enumerate(sorted(graph))}
    heading, details = style.title_lines(graph)
    framed = not mermaid_title_is_plain(heading)
    lines = [] if framed else ["---", f"title: {yaml_string(mermaid_text(heading))}", "---"]
    lines += ["flowchart TD", f"  %% {' '.join(details.split())}"]
    indent = "    " if framed else "  "
    if framed:
        lines.append(f'  subgraph title0 ["{mermaid_label(heading)}"]')
    lines += [f'{indent}{ids[s]}["{_node_line(graph.nodes[s])}"]' for s in sorted(graph)]
    lines += [f"{indent}{ids[p]} --> {ids[c]}" for p, c in sorted(graph.edges)]
    if framed:
        lines.append("  end")
        lines += _class_lines("frame", "fill:none,stroke:none", ["title0"])
    return "\n".join(lines + _classes(graph, ids)) + "\n"
