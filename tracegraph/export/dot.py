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

import re
from collections.abc import Callable

import networkx as nx

from tracegraph.export import style
from tracegraph.export.layout import plan_layout

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold at all, not even escaped."""
    return _XML_INVALID.sub("\ufffd", text)


def _lex_quoted(body: str) -> str | None:
    """What Graphviz's lexer reads from `"body"`, or None if the quote ends early."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        pair = body[i : i + 2]
        if pair == '\\"':
            out.append('"')
            i += 2
        elif pair == "\\\\":
            out.append("\\\\")
            i += 2
        elif pair == "\\\n":
            i += 2
        elif ch == '"':
            return None
        else:
            out.append(ch)
            i += 1
    if body.endswith("\\") and not body.endswith("\\\\"):
        return None
    return "".join(out)


def _html_id_ok(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def dot_id(text: str) -> str:
    """A DOT ID that Graphviz reads back as exactly `text`."""
    quoted = text.replace('"', '\\"')
    if "\\" not in text or _lex_quoted(quoted) == text:
        return f'"{quoted}"'
    # A backslash before a quote, at the end or before a newline cannot be
    # written in a quoted ID; an HTML-string ID takes the text as it is.
    if text and _html_id_ok(text):
        return f"<{text}>"
    return f'"{quoted}"'  # unrepresentable in DOT: the closest quoted form


def dot_text(text: str) -> str:
    """A quoted DOT escString: backslashes and quotes escaped, never interpreted."""
    text = xml_safe(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def html_text(text: str) -> str:
    """Text for an HTML-like label: XML-escaped, invalid characters replaced."""
    text = xml_safe(text)
    text = re.sub(r"[\t\r\n]", " ", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _tooltip(attributes: dict[str, object]) -> str:
    # Graphviz copies entity-like text into SVG as is, so `&` goes in pre-escaped.
    lines = [line.replace("&", "&amp;") for line in style.tooltip_lines(attributes)]
    text = "\n".join(xml_safe(line) for line in lines)
    return dot_text(text).replace("\n", "\\n")


def _node_label(attributes: dict[str, object]) -> str:
    serial, part_line, name = style.unit_lines(attributes)
    rows = [f"<B>{html_text(serial)}</B>"]
    if attributes.get("status") == "missing":
        rows.append('<FONT COLOR="#7f7f7f">missing (404)</FONT>')
    if part_line:
        rows.append(html_text(part_line))
    if name:
        rows.append(f'<FONT POINT-SIZE="9">{html_text(name)}</FONT>')
    for mark in style.marks(attributes):
        colour = style.TOP_LEVEL_BORDER if mark == "TOP-LEVEL" else style.SEED_BORDER
        rows.append(f'<FONT POINT-SIZE="9" COLOR="{colour}"><B>{mark}</B></FONT>')
    outcome = str(attributes.get("outcome", ""))
    if outcome and outcome != "PASS":
        rows.append(f'<FONT POINT-SIZE="9" COLOR="#b03a2e">{html_text(outcome)}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


def _node_style(attributes: dict[str, object], fill: str) -> list[str]:
    if attributes.get("status") == "missing":
        attrs = [
            'style="rounded,dashed"',
            f'fillcolor="{style.MISSING_FILL}"',
            'fontcolor="#555555"',
        ]
    else:
        attrs = ['style="rounded,filled"', f'fillcolor="{fill}"']
    if attributes.get("top_level"):
        attrs += [f'color="{style.TOP_LEVEL_BORDER}"', "penwidth=2", "peripheries=2"]
    elif attributes.get("seed"):
        attrs += [f'color="{style.SEED_BORDER}"', "penwidth=3"]
    return attrs


def _write(graph: nx.DiGraph, node_id: Callable[[str], str]) -> str:
    colours = style.part_colours(graph)
    layout = plan_layout(graph)
    heading, details = style.title_lines(graph)
    title = f'<<B>{html_text(heading)}</B><BR/><FONT POINT-SIZE="10">{html_text(details)}</FONT>>'
    packing = f', pack=24, packmode="array_u{layout.columns}"' if layout.columns else ""
    lines = [
        "digraph genealogy {",
        f'  graph [rankdir=TB, labelloc=t, labeljust=l, fontname="{style.FONT}", fontsize=14,'
        f" nodesep=0.2, ranksep=0.45{packing}, label={title}];",
        f'  node [shape=box, fontname="{style.FONT}", fontsize=11, color="{style.BORDER}",'
        ' margin="0.10,0.05"];',
        f'  edge [color="{style.EDGE_COLOUR}", arrowsize=0.6];',
    ]
    for serial in sorted(graph):
        attributes = graph.nodes[serial]
        fill = colours[str(attributes.get("part_number", ""))]
        attrs = [f"label={_node_label(attributes)}", *_node_style(attributes, fill)]
        attrs.append(f"tooltip={_tooltip(attributes)}")
        if serial in layout.tree_order:
            attrs.append(f"sortv={layout.tree_order[serial]}")
        lines.append(f"  {node_id(serial)} [{', '.join(attrs)}];")
    for parent, child in sorted(graph.edges):
        length = layout.lengths.get((parent, child))
        extra = f" [minlen={length}]" if length else ""
        lines.append(f"  {node_id(parent)} -> {node_id(child)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(graph: nx.DiGraph) -> str:
    """The genealogy as DOT, with serial numbers as node IDs."""
    return _write(graph, dot_id)


def to_drawing_dot(graph: nx.DiGraph) -> str:
    """The same picture with numbered node IDs, safe for Graphviz to draw into SVG."""
    numbers = {serial: f"u{i}" for i, serial in enumerate(sorted(graph))}
    return _write(graph, numbers.__getitem__)
