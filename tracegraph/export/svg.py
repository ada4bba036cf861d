"""Graphviz's SVG made to say what each element is.

Graphviz draws numbered nodes (`u0`, `u1`, ...; see `dot.to_drawing`), so
its `<title>` elements, which browsers show on hover and screen readers
announce, would say `u0` and `u0->u11`. Here each node's title becomes its
serial number, each edge's `PARENT → CHILD`, and the document's title the
picture's title, escaped for XML.
"""

from __future__ import annotations

import re

from tracegraph.export.dot import GRAPH_NAME, Drawing
from tracegraph.export.escape import xml_text

_TITLE = re.compile(r"<title>([^<]*)</title>")
_EDGE = re.compile(r"([A-Za-z0-9_]+)&#45;&gt;([A-Za-z0-9_]+)")
_SVG_START = re.compile(r"<svg\b[^>]*>")


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
            return f"<title>{xml_text(titles[edge[1]])} → {xml_text(titles[edge[2]])}</title>"
        return match[0]

    text = _TITLE.sub(title_for, text)
    # The document's own title: the first child of the root element.
    text = _SVG_START.sub(
        lambda m: f"{m[0]}\n<title>{xml_text(drawing.title)}</title>", text, count=1
    )
    return text.encode("utf-8")
