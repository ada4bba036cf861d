"""A placed picture as the shapes Graphviz would draw: boxes, their lines, edges.

Once the tree layout has placed every box (`drawing.py`), Graphviz has
nothing left to decide: it only renders, and rendering 100,000 boxes took
it over 30 seconds. So a placed picture's boxes and edges become shapes
here, exactly where and as Graphviz draws them with `neato -n2` (rounded
corners of 12 points, a group's `box3d` depth of 4, a top-level unit's
second border 4 points out, each line of text at the baseline Graphviz
measured for its label's shape, arrowheads of 6 points); `svg.py` writes
them in Graphviz's SVG and `pdf.py` as PDF. Graphviz still draws the title
block and key: a graph of only its label, framed like the picture, whose
coordinates the shapes share (x from the frame's left, y upwards from its
bottom, negated, as Graphviz's SVG writes them).

What a box says and how it looks (`Faces`) is known before the layout runs,
where it is (`Shapes.spots`) only after: a big picture's fork prepares the
first while this process lays the boxes out (`forked.py`).
"""

from __future__ import annotations

import math
import pickle
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import networkx as nx

from tracegraph.picture import style
from tracegraph.picture.collapse import is_group, warnings_about
from tracegraph.picture.metrics import Metrics, shape_of
from tracegraph.picture.scene import ARROW, Labels, edge_style, node_style
from tracegraph.picture.treelayout import Placement

Point = tuple[float, float]
ROUNDING = 12.0  # points a rounded corner takes along each side
DEPTH = 4.0  # points of a box3d's depth, and between a double border's two lines
ARROW_HALF_WIDTH = 2.1  # points either side of an arrowhead's axis (arrowsize 0.6)
BLANKS = str.maketrans("\t\r\n", "   ")  # a line of a box shows them as spaces, as Graphviz does


class Text(NamedTuple):
    """One line of a box: where its baseline starts from the box's centre, its text and font."""

    dx: float
    dy: float
    text: str
    size: int
    bold: bool
    colour: str  # "": black


class Face(NamedTuple):
    """What a unit's or group's box says and how it looks, wherever it is placed."""

    number: str  # its id in the SVG, as Graphviz numbers it: u0, u1, ...
    title: str  # the serial, or a group's heading and every serial it stands for
    tooltip: str
    box3d: bool  # a group's box: square, with depth; else rounded corners
    fill: str  # "": not filled
    stroke: str
    width: float  # of the border, points
    dashed: bool
    double: bool  # a second border outside the first (a top-level unit)
    texts: tuple[Text, ...]


class Spot(NamedTuple):
    """Where a box is: its centre in Graphviz's SVG's points, its width and height."""

    x: float
    y: float
    width: float
    height: float


Routed = tuple[int, str, str, list[Point]]  # an edge's number, parent, child and route


class Link(NamedTuple):
    """One edge: a polyline from the parent's box to the arrowhead's base, and its head."""

    number: str  # e0, e1, ...
    title: str  # PARENT → CHILD
    points: tuple[Point, ...]
    head: tuple[Point, Point, Point]  # one side of the base, the tip, the other side
    colour: str
    dashed: bool


@dataclass(frozen=True)
class Faces:
    """What every box of a picture says and how it looks: known before the boxes are placed."""

    view: nx.DiGraph
    labels: Labels
    fills: style.Fills
    metrics: Metrics

    @cached_property
    def keys(self) -> list[str]:
        """The boxes' keys in the order Graphviz is given them (by serial)."""
        return sorted(self.view)

    @cached_property
    def nodes(self) -> dict[str, dict[str, object]]:
        return dict(self.view.nodes(data=True))

    @cached_property
    def edges(self) -> list[tuple[str, str]]:
        """Every edge, by parent and child: the order they are numbered and written in."""
        return [
            (parent, child)
            for parent, kids in sorted(self.view.adjacency())
            for child in sorted(kids)
        ]

    def links(self, routed: Iterable[Routed], offset: Point) -> Iterator[Link]:
        """These edges, from the parent's box to the arrowhead's base.

        Each comes numbered with its route in the layout's points; `offset`
        takes them to Graphviz's SVG's (`Shapes.offset`).
        """
        nodes, adjacency = self.nodes, dict(self.view.adjacency())
        dx, dy = offset
        # How an edge's title names a box: its serial, or a group's heading.
        shorts = self.shorts
        plain = _unquoted(dict(edge_style({}, {})).get("color", f'"{style.EDGE_COLOUR}"'))
        hypot = math.hypot
        for number, parent, child, route in routed:
            route = [(x + dx, y + dy) for x, y in route]
            (ex, ey), (lx, ly) = route[-1], route[-2]
            if ex == lx and ey - ly >= ARROW:  # straight down into the box (most)
                bx, by = ex, ey - ARROW
                head = ((ex + ARROW_HALF_WIDTH, by), (ex, ey), (ex - ARROW_HALF_WIDTH, by))
            else:
                run = hypot(ex - lx, ey - ly) or 1.0
                ux, uy = (ex - lx) / run, (ey - ly) / run
                stop = min(ARROW, run)
                bx, by = ex - ux * stop, ey - uy * stop
                sx, sy = uy * ARROW_HALF_WIDTH, -ux * ARROW_HALF_WIDTH
                head = ((bx + sx, by + sy), (ex, ey), (bx - sx, by - sy))
            edge, below = adjacency[parent][child], nodes[child]
            colour, dashed = plain, False
            if "change" in edge or below.get("departed"):  # only a diff's edges look otherwise
                found = dict(edge_style(edge, below))
                colour = _unquoted(found.get("color", f'"{style.EDGE_COLOUR}"'))
                dashed = found.get("style") == "dashed"
            route[-1] = (bx, by)
            yield Link(
                f"e{number}",
                f"{shorts.get(parent, parent)} → {shorts.get(child, child)}",
                tuple(route),
                head,
                colour,
                dashed,
            )

    @cached_property
    def shorts(self) -> dict[str, str]:
        """How an edge's title names a group's box: by its heading (a unit's: its serial)."""
        return {key: style.group_heading(a) for key, a in self.nodes.items() if is_group(a)}

    def faces(self, tooltips: bool = True) -> Iterator[Face]:
        """The faces of the boxes in `keys` order, numbered by place.

        Without `tooltips` (a PDF has none), each box's tooltip is "".
        """
        nodes, labels = self.nodes, self.labels
        about = warnings_about(self.view)
        widths, width_of, baselines_of = (
            self.metrics.widths, self.metrics.width, self.metrics.baselines_of
        )  # fmt: skip
        fill_of = self.fills.of
        looks: dict[tuple[object, ...], Look] = {}
        for number, key in enumerate(self.keys):
            attributes = nodes[key]
            lines, colours = labels[key]
            get = attributes.get
            if get("group"):
                shown = style.members_of(attributes)
                box_title = f"{style.group_heading(attributes)}: {', '.join(shown)}"
                tooltip = "\n".join([*(line.text for line in lines[:3]), *shown])
            elif not tooltips:
                box_title, tooltip = key, ""
            else:
                box_title = key
                tips = style.tooltip_lines(attributes)
                if key in about:
                    tips += [style.clip(f"warning: {warning}") for warning in about[key]]
                tooltip = "\n".join(tips)
                if "\t" in tooltip:
                    tooltip = tooltip.replace("\t", " ")  # as Graphviz shows a tab
            fill = fill_of(attributes)
            # What a box's look depends on besides its fill (`scene.node_style`).
            looked = (
                fill, get("status"), get("group"), get("departed"), get("change"),
                get("top_level"), get("seed"),
            )  # fmt: skip
            look = looks.get(looked)
            if look is None:
                look = looks[looked] = _look(attributes, fill)
            box3d, fill, stroke, pen, dashed, double, ink = look
            texts = tuple(
                [
                    Text(
                        -(widths.get(line) or width_of(line)) / 2,
                        baseline,
                        text if text.isprintable() else text.translate(BLANKS),
                        size,
                        bold,
                        colour or ink,
                    )
                    for line, colour, baseline in zip(
                        lines, colours, baselines_of(shape_of(lines)), strict=False
                    )
                    for text, size, bold in (line,)
                ]
            )
            yield Face(
                f"u{number}", box_title, tooltip, box3d, fill, stroke, pen, dashed, double, texts
            )


@dataclass(frozen=True)
class Shapes:
    """Everything a placed picture draws below its title block and key.

    Its boxes and links are made one at a time as a writer asks for them, so
    that only the file being written grows with the picture.
    """

    faces: Faces
    sizes: dict[str, tuple[float, float]]
    placement: Placement
    frame: tuple[float, float, float, float]  # left, bottom, right, top in DOT's points
    title: str  # the picture's title, for the document

    @property
    def view(self) -> nx.DiGraph:
        return self.faces.view

    @property
    def keys(self) -> list[str]:
        return self.faces.keys

    def offset(self) -> tuple[float, float]:
        """What takes the layout's points (y downwards) to Graphviz's SVG's."""
        return -self.frame[0], self.frame[1] - self.placement.height

    def spots(self) -> Iterator[Spot]:
        """Where the boxes are, in `keys` order."""
        centres, sizes = self.placement.centres, self.sizes
        dx, dy = self.offset()
        for key in self.keys:
            x, y = centres[key]
            yield Spot(x + dx, y + dy, *sizes[key])

    def places(self) -> bytes:
        """`spots`, four numbers a box, as bytes for another process (`spots_of`)."""
        centres, sizes = self.placement.centres, self.sizes
        dx, dy = self.offset()
        numbers = array("d")
        for key in self.keys:
            (x, y), (width, height) = centres[key], sizes[key]
            numbers.extend((x + dx, y + dy, width, height))
        return numbers.tobytes()

    def _straight(self, parent: str, child: str) -> list[Point]:
        """An edge the tree layout did not route (a second parent, a cycle): border to border.

        A unit's own loop goes out of its right side and back in.
        """
        centres, sizes = self.placement.centres, self.sizes
        if parent == child:
            (x, y), (width, _) = centres[parent], sizes[parent]
            right = x + width / 2
            return [(right, y - 6), (right + 18, y - 6), (right + 18, y + 6), (right, y + 6)]
        start = _border(centres[parent], sizes[parent], centres[child])
        return [start, _border(centres[child], sizes[child], centres[parent])]

    def route(self, parent: str, child: str) -> list[Point]:
        """How an edge runs, in the layout's points: the tree layout's bus, or straight."""
        return self.placement.routes.get((parent, child)) or self._straight(parent, child)

    def routed(self, start: int = 0, stop: int | None = None) -> list[Routed]:
        """The edges from `start` to `stop` (by parent and child), numbered, with their routes."""
        edges = self.faces.edges
        stop = len(edges) if stop is None else stop
        return [(i, *edges[i], self.route(*edges[i])) for i in range(start, stop)]

    def links(self, start: int = 0, stop: int | None = None) -> Iterator[Link]:
        """The edges from `start` to `stop`, by parent and child."""
        return self.faces.links(self.routed(start, stop), self.offset())


def edge_split(faces: Faces, share: float) -> int:
    """The first edge a fork writes: `share` of them, the last ones, after the boxes.

    The edges are written in these two parts, forked or not.
    """
    edges = len(faces.edges)
    return edges - round(edges * share)


def message(shapes: Shapes, split: int, *numbers: float) -> bytes:
    """What a fork needs to write the boxes and the edges from `split` on, and `numbers`."""
    routed = shapes.routed(split)
    return pickle.dumps((shapes.places(), shapes.offset(), routed, numbers), protocol=5)


def spots_of(places: bytes) -> Iterator[Spot]:
    """The spots of `Shapes.places`."""
    numbers = array("d")
    numbers.frombytes(places)
    return map(Spot._make, zip(*[iter(numbers)] * 4, strict=True))


def _border(centre: Point, size: tuple[float, float], towards: Point) -> Point:
    """Where the line from a box's centre towards a point leaves the box."""
    (x, y), (half_width, half_height) = centre, (size[0] / 2, size[1] / 2)
    across, down = towards[0] - x, towards[1] - y
    reach = min(
        half_width / abs(across) if across else math.inf,
        half_height / abs(down) if down else math.inf,
    )
    return (x + across * reach, y + down * reach) if reach != math.inf else centre


def _unquoted(value: str) -> str:
    return value[1:-1] if value.startswith('"') else value


Look = tuple[bool, str, str, float, bool, bool, str]


def _look(attributes: dict[str, object], fill: str) -> Look:
    """box3d, fill ("" if none), border colour and width, dashed, double, text colour."""
    found = {name: _unquoted(value) for name, value in node_style(attributes, fill)}
    kinds = found.get("style", "").split(",")
    return (
        found.get("shape") == "box3d",
        found.get("fillcolor", "") if "filled" in kinds else "",
        found.get("color", style.BORDER),
        float(found.get("penwidth", "1")),
        "dashed" in kinds,
        found.get("peripheries") == "2",
        found.get("fontcolor", ""),
    )


# A rounded box's outline as Graphviz draws it, from the top right: the start,
# then cubic Bézier pieces of three points (a straight side has its control
# points on the line), each corner taking `ROUNDING` along both sides. Each
# point is given by the indices of its x and y among twelve numbers: 0 left,
# 1 top, 2 right, 3 bottom, 4 left+6, 5 left+12, 6 right-6, 7 right-12, 8 top+6,
# 9 top+12, 10 bottom-6, 11 bottom-12. The writers make one outline per box size.
ROUNDED_POINTS = (
    (7, 1), (7, 1), (5, 1), (5, 1), (4, 1), (0, 8), (0, 9), (0, 9), (0, 11), (0, 11),
    (0, 10), (4, 3), (5, 3), (5, 3), (7, 3), (7, 3), (6, 3), (2, 10), (2, 11), (2, 11),
    (2, 9), (2, 9), (2, 8), (6, 1), (7, 1),
)  # fmt: skip


def short_number(value: float) -> str:
    """A number of an outline: two decimals at most, no trailing zeros."""
    text = ("%.2f" % value).rstrip("0").rstrip(".")  # noqa: UP031
    return "0" if text == "-0" else text


def rounded_outline(width: float, height: float) -> list[Point]:
    """`ROUNDED_POINTS` of a box of this size with its top left corner at 0, 0 (y downwards)."""
    r, h = ROUNDING, ROUNDING / 2
    numbers = [
        *(0.0, 0.0, width, height, h, r, width - h, width - r),
        *(h, r, height - h, height - r),
    ]
    return [(numbers[x], numbers[y]) for x, y in ROUNDED_POINTS]


def box3d(left: float, top: float, right: float, bottom: float) -> tuple[list[Point], list[Point]]:
    """A group's box: its outline, and the three lines of its depth (each from the inner corner)."""
    d = DEPTH
    outline = [
        (right, top),
        (left + d, top),
        (left, top + d),
        (left, bottom),
        (right - d, bottom),
        (right, bottom - d),
        (right, top),
    ]
    corner = (right - d, top + d)
    return outline, [corner, (left, top + d), corner, (right - d, bottom), corner, (right, top)]
