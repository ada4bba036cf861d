"""GraphML that validates against the GraphML 1.0 schema, written line by line.

The schema types node ids as `xs:NMTOKEN`, so a serial number is the node id
only where it is one (`escape.graphml_id`; every serial of the documented
charset is), and a reversible stand-in otherwise. The serial itself is always
in the `serial_number`, `label` (Gephi) and `name` (Cytoscape) data.

Keys are typed from the values: `boolean`, `int`, `double` or `string`.
networkx, igraph, yEd, Gephi and Cytoscape read it. Written here rather than
through networkx, whose writer builds the whole document in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import networkx as nx

from tracegraph.export.escape import graphml_id, xml_attribute, xml_text

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return "string"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "\n".join(map(str, value))
    return str(value)


def _key_types(records: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """Each attribute's GraphML type; an attribute of mixed types is a string."""
    types: dict[str, str] = {}
    for record in records:
        for name, value in record.items():
            kind = _type_of(value)
            if types.setdefault(name, kind) != kind:
                types[name] = "string"
    return dict(sorted(types.items()))


def _node_data(graph: nx.DiGraph, serial: str) -> dict[str, object]:
    attributes = dict(graph.nodes[serial])
    name = str(attributes.get("serial_number", serial))
    return {**attributes, "label": name, "name": name}


def _lines(graph: nx.DiGraph) -> Iterator[str]:
    graph_types = _key_types([graph.graph])
    node_types = _key_types(_node_data(graph, s) for s in graph)
    edge_types = _key_types(graph.edges[e] for e in graph.edges)
    keys: dict[tuple[str, str], str] = {}
    yield HEADER
    for domain, types in (("graph", graph_types), ("node", node_types), ("edge", edge_types)):
        for name, kind in types.items():
            key = keys[(domain, name)] = f"d{len(keys)}"
            yield (
                f'  <key id="{key}" for="{domain}" attr.name="{xml_attribute(name)}" '
                f'attr.type="{kind}"/>\n'
            )
    yield '  <graph id="genealogy" edgedefault="directed">\n'
    for name in graph_types:
        text = xml_text(_value(graph.graph[name]))
        yield f'    <data key="{keys[("graph", name)]}">{text}</data>\n'
    for serial in sorted(graph):
        yield f'    <node id="{xml_attribute(graphml_id(serial))}">\n'
        for name, value in sorted(_node_data(graph, serial).items()):
            yield f'      <data key="{keys[("node", name)]}">{xml_text(_value(value))}</data>\n'
        yield "    </node>\n"
    for parent, child in sorted(graph.edges):
        source, target = xml_attribute(graphml_id(parent)), xml_attribute(graphml_id(child))
        data = sorted(graph.edges[parent, child].items())
        if not data:
            yield f'    <edge source="{source}" target="{target}"/>\n'
            continue
        yield f'    <edge source="{source}" target="{target}">\n'
        for name, value in data:
            yield f'      <data key="{keys[("edge", name)]}">{xml_text(_value(value))}</data>\n'
        yield "    </edge>\n"
    yield "  </graph>\n</graphml>\n"


def to_graphml(graph: nx.DiGraph) -> str:
    """The genealogy as GraphML; `label` (Gephi) and `name` (Cytoscape) carry the serial."""
    return "".join(_lines(graph))
