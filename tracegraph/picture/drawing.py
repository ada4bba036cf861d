"""What Graphviz draws: a genealogy's picture, folded and placed as the options say.

`--collapse auto` folds repeated parts only when the picture would not fit a
page otherwise (A3 landscape at half scale: 2,382 × 1,684 pt); `--layout
auto` keeps Graphviz's `dot`, which draws small genealogies best, while every
tree of the picture has at most `TREE_LAYOUT_ABOVE` boxes, and places bigger
ones itself with the tree layout (`treelayout.py`). A placed picture is
drawn as SVG and PDF without Graphviz (`placed.py`), and as PNG, or on a
page, by Graphviz's `neato -n2`, which then only renders.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from tracegraph.picture import legend, style
from tracegraph.picture.collapse import collapse, is_group
from tracegraph.picture.layout import ASPECT
from tracegraph.picture.metrics import Graphviz, Metrics, metrics_for
from tracegraph.picture.options import PictureOptions, page_size
from tracegraph.picture.scene import (
    GRAPH_NAME,
    Labels,
    Look,
    Picture,
    labels_of,
    picture,
    write_dot,
)
from tracegraph.picture.treelayout import Placement, tree_layout

PAGE = (2 * 1191.0, 2 * 842.0)  # A3 landscape at half scale, points
HEADING_BAND = 90.0  # points the title block and key take above the picture, about
# `dot` lays out each tree of a forest on its own, in time that grows faster
# than the tree: for one tree of 1,100 / 1,600 / 2,100 / 3,100 boxes it took
# 0.5 / 1.2 / 2.6 / 4.5 s here, the tree layout 0.4 / 0.4 / 0.5 / 0.8 s, while
# a forest of 50 trees of 206 boxes (10,300) took 2.1 s (bench/layout_bench.py).
# So the switch looks at the biggest tree, not at the whole picture.
TREE_LAYOUT_ABOVE = 1500
STAND_IN = 'style=invis, shape=point, width=0, height=0, label=""'


@dataclass(frozen=True)
class Drawing:
    """DOT for Graphviz, and what each of its numbered nodes stands for."""

    picture: Picture
    numbers: dict[str, str]  # serial number (or group key) -> drawing id
    engine: tuple[str, ...]  # Graphviz's options: () for `dot`, ("-Kneato", "-n2") for placed
    titles: dict[str, str]  # drawing id -> its title: the serial, or a group and its serials
    tooltips: dict[str, str]  # drawing id -> a group's tooltip, every serial it stands for
    members: dict[str, tuple[str, ...]]  # drawing id -> the serials its box shows
    title: str  # the picture's title, for the SVG document
    heading: legend.Heading  # the title block and key, placed once the picture's size is known
    # When placed: the left, bottom, right and top of all that is drawn, in DOT's points.
    frame: tuple[float, float, float, float] | None
    view: nx.DiGraph  # what is drawn: the genealogy, or its collapsed view

    @cached_property
    def dot(self) -> str:
        return write_dot(self.picture, self.numbers.__getitem__)


def box_metrics(graphviz: Graphviz, labels: Labels) -> Metrics:
    """The metrics of every character and line shape these boxes show."""
    return metrics_for(graphviz, (lines for lines, _ in labels.values()))


def box_sizes(
    graphviz: Graphviz, labels: Labels, metrics: Metrics | None = None
) -> dict[str, tuple[float, float]]:
    """Every box's width and height in points, as Graphviz will draw it."""
    metrics = metrics or box_metrics(graphviz, labels)
    return metrics.boxes((serial, lines) for serial, (lines, _) in labels.items())


def fits_a_page(width: float, height: float) -> bool:
    """Whether a picture of this size, with its title block and key, fits the page."""
    return width <= PAGE[0] and height <= PAGE[1] - HEADING_BAND


_NUMBER = rb"(-?[\d.]+(?:e[-+]?\d+)?)"  # Graphviz writes big ones as 3.3826e+05
BOUNDING_BOX = re.compile(rb'\bbb="' + rb",".join([_NUMBER] * 4) + rb'"')  # in laid-out DOT


def _fits_with_dot(graphviz: Graphviz, graph: nx.DiGraph, labels: Labels, look: Look) -> bool:
    """Whether `dot` lays the whole genealogy out on a page."""
    drawn = picture(graph, labels=labels, look=look)
    numbers = {key: f"u{i}" for i, (key, _) in enumerate(drawn.nodes)}
    laid_out = graphviz.run(["-Tdot"], write_dot(drawn, numbers.__getitem__).encode(), "lay out")
    found = BOUNDING_BOX.search(laid_out)
    if found is None:
        return False
    left, bottom, right, top = map(float, found.groups())
    return fits_a_page(right - left, top - bottom)


def _aspect(options: PictureOptions) -> float:
    """The shape a forest is packed to: the page's room under the title block, if a page."""
    if options.page is None:
        return ASPECT
    width, height = page_size(options.page)
    return (width - 72) / (height - 72 - HEADING_BAND)


def _view(
    graphviz: Graphviz, graph: nx.DiGraph, options: PictureOptions
) -> tuple[nx.DiGraph, Placement | None, dict[str, tuple[float, float]] | None]:
    """The graph to draw, and its tree layout when one was made on the way.

    `auto` measures the whole genealogy with the tree layout first (fast); a
    picture that does not fit that way but will be drawn by `dot` is measured
    by `dot` itself, which packs some forests tighter.
    """
    if options.collapse == "siblings":
        return _collapsed(graph, options), None, None
    if options.collapse == "none":
        return graph, None, None
    labels = labels_of(graph)
    sizes = box_sizes(graphviz, labels)
    placement = tree_layout(graph, sizes, options.rankdir, _aspect(options))
    if fits_a_page(placement.width, placement.height):
        return graph, placement, sizes
    look = Look(style.fills(graph, options.color_by), options.rankdir)
    if not _wants_tree(options, graph) and _fits_with_dot(graphviz, graph, labels, look):
        return graph, None, None
    return _collapsed(graph, options), None, None


def _collapsed(graph: nx.DiGraph, options: PictureOptions) -> nx.DiGraph:
    """Repeated siblings folded; by outcome too when the fill shows it."""
    runs = ("outcome", "last_run_outcome", "record")
    return collapse(graph, also=runs if options.color_by == "outcome" else ())


def _wants_tree(options: PictureOptions, view: nx.DiGraph) -> bool:
    if options.layout == "auto":
        if view.number_of_nodes() <= TREE_LAYOUT_ABOVE:
            return False
        return _component_above(view, TREE_LAYOUT_ABOVE)
    return options.layout == "tree"


def _component_above(graph: nx.DiGraph, size: int) -> bool:
    """Whether some weakly connected part of the graph has more than `size` units.

    Each walk stops once it has found more: a big tree answers at once.
    """
    if size < 1:
        return bool(graph.number_of_nodes() > size)
    seen: set[str] = set()
    succ, pred = graph.succ, graph.pred
    for start in graph:
        if start in seen:
            continue
        seen.add(start)
        found, stack = 1, [start]
        while stack:
            unit = stack.pop()
            for other in (*succ[unit], *pred[unit]):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
                    found += 1
                    if found > size:
                        return True
    return False


@dataclass(frozen=True)
class Plan:
    """What a picture draws and where, before anything is drawn.

    `placement`, `sizes` and `frame` are set when the tree layout placed the boxes.
    """

    view: nx.DiGraph  # the genealogy, or its collapsed view
    labels: Labels
    metrics: Metrics | None  # the boxes' text's and the heading's, when placed
    fills: style.Fills
    sizes: dict[str, tuple[float, float]] | None
    placement: Placement | None
    # When placed: the left, bottom, right and top of all that is drawn, in DOT's points.
    frame: tuple[float, float, float, float] | None
    title: str  # the picture's title, for the document
    heading: legend.Heading  # the title block and key, placed once the picture's size is known


def plan_of(graphviz: Graphviz, graph: nx.DiGraph, options: PictureOptions) -> Plan:
    """The view to draw, its labels, and the tree layout's places if it is placed."""
    return placed_plan(graphviz, sketch_of(graphviz, graph, options), options)


def sketch_of(graphviz: Graphviz, graph: nx.DiGraph, options: PictureOptions) -> Plan:
    """The plan before the tree layout: what is drawn, and, if it is placed, its font's metrics.

    `placed_plan` finishes it. (`auto` may have made the layout already: then it is kept.)
    """
    view, placement, sizes = _view(graphviz, graph, options)
    labels = labels_of(view)
    fills = style.fills(view, options.color_by)
    heading = legend.heading_of(view, fills, options.title, options.legend)
    metrics = None
    if _wants_tree(options, view):
        # One measurement for the boxes and the title block and key.
        lines = [*(lines for lines, _ in labels.values()), legend.label_lines(heading)]
        metrics = metrics_for(graphviz, lines)
    else:
        placement = sizes = None
    return Plan(
        view=view,
        labels=labels,
        metrics=metrics,
        fills=fills,
        sizes=sizes,
        placement=placement,
        frame=None,
        title=heading.heading,  # the title block's first line
        heading=heading,
    )


def placed_plan(graphviz: Graphviz, sketch: Plan, options: PictureOptions) -> Plan:
    """The sketch with its boxes placed by the tree layout, if it is placed."""
    if sketch.metrics is None:
        return sketch
    placement, sizes = sketch.placement, sketch.sizes
    if placement is None or sizes is None:
        sizes = box_sizes(graphviz, sketch.labels, sketch.metrics)
        placement = tree_layout(sketch.view, sizes, options.rankdir, _aspect(options))
    left, top, right, bottom = placement.bounds
    frame = (left, placement.height - bottom, right, placement.height - top)
    return dataclasses.replace(sketch, sizes=sizes, placement=placement, frame=frame)


def to_drawing(
    graphviz: Graphviz, graph: nx.DiGraph, options: PictureOptions, plan: Plan | None = None
) -> Drawing:
    """The picture Graphviz draws: numbered nodes, folded and laid out as `options` say."""
    plan = plan or plan_of(graphviz, graph, options)
    view, placement, sizes, labels, fills = (
        plan.view,
        plan.placement,
        plan.sizes,
        plan.labels,
        plan.fills,
    )
    aspect = _aspect(options)
    engine: tuple[str, ...] = ("-Kneato", "-n2") if placement is not None else ()
    drawn = picture(view, placement, sizes, labels, Look(fills, options.rankdir, aspect))
    numbers = {key: f"u{i}" for i, (key, _) in enumerate(drawn.nodes)}
    # The number is also the box's id in the SVG, where the HTML viewer finds it;
    # edges are numbered too, so that pieces rendered apart keep distinct ids.
    drawn = dataclasses.replace(
        drawn,
        nodes=[(key, [*attrs, ("id", f'"{numbers[key]}"')]) for key, attrs in drawn.nodes],
        edges=[(p, c, [*attrs, ("id", f'"e{i}"')]) for i, (p, c, attrs) in enumerate(drawn.edges)],
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
        picture=drawn,
        numbers=numbers,
        engine=engine,
        titles=titles,
        tooltips=tooltips,
        members=members,
        title=plan.title,
        heading=plan.heading,
        frame=plan.frame,
        view=view,
    )


__all__ = ["GRAPH_NAME", "Drawing", "to_drawing"]
