"""GraphML that validates against the GraphML 1.0 schema, written line by line.

The schema types node ids as `xs:NMTOKEN`, so a serial number is the node id
only where it is one (`escape.graphml_id`; every serial of the documented
charset is), and a reversible stand-in otherwise. The serial itself is always
in the `serial_number`, `label` (Gephi) and `name` (Cytoscape) data, except
one holding a character XML 1.0 cannot hold (a control character): there too
it is the stand-in (`escape.graphml_serial`), so that no two units read alike.

Keys are typed from the values: `boolean`, `int`, `double` or `string`.
networkx, igraph, yEd, Gephi and Cytoscape read it. Written here rather than
through networkx, whose writer builds the whole document in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import networkx as nx

from tracegraph.escape import graphml_id, graphml_serial, xml_attribute, xml_text

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)


_TYPES = {bool: "boolean", int: "int", float: "double"}


def _text(value: object) -> str:
    """A data value as GraphML text, escaped for XML."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return xml_text("\n".join(map(str, value)))
    return xml_text(str(value))


def _key_types(records: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """Each attribute's GraphML type; an attribute of mixed types is a string."""
    kinds = {(name, type(value)) for record in records for name, value in record.items()}
    types: dict[str, str] = {}
    for name, kind in kinds:
        graphml_type = _TYPES.get(kind, "string")
        if types.setdefault(name, graphml_type) != graphml_type:
            types[name] = "string"
    return dict(sorted(types.items()))


def _lines(graph: nx.DiGraph) -> Iterator[str]:
    graph_types = _key_types([graph.graph])
    node_types = _key_types(attributes for _, attributes in graph.nodes(data=True))
    node_types = dict(sorted({**node_types, "label": "string", "name": "string"}.items()))
    edge_types = _key_types(attributes for _, _, attributes in graph.edges(data=True))
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
        yield f'    <data key="{keys[("graph", name)]}">{_text(graph.graph[name])}</data>\n'
    # `label` (Gephi) and `name` (Cytoscape) repeat the serial number.
    node_keys = [(name, f'      <data key="{keys[("node", name)]}">') for name in node_types]
    nodes = graph.nodes
    for serial in sorted(graph):
        attributes = nodes[serial]
        shown = _text(graphml_serial(attributes.get("serial_number", serial)))
        lines = [f'    <node id="{xml_attribute(graphml_id(serial))}">\n']
        for name, opening in node_keys:
            if name == "label" or name == "name" or name == "serial_number":
                lines.append(f"{opening}{shown}</data>\n")
            elif name in attributes:
                lines.append(f"{opening}{_text(attributes[name])}</data>\n")
        lines.append("    </node>\n")
        yield "".join(lines)
    for parent, child in sorted(graph.edges):
        source, target = xml_attribute(graphml_id(parent)), xml_attribute(graphml_id(child))
        data = sorted(graph.edges[parent, child].items())
        if not data:
            yield f'    <edge source="{source}" target="{target}"/>\n'
            continue
        yield f'    <edge source="{source}" target="{target}">\n'
        for name, value in data:
            yield f'      <data key="{keys[("edge", name)]}">{_text(value)}</data>\n'
        yield "    </edge>\n"
    yield "  </graph>\n</graphml>\n"


def to_graphml(graph: nx.DiGraph) -> str:
    """The genealogy as GraphML; `label` (Gephi) and `name` (Cytoscape) carry the serial."""
    return "".join(_lines(graph))
