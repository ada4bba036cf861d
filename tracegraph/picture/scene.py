"""The picture as DOT statements: labels, colours, marks, and how it is laid out.

pydot 4 mangles node IDs containing `:`, named `node`/`edge`/`graph`, ending
in a backslash or holding `<...>` (DESIGN §7), so the DOT is written here and
every ID is checked against the rules of Graphviz's own lexer.

One `Picture` gives both the exported `.dot` (`to_dot`: serial numbers as node
IDs, every unit, layout hints for `dot`) and what Graphviz draws
(`drawing.to_drawing`: numbered nodes, because Graphviz 2.43 copies
entity-like IDs into SVG unescaped; perhaps groups of repeated parts; perhaps
boxes placed by the tree layout).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import networkx as nx

from tracegraph.escape import dot_tooltip_line
from tracegraph.graph import outcome_mark
from tracegraph.picture import style
from tracegraph.picture.collapse import is_group, units_with_warnings, warnings_about
from tracegraph.picture.layout import ASPECT, plan_layout
from tracegraph.picture.metrics import Line, html_label
from tracegraph.picture.treelayout import Placement

Edge = tuple[str, str]
Hints = tuple["Attributes", dict[str, "Attributes"], dict[Edge, "Attributes"]]
ARROW = 6.0  # points an arrowhead takes (arrowsize 0.6)

GRAPH_NAME = "genealogy"
Attributes = list[tuple[str, str]]  # DOT attribute name, value as DOT text
_GRAPH_ORDER = [
    *("rankdir", "labelloc", "labeljust", "fontname", "fontsize"),
    *("nodesep", "ranksep", "pack", "packmode", "splines", "label"),
]
POINTS = 72.0


def _tooltip(lines: list[str]) -> str:
    return '"' + "\\n".join(map(dot_tooltip_line, lines)) + '"'


def box_lines(
    attributes: dict[str, object], warned: bool = False
) -> tuple[list[Line], list[str | None]]:
    """What a box shows, line by line, and each line's colour (None: the default).

    `warned`: a warning of the genealogy names the unit.
    """
    get = attributes.get
    if get("group"):
        return style.group_lines(attributes), [None] * 4
    serial, part_line, name = style.unit_lines(attributes)
    lines = [Line(serial, 11, bold=True)]
    colours: list[str | None] = [None]
    if get("status") == "missing":
        lines.append(Line("missing (404)"))
        colours.append(style.MISSING_COLOUR)
    if part_line:
        lines.append(Line(part_line))
        colours.append(None)
    if name:
        lines.append(Line(name, 9))
        colours.append(None)
    if get("suspect") or get("top_level") or get("loose"):
        for mark in style.marks(attributes):
            lines.append(Line(mark, 9, bold=True))
            colours.append(style.TOP_LEVEL_BORDER if mark == "TOP-LEVEL" else style.SEED_BORDER)
    change = str(get("change", ""))
    if change:
        for text, bold in style.change_lines(attributes):
            lines.append(Line(text, 9, bold=bold))
            changed = text == "CHANGED" or not bold
            colours.append(style.CHANGE_COLOURS["changed" if changed else change])
    outcome = outcome_mark(attributes)
    if outcome:  # the run did not pass
        lines.append(Line(style.clip(outcome), 9))
        colours.append(style.OUTCOME_COLOUR)
    if warned:
        lines.append(Line("WARNING", 9, bold=True))
        colours.append(style.WARNING_COLOUR)
    return lines, colours


def node_style(attributes: dict[str, object], fill: str) -> Attributes:
    if attributes.get("status") == "missing":
        attrs = [
            ("style", '"rounded,dashed"'),
            ("fillcolor", f'"{style.MISSING_FILL}"'),
            ("fontcolor", '"#555555"'),
        ]
    elif is_group(attributes):
        attrs = [("shape", "box3d"), ("style", "filled"), ("fillcolor", f'"{fill}"')]
    else:
        attrs = [("style", '"rounded,filled"'), ("fillcolor", f'"{fill}"')]
    change = str(attributes.get("change", ""))
    if attributes.get("departed"):
        shape = [("shape", "box3d"), ("style", "dashed")] if is_group(attributes) else []
        attrs = [
            ("style", '"rounded,dashed"'),
            ("fillcolor", f'"{style.DEPARTED_FILL}"'),
            ("fontcolor", '"#555555"'),
            ("color", f'"{style.CHANGE_COLOURS.get(change, style.DEPARTED_BORDER)}"'),
            ("penwidth", "2" if change else "1"),
        ]
        attrs = [*shape, *attrs[1:]] if shape else attrs
    elif change:
        width = "2" if change == "changed" else "3"
        attrs += [("color", f'"{style.CHANGE_COLOURS[change]}"'), ("penwidth", width)]
    elif attributes.get("top_level"):
        attrs += [("color", f'"{style.TOP_LEVEL_BORDER}"'), ("penwidth", "2"), ("peripheries", "2")]
    elif attributes.get("seed"):
        attrs += [("color", f'"{style.SEED_BORDER}"'), ("penwidth", "3")]
    return attrs


def edge_style(attributes: dict[str, object], child: dict[str, object]) -> Attributes:
    """A link OLD had and NEW lacks (a diff picture's) is dashed."""
    if attributes.get("change") == "departed" or child.get("departed"):
        return [("style", "dashed"), ("color", f'"{style.DEPARTED_BORDER}"')]
    return []


@dataclass(frozen=True)
class Picture:
    """What the DOT says, before it is written: attributes as DOT value text."""

    graph: Attributes
    node: Attributes  # defaults for every node
    edge: Attributes  # defaults for every edge
    nodes: list[tuple[str, Attributes]]  # serial number (or group key), its attributes
    edges: list[tuple[str, str, Attributes]]  # parent, child, attributes


def _dot_hints(graph: nx.DiGraph, rankdir: str, aspect: float) -> Hints:
    """For Graphviz's `dot`: staggered fans (edge lengths), a forest packed into a grid."""
    layout = plan_layout(graph, rankdir, aspect)
    hints: Attributes = [("rankdir", rankdir), ("nodesep", "0.2"), ("ranksep", "0.45")]
    if layout.columns:
        hints += [("pack", "24"), ("packmode", f'"array_u{layout.columns}"')]
    nodes = {serial: [("sortv", str(place))] for serial, place in layout.tree_order.items()}
    edges = {edge: [("minlen", str(length))] for edge, length in layout.lengths.items()}
    return hints, nodes, edges


def _placed(placement: Placement, sizes: dict[str, tuple[float, float]]) -> Hints:
    """For `neato -n2`: every box at its place, every edge along its bus (y upwards)."""
    height = placement.height

    def point(x: float, y: float) -> str:
        return "%.1f,%.1f" % (x, height - y)  # noqa: UP031  (the fastest way, for 10^5 points)

    nodes = {
        serial: [
            ("pos", f'"{point(x, y)}!"'),
            ("width", f"{sizes[serial][0] / POINTS:.4f}"),
            ("height", f"{sizes[serial][1] / POINTS:.4f}"),
        ]
        for serial, (x, y) in placement.centres.items()
    }
    edges = {}
    for edge, route in placement.routes.items():
        # A polyline as cubic Bezier pieces whose control points sit on the line; it
        # stops short of the child by the arrowhead, which ends at the child's edge.
        (ex, ey), (lx, ly) = route[-1], route[-2]
        run = math.hypot(ex - lx, ey - ly) or 1.0
        stop = min(ARROW, run) / run  # along the last segment, down or (LR) across
        corners = [point(x, y) for x, y in route[:-1]]
        corners.append(point(ex - (ex - lx) * stop, ey - (ey - ly) * stop))
        pieces = [corners[0]]
        for previous, current in itertools.pairwise(corners):
            pieces += [previous, current, current]
        edges[edge] = [("pos", f'"e,{point(ex, ey)} {" ".join(pieces)}"')]
    return [("splines", "true")], nodes, edges


Labels = dict[str, tuple[list[Line], list[str | None]]]


@dataclass(frozen=True)
class Look:
    """How a picture looks beyond its boxes: fills, direction, and the label above it."""

    fills: style.Fills | None = None  # None: by part number
    rankdir: str = "TB"
    aspect: float = ASPECT  # width / height a forest's grid of trees aims at
    label: str | None = None  # the graph's label (an HTML-like label); None: no label


def picture(
    graph: nx.DiGraph,
    placement: Placement | None = None,
    sizes: dict[str, tuple[float, float]] | None = None,
    labels: Labels | None = None,
    look: Look = Look(),
) -> Picture:
    """The picture: labels, colours and marks; layout hints for `dot`, or placed boxes.

    `labels` are the boxes' lines when they were worked out already (`labels_of`).
    """
    fills = look.fills or style.fills(graph)
    if placement is not None and sizes is not None:
        layout, node_extra, edge_extra = _placed(placement, sizes)
    else:
        layout, node_extra, edge_extra = _dot_hints(graph, look.rankdir, look.aspect)
    graph_attributes = [
        ("labelloc", "t"),
        ("labeljust", "l"),
        ("fontname", f'"{style.FONT}"'),
        ("fontsize", "14"),
        *layout,
    ]
    if look.label is not None:
        graph_attributes.append(("label", look.label))
    graph_attributes.sort(key=lambda pair: _GRAPH_ORDER.index(pair[0]))
    about = warnings_about(graph)
    labels = labels or labels_of(graph)
    nodes = []
    for serial in sorted(graph):
        attributes = graph.nodes[serial]
        lines, line_colours = labels[serial]
        attrs = [
            ("label", html_label(lines, line_colours)),
            *node_style(attributes, fills.of(attributes)),
        ]
        tooltip = style.tooltip_lines(attributes)
        tooltip += [style.clip(f"warning: {warning}") for warning in about.get(serial, ())]
        attrs.append(("tooltip", _tooltip(tooltip)))
        nodes.append((serial, attrs + node_extra.get(serial, [])))
    edges = [
        (p, c, [*edge_style(graph.edges[p, c], graph.nodes[c]), *edge_extra.get((p, c), [])])
        for p, c in sorted(graph.edges)
    ]
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


def labels_of(graph: nx.DiGraph) -> Labels:
    """Every box's lines and their colours."""
    warned = units_with_warnings(graph)
    return {serial: box_lines(graph.nodes[serial], serial in warned) for serial in graph}


def _attribute_list(attributes: Attributes) -> str:
    return ", ".join(f"{name}={value}" for name, value in attributes)


def write_dot(drawn: Picture, node_id: Callable[[str], str], extra: Iterable[str] = ()) -> str:
    """The picture as DOT text, each node named by `node_id`; `extra` statements first."""
    lines = [
        f"digraph {GRAPH_NAME} {{",
        f"  graph [{_attribute_list(drawn.graph)}];",
        f"  node [{_attribute_list(drawn.node)}];",
        f"  edge [{_attribute_list(drawn.edge)}];",
        *extra,
    ]
    for serial, attributes in drawn.nodes:
        lines.append(f"  {node_id(serial)} [{_attribute_list(attributes)}];")
    for parent, child, attributes in drawn.edges:
        extra = f" [{_attribute_list(attributes)}]" if attributes else ""
        lines.append(f"  {node_id(parent)} -> {node_id(child)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
