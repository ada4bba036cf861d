"""GraphML through networkx, typed so yEd, Gephi and Cytoscape open it."""

from __future__ import annotations

import re

import networkx as nx

from tracegraph.export.dot import xml_safe

_BOOLEAN_DATA = re.compile(r'(<data key="(d\d+)">)(True|False)(</data>)')
_BOOLEAN_KEY = re.compile(r'<key id="(d\d+)" [^>]*attr.type="boolean"')


def _clean(value: object) -> object:
    if isinstance(value, str):
        return xml_safe(value)
    return value


def to_graphml(graph: nx.DiGraph) -> str:
    """The genealogy as GraphML; `label` (Gephi) and `name` (Cytoscape) carry the serial."""
    out = nx.DiGraph()
    for key, value in sorted(graph.graph.items()):
        out.graph[key] = _clean("\n".join(value) if key == "warnings" else value)
    for serial in sorted(graph):
        attributes = {k: _clean(v) for k, v in sorted(graph.nodes[serial].items())}
        name = attributes["serial_number"]
        out.add_node(_clean(serial), label=name, name=name, **attributes)
    for parent, child in sorted(graph.edges):
        attributes = {k: _clean(v) for k, v in sorted(graph.edges[parent, child].items())}
        out.add_edge(_clean(parent), _clean(child), **attributes)
    text = "\n".join(nx.generate_graphml(out, encoding="utf-8", prettyprint=True))
    # networkx writes Python's True/False; GraphML booleans are lower case.
    booleans = set(_BOOLEAN_KEY.findall(text))
    text = _BOOLEAN_DATA.sub(
        lambda m: m[1] + m[3].lower() + m[4] if m[2] in booleans else m[0], text
    )
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
