"""DOT text, written with our own quoting.

pydot 4 mangles node IDs containing `:`, named `node`/`edge`/`graph`, ending
in a backslash or holding `<...>` (DESIGN §7), so the DOT is written here and
every ID is checked against the rules of Graphviz's own lexer.

Two flavours come from one writer: `to_dot` keeps serial numbers as node IDs
(the exported `.dot`), `to_drawing_dot` numbers the nodes `u0, u1, ...` for
Graphviz to draw, because Graphviz 2.43 copies entity-like IDs into SVG
unescaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx

from tracegraph.export import style
from tracegraph.export.escape import dot_html, dot_id, dot_tooltip_line
from tracegraph.export.layout import plan_layout

GRAPH_NAME = "genealogy"
Attributes = list[tuple[str, str]]  # DOT attribute name, value as DOT text


@dataclass(frozen=True)
class Drawing:
    """DOT for Graphviz to draw, and what each of its numbered nodes stands for."""

    dot: str
    titles: dict[str, str]  # drawing node id -> the serial number it shows
    title: str  # the picture's title, for the SVG document


def _tooltip(attributes: dict[str, object]) -> str:
    return '"' + "\\n".join(map(dot_tooltip_line, style.tooltip_lines(attributes))) + '"'


def _node_label(attributes: dict[str, object]) -> str:
    serial, part_line, name = style.unit_lines(attributes)
    rows = [f"<B>{dot_html(serial)}</B>"]
    if attributes.get("status") == "missing":
        rows.append('<FONT COLOR="#7f7f7f">missing (404)</FONT>')
    if part_line:
        rows.append(dot_html(part_line))
    if name:
        rows.append(f'<FONT POINT-SIZE="9">{dot_html(name)}</FONT>')
    for mark in style.marks(attributes):
        colour = style.TOP_LEVEL_BORDER if mark == "TOP-LEVEL" else style.SEED_BORDER
        rows.append(f'<FONT POINT-SIZE="9" COLOR="{colour}"><B>{mark}</B></FONT>')
    outcome = str(attributes.get("outcome", ""))
    if outcome and outcome != "PASS":
        rows.append(f'<FONT POINT-SIZE="9" COLOR="#b03a2e">{dot_html(outcome)}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


def _node_style(attributes: dict[str, object], fill: str) -> Attributes:
    if attributes.get("status") == "missing":
        attrs = [
            ("style", '"rounded,dashed"'),
            ("fillcolor", f'"{style.MISSING_FILL}"'),
            ("fontcolor", '"#555555"'),
        ]
    else:
        attrs = [("style", '"rounded,filled"'), ("fillcolor", f'"{fill}"')]
    if attributes.get("top_level"):
        attrs += [("color", f'"{style.TOP_LEVEL_BORDER}"'), ("penwidth", "2"), ("peripheries", "2")]
    elif attributes.get("seed"):
        attrs += [("color", f'"{style.SEED_BORDER}"'), ("penwidth", "3")]
    return attrs


@dataclass(frozen=True)
class Picture:
    """What the DOT says, before it is written: attributes as DOT value text."""

    graph: Attributes
    node: Attributes  # defaults for every node
    edge: Attributes  # defaults for every edge
    nodes: list[tuple[str, Attributes]]  # serial number, its attributes
    edges: list[tuple[str, str, Attributes]]  # parent, child, attributes


def picture(graph: nx.DiGraph) -> Picture:
    """The genealogy's picture: labels, colours, marks and layout hints."""
    colours = style.part_colours(graph)
    layout = plan_layout(graph)
    heading, details = style.title_lines(graph)
    title = f'<<B>{dot_html(heading)}</B><BR/><FONT POINT-SIZE="10">{dot_html(details)}</FONT>>'
    graph_attributes = [
        ("rankdir", "TB"),
        ("labelloc", "t"),
        ("labeljust", "l"),
        ("fontname", f'"{style.FONT}"'),
        ("fontsize", "14"),
        ("nodesep", "0.2"),
        ("ranksep", "0.45"),
    ]
    if layout.columns:
        graph_attributes += [("pack", "24"), ("packmode", f'"array_u{layout.columns}"')]
    graph_attributes.append(("label", title))
    nodes = []
    for serial in sorted(graph):
        attributes = graph.nodes[serial]
        fill = colours[str(attributes.get("part_number", ""))]
        attrs = [("label", _node_label(attributes)), *_node_style(attributes, fill)]
        attrs.append(("tooltip", _tooltip(attributes)))
        if serial in layout.tree_order:
            attrs.append(("sortv", str(layout.tree_order[serial])))
        nodes.append((serial, attrs))
    edges = []
    for parent, child in sorted(graph.edges):
        length = layout.lengths.get((parent, child))
        edges.append((parent, child, [("minlen", str(length))] if length else []))
    return Picture(
        graph=graph_attributes,
        node=[
            ("shape", "box"),
            ("fontname", f'"{style.FONT}"'),
            ("fontsize", "11"),
            ("color", f'"{style.BORDER}"'),
            ("margin", '"0.10,0.05"'),
        ],
        edge=[("color", f'"{style.EDGE_COLOUR}"'), ("arrowsize", "0.6")],
        nodes=nodes,
        edges=edges,
    )


def _attribute_list(attributes: Attributes) -> str:
    return ", ".join(f"{name}={value}" for name, value in attributes)


def _write(graph: nx.DiGraph, node_id: Callable[[str], str]) -> str:
    drawn = picture(graph)
    lines = [
        f"digraph {GRAPH_NAME} {{",
        f"  graph [{_attribute_list(drawn.graph)}];",
        f"  node [{_attribute_list(drawn.node)}];",
        f"  edge [{_attribute_list(drawn.edge)}];",
    ]
    for serial, attributes in drawn.nodes:
        lines.append(f"  {node_id(serial)} [{_attribute_list(attributes)}];")
    for parent, child, attributes in drawn.edges:
        extra = f" [{_attribute_list(attributes)}]" if attributes else ""
        lines.append(f"  {node_id(parent)} -> {node_id(child)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(graph: nx.DiGraph) -> str:
    """The genealogy as DOT, with serial numbers as node IDs."""
    return _write(graph, dot_id)


def to_drawing(graph: nx.DiGraph) -> Drawing:
    """The same picture with numbered node IDs, safe for Graphviz to draw into SVG."""
    numbers = {serial: f"u{i}" for i, serial in enumerate(sorted(graph))}
    heading, _ = style.title_lines(graph)
    return Drawing(
        _write(graph, numbers.__getitem__),
        {number: serial for serial, number in numbers.items()},
        heading,
    )


def to_drawing_dot(graph: nx.DiGraph) -> str:
    """The DOT of `to_drawing`."""
    return to_drawing(graph).dot
