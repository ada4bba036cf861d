"""The genealogy graph: a networkx DiGraph with parent -> child edges.

Every node and graph attribute is a str, bool or int, never None, so that
every exporter (GraphML in particular) can hold it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

import networkx as nx

from tracegraph._version import __version__
from tracegraph.genealogy import Genealogy, reference_serial, unit_references
from tracegraph.source import Record

NODE_ATTRIBUTES = (
    "serial_number",
    "unit_id",
    "part_number",
    "part_name",
    "revision",
    "batch",
    "created_at",
    "station",
    "created_by",
    "outcome",
    "procedure",
    "sample",
    "seed",
    "depth",
    "status",
)
GRAPH_ATTRIBUTES = ("tool", "tool_version", "source", "generated_at", "seeds", "scope")


def generated_at() -> str:
    """Now in UTC, ISO 8601 — or `SOURCE_DATE_EPOCH` when set, for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    seconds = int(epoch) if epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _get(record: Any, *path: str) -> str:
    for key in path:
        if not isinstance(record, dict):
            return ""
        record = record.get(key)
    return _text(record)


def unit_attributes(unit: Record) -> dict[str, str]:
    """The text attributes of a fetched unit (DESIGN §4)."""
    return {
        "serial_number": _get(unit, "serial_number"),
        "unit_id": _get(unit, "id"),
        "part_number": _get(unit, "part", "number"),
        "part_name": _get(unit, "part", "name"),
        "revision": _get(unit, "part", "revision", "number"),
        "batch": _get(unit, "batch", "number"),
        "created_at": _get(unit, "created_at"),
        "station": _get(unit, "created_by_station", "name"),
        "created_by": _get(unit, "created_by_user", "name"),
        "outcome": _get(unit, "created_during", "outcome"),
        "procedure": _get(unit, "created_during", "procedure", "name"),
        "sample": _get(unit, "sample"),
    }


def build_graph(
    genealogy: Genealogy,
    *,
    seeds_label: str,
    generated: str | None = None,
) -> nx.DiGraph:
    """Build the genealogy graph, sorted, with its consistency warnings.

    `seeds_label` says what was asked (e.g. ``unit SN-1``); it lands in the
    `seeds` graph attribute and the picture's title.
    """
    graph = nx.DiGraph()
    graph.graph.update(
        tool="tracegraph",
        tool_version=__version__,
        source=genealogy.source_url,
        generated_at=generated or generated_at(),
        seeds=seeds_label,
        scope=genealogy.scope.value,
    )
    seeds = set(genealogy.seeds)
    for serial in sorted(set(genealogy.units) | set(genealogy.missing)):
        unit = genealogy.units.get(serial)
        if unit is not None:
            attributes = unit_attributes(unit)
            attributes["serial_number"] = serial
            status = "ok"
        else:
            attributes = unit_attributes(genealogy.missing[serial])
            attributes.update(serial_number=serial, created_at="", batch="")
            status = "missing"
        graph.add_node(
            serial,
            **attributes,
            seed=serial in seeds,
            depth=genealogy.depths.get(serial, 0),
            status=status,
        )
    edges, link_warnings = links(genealogy, set(graph))
    warnings = [*genealogy.warnings, *link_warnings]
    graph.add_edges_from(sorted(edges), relation="contains")
    warnings.extend(structure_warnings(graph))
    graph.graph["warnings"] = sorted(set(warnings))
    return graph


def links(genealogy: Genealogy, serials: set[str]) -> tuple[set[tuple[str, str]], list[str]]:
    """Parent -> child links among `serials`, from both the parent and the children fields.

    Links the two fields disagree on are kept and reported as warnings.
    """
    edges: set[tuple[str, str]] = set()
    warnings: list[str] = []
    children_of: dict[str, set[str]] = {}
    parent_of: dict[str, str | None] = {}
    aliases = genealogy.aliases

    def resolve(reference: object) -> str | None:
        serial = reference_serial(reference)
        return aliases.get(serial, serial) if serial else None

    for serial, unit in genealogy.units.items():
        parent, children = unit_references(unit)
        parent_of[serial] = resolve(parent)
        children_of[serial] = {resolve(c) or "" for c in children}
    for serial in sorted(genealogy.units):
        parent_serial = parent_of[serial]
        if parent_serial is not None and parent_serial in serials:
            edges.add((parent_serial, serial))
            listed = children_of.get(parent_serial)
            complete = parent_serial not in genealogy.partial
            if listed is not None and complete and serial not in listed:
                warnings.append(
                    f"unit {serial!r} names {parent_serial!r} as its parent, "
                    f"but {parent_serial!r} does not list it as a child"
                )
        for child in sorted(children_of[serial] & serials):
            edges.add((serial, child))
            if child in parent_of and parent_of[child] != serial:
                named = parent_of[child]
                warnings.append(
                    f"unit {serial!r} lists {child!r} as a child, but "
                    + (f"its parent is {named!r}" if named else "it names no parent")
                )
    return edges, warnings


def structure_warnings(graph: nx.DiGraph) -> Iterable[str]:
    """Warnings about shapes a genealogy must not have: two parents, cycles."""
    for serial in sorted(graph):
        parents = sorted(graph.predecessors(serial))
        if len(parents) > 1:
            yield f"unit {serial!r} has more than one parent: " + ", ".join(map(repr, parents))
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1 or any(graph.has_edge(s, s) for s in component):
            yield "cycle among units " + ", ".join(map(repr, sorted(component)))


def roots(graph: nx.DiGraph) -> list[str]:
    """Units with no parent in the graph, sorted; a unit on a cycle stands in for its cycle."""
    found = [s for s in sorted(graph) if graph.in_degree(s) == 0]
    reached = set(found)
    for root in found:
        reached.update(nx.descendants(graph, root))
    for serial in sorted(graph):
        if serial not in reached:
            found.append(serial)
            reached.add(serial)
            reached.update(nx.descendants(graph, serial))
    return found


def top_level(graph: nx.DiGraph, serial: str) -> tuple[str, list[str]]:
    """The top-level unit above `serial` and the path down to it (top first)."""
    path = [serial]
    seen = {serial}
    current = serial
    while True:
        parents = sorted(graph.predecessors(current))
        if not parents or parents[0] in seen:
            break
        current = parents[0]
        seen.add(current)
        path.append(current)
    return current, path[::-1]
