"""What Graphviz draws: a genealogy's picture, folded and placed as the options say.

`--collapse auto` folds repeated parts only when the picture would not fit a
page otherwise (A3 landscape at half scale: 2,382 × 1,684 pt); `--layout
auto` keeps Graphviz's `dot`, which draws small genealogies best, up to
`TREE_LAYOUT_ABOVE` boxes, and places bigger ones itself with the tree layout
(`treelayout.py`), which Graphviz then only renders (`neato -n2`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import networkx as nx

from tracegraph.export import style
from tracegraph.export.collapse import collapse, is_group
from tracegraph.export.dot import GRAPH_NAME, Labels, box_lines, picture, write_dot
from tracegraph.export.metrics import Graphviz, metrics_for
from tracegraph.export.options import ExportOptions
from tracegraph.export.treelayout import Placement, tree_layout

PAGE = (2 * 1191.0, 2 * 842.0)  # A3 landscape at half scale, points
# Above this many boxes, `dot` takes more than about two seconds here (measured
# in bench/big_bench.py); the tree layout takes a fraction of that.
TREE_LAYOUT_ABOVE = 1500


@dataclass(frozen=True)
class Drawing:
    """DOT for Graphviz, and what each of its numbered nodes stands for."""

    dot: str
    engine: tuple[str, ...]  # Graphviz's options: () for `dot`, ("-Kneato", "-n2") for placed
    titles: dict[str, str]  # drawing id -> its title: the serial, or a group and its serials
    tooltips: dict[str, str]  # drawing id -> a group's tooltip, every serial it stands for
    members: dict[str, tuple[str, ...]]  # drawing id -> the serials its box shows
    title: str  # the picture's title, for the SVG document
    size: tuple[float, float] | None  # points, when the tree layout placed the boxes
    view: nx.DiGraph  # what is drawn: the genealogy, or its collapsed view


def labels_of(graph: nx.DiGraph) -> Labels:
    return {serial: box_lines(graph.nodes[serial]) for serial in graph}


def box_sizes(graphviz: Graphviz, labels: Labels) -> dict[str, tuple[float, float]]:
    """Every box's width and height in points, as Graphviz will draw it."""
    metrics = metrics_for(graphviz, (lines for lines, _ in labels.values()))
    return {serial: metrics.box(lines) for serial, (lines, _) in labels.items()}


def fits_a_page(placement: Placement) -> bool:
    return placement.width <= PAGE[0] and placement.height <= PAGE[1]


def _view(
    graphviz: Graphviz, graph: nx.DiGraph, options: ExportOptions
) -> tuple[nx.DiGraph, Placement | None, dict[str, tuple[float, float]] | None]:
    """The graph to draw, and its tree layout when one was made on the way."""
    if options.collapse == "siblings":
        return collapse(graph), None, None
    if options.collapse == "none":
        return graph, None, None
    sizes = box_sizes(graphviz, labels_of(graph))
    placement = tree_layout(graph, sizes)
    if fits_a_page(placement):
        return graph, placement, sizes
    return collapse(graph), None, None


def _wants_tree(options: ExportOptions, view: nx.DiGraph) -> bool:
    if options.layout == "auto":
        return int(view.number_of_nodes()) > TREE_LAYOUT_ABOVE
    return options.layout == "tree"


def to_drawing(graphviz: Graphviz, graph: nx.DiGraph, options: ExportOptions) -> Drawing:
    """The picture Graphviz draws: numbered nodes, folded and laid out as `options` say."""
    view, placement, sizes = _view(graphviz, graph, options)
    engine: tuple[str, ...] = ()
    size = None
    labels = labels_of(view)
    if _wants_tree(options, view):
        if placement is None or sizes is None:
            sizes = box_sizes(graphviz, labels)
            placement = tree_layout(view, sizes)
        engine, size = ("-Kneato", "-n2"), (placement.width, placement.height)
    else:
        placement = sizes = None
    drawn = picture(view, placement, sizes, labels)
    numbers = {key: f"u{i}" for i, (key, _) in enumerate(drawn.nodes)}
    # The number is also the box's id in the SVG, where the HTML viewer finds it.
    drawn = dataclasses.replace(
        drawn, nodes=[(key, [*attrs, ("id", f'"{numbers[key]}"')]) for key, attrs in drawn.nodes]
    )
    titles, tooltips, members = {}, {}, {}
    for key, number in numbers.items():
        attributes = view.nodes[key]
        if is_group(attributes):
            shown = style.members_of(attributes)
            heading = style.group_heading(attributes)
            titles[number] = f"{heading}: {', '.join(shown)}"
            lines = [line.text for line in style.group_lines(attributes)]
            tooltips[number] = "\n".join([*lines[:3], *shown])
            members[number] = shown
        else:
            titles[number] = key
            members[number] = (key,)
    return Drawing(
        dot=write_dot(drawn, numbers.__getitem__),
        engine=engine,
        titles=titles,
        tooltips=tooltips,
        members=members,
        title=style.title_lines(view)[0],
        size=size,
        view=view,
    )


__all__ = ["GRAPH_NAME", "Drawing", "to_drawing"]
