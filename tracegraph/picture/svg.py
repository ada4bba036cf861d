"""Graphviz's SVG made to say what each element is.

Graphviz draws numbered nodes (`u0`, `u1`, ...; see `drawing.to_drawing`), so
its `<title>` elements, which browsers show on hover and screen readers
announce, would say `u0` and `u0->u11`. Here each node's title becomes its
serial number (a group's: what it stands for and every serial), each edge's
`PARENT → CHILD`, and the document's title the picture's title, escaped for XML.
"""

from __future__ import annotations

import re

from tracegraph.escape import xml_attribute, xml_text
from tracegraph.picture.drawing import GRAPH_NAME, Drawing

_TITLE = re.compile(r"<title>([^<]*)</title>")
# A node's title, and the tooltip of its link, which Graphviz writes right after it.
_NODE_TOOLTIP = re.compile(
    r'<title>([A-Za-z0-9_]+)</title>\n<g id="a_[^"]+"><a xlink:title="[^"]*"'
)
_EDGE = re.compile(r"([A-Za-z0-9_]+)&#45;&gt;([A-Za-z0-9_]+)")
_SVG_START = re.compile(r"<svg\b[^>]*>")
# An invisible point's comment (a piece's corners and stand-ins): no element follows.
_INVISIBLE = re.compile(rb"<!-- [A-Za-z0-9_]+ -->\n(?=<!--|</g>\n</svg>)")
_END = b"\n</g>\n</svg>\n"


def join_pieces(pieces: list[bytes]) -> bytes:
    """One SVG of the pieces Graphviz rendered apart (`Drawing.pieces`).

    Every piece has the same frame, so the first is kept whole (its title,
    background and graph label) and the others add their boxes and edges.
    """
    if len(pieces) == 1:
        return pieces[0]
    # Views into the pieces, not copies: only the pieces and the joined SVG are in memory.
    bodies: list[memoryview | bytes] = []
    for number, piece in enumerate(pieces):
        piece = pieces[number] = _INVISIBLE.sub(b"", piece)
        end = piece.rindex(_END)
        start = 0
        if number:  # its boxes and edges: from the first after the graph's own elements
            start = piece.index(b"\n<!-- ", piece.index(b'class="graph"'))
        bodies.append(memoryview(piece)[start:end])
    bodies.append(_END)
    return b"".join(bodies)


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
