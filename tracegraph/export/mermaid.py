"""Mermaid flowchart, for Markdown pages that render it (GitHub, GitLab, wikis).

Checked with the Mermaid CLI: every label and title reads exactly as the data
says, whitespace runs shown as one space (`escape.mermaid_label`). The
front-matter title goes through DOMPurify in Mermaid, which cannot show a `<`
as itself, so such a title is the label of a frame around the diagram instead.
"""

from __future__ import annotations

import networkx as nx

from tracegraph.errors import ExportError
from tracegraph.escape import (
    mermaid_label,
    mermaid_text,
    mermaid_title_is_plain,
    yaml_string,
)
from tracegraph.export.options import ExportOptions
from tracegraph.graph import outcome_mark
from tracegraph.picture import style
from tracegraph.picture.collapse import collapse, is_group

MAX_EDGES = 500  # Mermaid's maxEdges, which GitHub and GitLab keep
MAX_TEXT = 50_000  # Mermaid's maxTextSize


def _class_lines(name: str, definition: str, members: list[str]) -> list[str]:
    """A classDef and its class statement; nothing when no unit has the class."""
    if not members:
        return []
    return [f"  classDef {name} {definition}", f"  class {','.join(members)} {name}"]


def _node_line(attributes: dict[str, object]) -> str:
    """A unit's label rows: serial (bold), part and revision, part name, marks, outcome."""
    if is_group(attributes):
        lines = style.group_lines(attributes)
        return "<br/>".join(
            f"<b>{mermaid_label(line.text)}</b>" if i == 0 else mermaid_label(line.text)
            for i, line in enumerate(lines)
        )
    rows = [
        f"<b>{mermaid_label(line)}</b>" if i == 0 else mermaid_label(line)
        for i, line in enumerate(style.unit_lines(attributes))
        if line
    ]
    rows += [f"<b>{mark}</b>" for mark in style.marks(attributes)]
    outcome = outcome_mark(attributes)
    if outcome:
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


def _box(key: str, attributes: dict[str, object]) -> str:
    """A node: a rounded box for a unit, a `[[...]]` box (double sides) for a group."""
    label = _node_line(attributes)
    return f'{key}[["{label}"]]' if is_group(attributes) else f'{key}["{label}"]'


def _limit_passed(graph: nx.DiGraph, text: str) -> str | None:
    """Which of GitHub's and GitLab's Mermaid limits the diagram passes, if any."""
    if graph.number_of_edges() > MAX_EDGES:
        return (
            f"{graph.number_of_edges():,} links, and GitHub and GitLab draw at most "
            f"{MAX_EDGES} (Mermaid's maxEdges)"
        )
    if len(text) > MAX_TEXT:
        return (
            f"{len(text):,} characters, and GitHub and GitLab draw at most {MAX_TEXT:,} "
            "(Mermaid's maxTextSize)"
        )
    return None


def to_mermaid(graph: nx.DiGraph, options: ExportOptions | None = None) -> str:
    """The genealogy as a top-down Mermaid flowchart, units coloured by part number.

    Mermaid as GitHub and GitLab run it draws at most 500 links and 50,000
    characters: past that, repeated parts are folded into groups (`--collapse
    auto`), and a diagram still too big is an `ExportError` naming the limit.
    """
    mode = options.collapse if options is not None else "auto"
    view = collapse(graph) if mode == "siblings" else graph
    text = _flowchart(view)
    if mode == "auto" and _limit_passed(view, text):
        view = collapse(graph)
        text = _flowchart(view)
    passed = _limit_passed(view, text)
    if passed:
        folded = " even with repeated parts folded" if view is not graph else ""
        raise ExportError(
            f"the Mermaid diagram would have {passed}{folded}; narrow the genealogy "
            "(--scope, --depth) or write SVG or HTML"
        )
    return text


def _flowchart(graph: nx.DiGraph) -> str:
    ids = {serial: f"u{i}" for i, serial in enumerate(sorted(graph))}
    heading, block = style.title_block(graph)
    details = " · ".join(block)
    framed = not mermaid_title_is_plain(heading)
    lines = [] if framed else ["---", f"title: {yaml_string(mermaid_text(heading))}", "---"]
    lines += ["flowchart TD", f"  %% {' '.join(details.split())}"]
    indent = "    " if framed else "  "
    if framed:
        lines.append(f'  subgraph title0 ["{mermaid_label(heading)}"]')
    lines += [f"{indent}{_box(ids[s], graph.nodes[s])}" for s in sorted(graph)]
    lines += [f"{indent}{ids[p]} --> {ids[c]}" for p, c in sorted(graph.edges)]
    if framed:
        lines.append("  end")
        lines += _class_lines("frame", "fill:none,stroke:none", ["title0"])
    return "\n".join(lines + _classes(graph, ids)) + "\n"
