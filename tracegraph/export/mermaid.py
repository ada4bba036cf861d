"""Mermaid flowchart, for Markdown pages that render it (GitHub, GitLab, wikis)."""

from __future__ import annotations

import re

import networkx as nx

from tracegraph.export import style

_ENTITY = re.compile(r'[#"<>&`\[\]{}()|\\]')


def mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: markup characters as Mermaid entity codes."""
    text = " ".join(text.split())
    return _ENTITY.sub(lambda m: f"#{ord(m[0])};", text)


def to_mermaid(graph: nx.DiGraph) -> str:
    """The genealogy as a top-down Mermaid flowchart, units coloured by part number."""
    colours = style.part_colours(graph)
    ids = {serial: f"u{i}" for i, serial in enumerate(sorted(graph))}
    heading, details = style.title_lines(graph)
    lines = [
        "---",
        f'title: "{mermaid_text(heading)}"',
        "---",
        "flowchart TD",
        f"  %% {' '.join(details.split())}",
    ]
    for serial in sorted(graph):
        attributes = graph.nodes[serial]
        rows = [
            f"<b>{mermaid_text(line)}</b>" if i == 0 else mermaid_text(line)
            for i, line in enumerate(style.unit_lines(attributes))
            if line
        ]
        rows += [f"<b>{mark}</b>" for mark in style.marks(attributes)]
        if attributes.get("status") == "missing":
            rows.append("missing (404)")
        lines.append(f'  {ids[serial]}["{"<br/>".join(rows)}"]')
    lines += [f"  {ids[p]} --> {ids[c]}" for p, c in sorted(graph.edges)]
    parts = sorted(colours)
    for i, part in enumerate(parts):
        members = [ids[s] for s in sorted(graph) if graph.nodes[s].get("part_number", "") == part]
        lines.append(f"  classDef part{i} fill:{colours[part]},stroke:{style.BORDER}")
        lines.append(f"  class {','.join(members)} part{i}")
    seeds = [ids[s] for s in sorted(graph) if graph.nodes[s].get("seed")]
    if seeds:
        lines.append(f"  classDef seed stroke:{style.SEED_BORDER},stroke-width:3px")
        lines.append(f"  class {','.join(seeds)} seed")
    missing = [ids[s] for s in sorted(graph) if graph.nodes[s].get("status") == "missing"]
    if missing:
        lines.append("  classDef missing stroke-dasharray:5 5")
        lines.append(f"  class {','.join(missing)} missing")
    return "\n".join(lines) + "\n"
