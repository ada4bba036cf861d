"""SVG: Graphviz's made to say what each element is, and a placed picture's written here.

Graphviz draws numbered nodes (`u0`, `u1`, ...; see `drawing.to_drawing`), so
its `<title>` elements, which browsers show on hover and screen readers
announce, would say `u0` and `u0->u11`. Here each node's title becomes its
serial number (a group's: what it stands for and every serial), each edge's
`PARENT → CHILD`, and the document's title the picture's title, escaped for XML.

A placed picture's boxes and edges (`placed.py`) are written here in the
same markup Graphviz writes, into the SVG Graphviz drew of its title block
and key alone.
"""

from __future__ import annotations

import itertools
import pickle
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from tracegraph.escape import xml_attribute, xml_plain, xml_text
from tracegraph.picture import forked, placed
from tracegraph.picture.drawing import GRAPH_NAME, Drawing
from tracegraph.picture.placed import (
    DEPTH,
    ROUNDING,
    Face,
    Faces,
    Link,
    Point,
    Shapes,
    Spot,
    box3d,
    rounded_outline,
    short_number,
)

_TITLE = re.compile(r"<title>([^<]*)</title>")
# A node's title, and the tooltip of its link, which Graphviz writes right after it.
_NODE_TOOLTIP = re.compile(
    r'<title>([A-Za-z0-9_]+)</title>\n<g id="a_[^"]+"><a xlink:title="[^"]*"'
)
_EDGE = re.compile(r"([A-Za-z0-9_]+)&#45;&gt;([A-Za-z0-9_]+)")
_SVG_START = re.compile(r"<svg\b[^>]*>")
# An invisible point's comment (the frame's corners): no element follows.
_INVISIBLE = re.compile(r"<!-- [A-Za-z0-9_]+ -->\n(?=<!--|</g>\n</svg>)")
_END = "\n</g>\n</svg>\n"
FONT_FAMILY = "Helvetica,sans-Serif"  # as Graphviz names it
CHUNK = 5000  # boxes or edges written into one piece of the file
# The share of the edges the fork writes after the boxes (`placed.edge_split`).
FORKED_EDGES = 0.15  # both processes end at about the same time at 98,298 units


def retitle(svg: bytes, drawing: Drawing) -> bytes:
    """The SVG with serial numbers and the picture's title in place of drawing ids."""
    text = svg.decode("utf-8")
    titles = drawing.titles

    def title_for(match: re.Match[str]) -> str:
        name = match[1]
        if name == GRAPH_NAME:
            return f"<title>{xml_text(drawing.title)}</title>"
        if name in titles:
            return f"<title>{xml_text(titles[name])}</title>"
        edge = _EDGE.fullmatch(name)
        if edge and edge[1] in titles and edge[2] in titles:
            parent, child = (_short(drawing, number) for number in (edge[1], edge[2]))
            return f"<title>{xml_text(parent)} → {xml_text(child)}</title>"
        return match[0]

    def tooltip_for(match: re.Match[str]) -> str:
        full = drawing.tooltips.get(match[1])
        if full is None:
            return match[0]
        opening = match[0][: match[0].rindex('xlink:title="')]
        return f'{opening}xlink:title="{xml_attribute(full)}"'

    # Graphviz caps a DOT string at 16,384 characters: a group's tooltip lists
    # every serial only here.
    if drawing.tooltips:
        text = _NODE_TOOLTIP.sub(tooltip_for, text)
    text = _TITLE.sub(title_for, text)
    # The document's own title: the first child of the root element.
    text = _SVG_START.sub(
        lambda m: f"{m[0]}\n<title>{xml_text(drawing.title)}</title>", text, count=1
    )
    return text.encode("utf-8")


def _short(drawing: Drawing, number: str) -> str:
    """How an edge's title names a box: its serial, or a group's heading."""
    members = drawing.members.get(number, ())
    if len(members) == 1 and number not in drawing.tooltips:
        return members[0]
    return drawing.titles[number].split(": ", 1)[0]


def titled(svg: str, title: str) -> str:
    """Graphviz's SVG with the picture's title for the graph's and the document's."""
    own = f"<title>{xml_text(title)}</title>"
    svg = svg.replace(f"<title>{GRAPH_NAME}</title>", own, 1)
    return _SVG_START.sub(lambda m: f"{m[0]}\n{own}", svg, count=1)


def ahead(faces: Faces) -> forked.Ahead:
    """A fork that prepares every box's markup while the boxes are placed (`forked.py`).

    Sent the places, it writes the boxes, then the edges from `placed.edge_split` on.
    """
    writer = _Writer()

    def prepare() -> Callable[[bytes], list[bytes]]:
        prepared = list(map(writer.prepare, faces.faces()))
        faces.shorts  # noqa: B018  (made now, while the boxes are placed)

        def finish(message: bytes) -> list[bytes]:
            places, offset, routed, _ = pickle.loads(message)
            spots = placed.spots_of(places)
            boxes = _written(itertools.starmap(writer.draw, zip(prepared, spots, strict=True)))
            return [boxes, _written(map(writer.link, faces.links(routed, offset)))]

        return finish

    return forked.Ahead(len(faces.keys), prepare)


def placed_svg(heading: bytes, shapes: Shapes, ahead: forked.Ahead | None = None) -> bytes:
    """The SVG of a placed picture: Graphviz's title block and key, then every box and edge.

    `heading` is Graphviz's SVG of the label alone, framed like the picture.
    With `ahead` running, the fork writes the boxes and the last edges while
    this process writes the others.
    """
    text = titled(_INVISIBLE.sub("", heading.decode("utf-8")), shapes.title)
    end = text.rindex(_END)
    writer = _Writer()
    split = placed.edge_split(shapes.faces, FORKED_EDGES)

    def theirs() -> list[bytes]:  # the boxes and the last edges
        faces = map(writer.prepare, shapes.faces.faces())
        boxes = _written(map(writer.draw, faces, shapes.spots()))
        return [boxes, _written(map(writer.link, shapes.links(split)))]

    parts, first = forked.shared(
        ahead,
        lambda: placed.message(shapes, split),
        lambda: _written(map(writer.link, shapes.links(0, split))),
        theirs,
    )
    pieces = [piece for piece in (parts[0], first, parts[1]) if piece]
    if not pieces:
        return text.encode("utf-8")
    pieces[-1] = pieces[-1].removesuffix(b"\n")
    return b"".join([text[:end].encode("utf-8"), b"\n", *pieces, text[end:].encode()])


def _written(elements: Iterator[str]) -> bytes:
    """In chunks of bytes: the text of the whole picture is never in memory at once."""
    chunks = []
    while chunk := "".join(itertools.islice(elements, CHUNK)):
        chunks.append(chunk.encode("utf-8"))
    return b"".join(chunks)


def _points(points: list[Point]) -> str:
    return " ".join("%.2f,%.2f" % point for point in points)  # noqa: UP031  (fastest)


def _text(text: str) -> str:
    return text if xml_plain(text) else xml_text(text)


_SPACES = re.compile(r" {2,}")


def _spaced(text: str) -> str:
    """Escaped text as Graphviz writes it: a run of spaces keeps its width (`&#160;`)."""
    if "  " not in text:
        return text
    return _SPACES.sub(lambda run: " " + "&#160;" * (len(run[0]) - 1), text)


def _line(text: str) -> str:
    return _spaced(_text(text))


def _tooltip(text: str) -> str:
    if xml_plain(text.replace("\n", "")):  # nothing to escape but the line breaks
        return _spaced(text.replace("\n", "&#10;"))
    return _spaced(xml_attribute(text))


def _rounded_tail(width: float, height: float) -> str:
    """A rounded box's outline after its start (`placed.ROUNDED_POINTS`), each piece relative."""
    points = rounded_outline(width, height)
    pieces, (x, y) = [], points[0]
    for i in range(1, len(points), 3):
        pieces += [f"{short_number(px - x)},{short_number(py - y)}" for px, py in points[i : i + 3]]
        x, y = points[i + 2]
    return "c" + " ".join(pieces)


def _pen(colour: str, width: float, dashed: bool) -> str:
    text = f'stroke="{colour}"'
    if width != 1:
        text += f' stroke-width="{width:g}"'
    return text + (' stroke-dasharray="5,2"' if dashed else "")


class _Ys(dict[float, str]):
    """Each y written once: the boxes of a level share their tops, bottoms and lines' baselines."""

    def __missing__(self, y: float) -> str:
        text = self[y] = "%.2f" % y  # noqa: UP031
        return text


class _Writer:
    """Graphviz's markup for boxes and edges, each piece that repeats formatted once.

    A rounded box's outline is a path relative to its start, the same for
    every box of its size.
    """

    def __init__(self) -> None:
        self.ys = _Ys()
        self.outlines: dict[tuple[float, float], str] = {}
        self.pens: dict[tuple[str, float, bool], str] = {}
        self.fonts: dict[tuple[int, bool, str], str] = {}

    def rounded(self, left: float, top: float, right: float, bottom: float) -> str:
        size = (round(right - left, 2), round(bottom - top, 2))
        tail = self.outlines.get(size)
        if tail is None:
            tail = self.outlines[size] = _rounded_tail(*size)
        return "M%.2f,%s%s" % (right - ROUNDING, self.ys[top], tail)  # noqa: UP031

    def pen(self, colour: str, width: float, dashed: bool) -> str:
        key = (colour, width, dashed)
        known = self.pens.get(key)
        if known is None:
            known = self.pens[key] = _pen(colour, width, dashed)
        return known

    def font(self, size: int, bold: bool, colour: str) -> str:
        """A line's attributes after its place, up to its text."""
        key = (size, bold, colour)
        known = self.fonts.get(key)
        if known is None:
            weight = ' font-weight="bold"' if bold else ""
            fill = f' fill="{colour}"' if colour else ""
            known = self.fonts[key] = (
                f'" font-family="{FONT_FAMILY}"{weight} font-size="{size}.00"{fill}>'
            )
        return known

    def prepare(self, face: Face) -> _Prepared:
        """All of a box's markup that does not depend on where it is."""
        number, font = face.number, self.font
        head = (
            f'<!-- {number} -->\n<g id="{number}" class="node">\n'
            f"<title>{_text(face.title)}</title>\n"
            f'<g id="a_{number}"><a xlink:title="{_tooltip(face.tooltip)}">\n'
        )
        texts = tuple(
            [
                (dx, dy, f"{font(size, bold, colour)}{_line(text)}</text>\n")
                for dx, dy, text, size, bold, colour in face.texts
            ]
        )
        pen = self.pen(face.stroke, face.width, face.dashed)
        return _Prepared(head, face.fill or "none", pen, face.box3d, face.double, texts)

    def draw(self, box: _Prepared, spot: Spot) -> str:
        """A prepared box's markup where it is."""
        x, y, width, height = spot
        left, top, right, bottom = x - width / 2, y - height / 2, x + width / 2, y + height / 2
        fill, pen = box.fill, box.pen
        if box.box3d:
            outline, depth = box3d(left, top, right, bottom)
            shapes = f'<polygon fill="{fill}" {pen} points="{_points(outline)}"/>\n' + "".join(
                f'<polyline fill="none" {pen} points="{_points(depth[i : i + 2])} "/>\n'
                for i in (0, 2, 4)
            )
        else:
            shapes = f'<path fill="{fill}" {pen} d="{self.rounded(left, top, right, bottom)}"/>\n'
            if box.double:
                out = self.rounded(left - DEPTH, top - DEPTH, right + DEPTH, bottom + DEPTH)
                shapes += f'<path fill="none" {pen} d="{out}"/>\n'
        ys = self.ys
        texts = "".join([_TEXT % (x + dx, ys[y + dy], rest) for dx, dy, rest in box.texts])
        return f"{box.head}{shapes}{texts}</a>\n</g>\n</g>\n"

    def link(self, link: Link) -> str:
        dash = ' stroke-dasharray="5,2"' if link.dashed else ""
        colour, ys = link.colour, self.ys
        corners = ["%.2f,%s" % (x, ys[y]) for x, y in link.points]  # noqa: UP031
        route = " ".join([f"{a} {b} {b}" for a, b in itertools.pairwise(corners)])
        (x0, y0), (x1, y1), (x2, y2) = link.head
        first = "%.2f,%s" % (x0, ys[y0])  # noqa: UP031
        head = "%s %.2f,%s %.2f,%s %s" % (first, x1, ys[y1], x2, ys[y2], first)  # noqa: UP031
        return (
            f'<g id="{link.number}" class="edge">\n<title>{_text(link.title)}</title>\n'
            f'<path fill="none" stroke="{colour}"{dash} d="M{corners[0]}C{route}"/>\n'
            f'<polygon fill="{colour}" stroke="{colour}" points="{head}"/>\n'
            "</g>\n"
        )


_TEXT = '<text text-anchor="start" x="%.2f" y="%s%s'


class _Prepared(NamedTuple):
    """A box's markup but where it is (`_Writer.prepare`)."""

    head: str  # the comment, groups, title and tooltip that open it
    fill: str
    pen: str
    box3d: bool
    double: bool
    texts: tuple[tuple[float, float, str], ...]  # each line's offset and what follows its y
