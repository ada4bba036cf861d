"""GraphML through networkx, typed so yEd, Gephi and Cytoscape open it."""

from __future__ import annotations

import re

import networkx as nx

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value: object) -> object:
    if isinstance(value, str):
        return _XML_INVALID.sub("\ufffd", value)
    return value


def to_graphml(graph: nx.DiGraph) -> str:
    """The genealogy as GraphML; `label` (Gephi) and `name` (Cytoscape) carry the serial."""
    out = nx.DiGraph()
    for key, value in sorted(graph.graph.items()):
        if key == "warnings":
            out.graph["warnings"] = _clean("\n".join(value))
        else:
            out.graph[key] = _clean(value)
    for serial in sorted(graph):
        attributes = {k: _clean(v) for k, v in sorted(graph.nodes[serial].items())}
        out.add_node(_clean(serial), label=attributes["serial_number"],
                     name=attributes["serial_number"], **attributes)
    for parent, child in sorted(graph.edges):
        attributes = {k: _clean(v) for k, v in sorted(graph.edges[parent, child].items())}
        out.add_edge(_clean(parent), _clean(child), **attributes)
    return "\n".join(nx.generate_graphml(out, encoding="utf-8", prettyprint=True)) + "\n"
