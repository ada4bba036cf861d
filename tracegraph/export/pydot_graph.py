"""The genealogy as a `pydot.Dot`, for restyling in Python before rendering.

pydot would mangle serial numbers given as plain names (`a:b` becomes node
`a` with a port, `node` a defaults statement; DESIGN §7), so every name here
is already an exact DOT ID (`escape.dot_id`) and pydot is kept from parsing
it again.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import pydot

from tracegraph.escape import dot_id
from tracegraph.picture.scene import GRAPH_NAME, picture


class _ExactEdge(pydot.Edge):
    """An edge whose endpoints are written as given: they are exact DOT IDs already."""

    def parse_node_ref(self, node_ref: Any) -> Any:
        return node_ref


def to_pydot(graph: nx.DiGraph) -> pydot.Dot:
    """The genealogy's picture as a `pydot.Dot` whose node names are exact DOT IDs.

    Find a unit's node with ``dot.get_node(dot_id(serial))[0]`` (`dot_id`
    from `tracegraph.escape` quotes the serial as Graphviz reads it
    back exactly); `to_string()` gives DOT that Graphviz reads with every
    serial intact.
    """
    drawn = picture(graph)
    dot = pydot.Dot(graph_name=GRAPH_NAME, graph_type="digraph")
    for name, value in drawn.graph:
        dot.set(name, value)
    dot.set_node_defaults(**dict(drawn.node))
    dot.set_edge_defaults(**dict(drawn.edge))
    for serial, attributes in drawn.nodes:
        node = pydot.Node("node")
        node.set_name(dot_id(serial))  # set after construction: the constructor splits ports
        node.obj_dict["attributes"] = dict(attributes)
        dot.add_node(node)
    for parent, child, attributes in drawn.edges:
        edge = _ExactEdge(dot_id(parent), dot_id(child))
        edge.obj_dict["attributes"] = dict(attributes)
        dot.add_edge(edge)
    return dot
