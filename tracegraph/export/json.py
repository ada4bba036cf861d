"""node-link JSON with the graph attributes and the consistency warnings."""

from __future__ import annotations

import json

import networkx as nx
import orjson


def to_node_link(graph: nx.DiGraph) -> dict[str, object]:
    """The networkx node-link form (`edges="edges"`), sorted, plus `warnings`."""
    return {
        "directed": True,
        "multigraph": False,
        "graph": {k: v for k, v in sorted(graph.graph.items()) if k != "warnings"},
        "nodes": [{"id": s, **dict(sorted(graph.nodes[s].items()))} for s in sorted(graph)],
        "edges": [
            {"source": p, "target": c, **dict(sorted(graph.edges[p, c].items()))}
            for p, c in sorted(graph.edges)
        ],
        "warnings": list(graph.graph.get("warnings", [])),
    }


def to_json(graph: nx.DiGraph) -> bytes:
    """The genealogy as JSON that `networkx.node_link_graph(data, edges="edges")` reads.

    Written by orjson, whose indented output is byte for byte that of the
    standard library's `json.dumps(..., indent=2, ensure_ascii=False)` (checked
    in the tests), ten times faster.
    """
    data = to_node_link(graph)
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    except orjson.JSONEncodeError:
        # Text orjson refuses: a lone surrogate (crawls mend them, a graph built
        # by hand may hold one). Escaped, as `\ud800`: the file stays UTF-8.
        return (json.dumps(data, indent=2, ensure_ascii=True) + "\n").encode("ascii")
