"""The genealogy graph: a networkx DiGraph with parent -> child edges.

Every node and graph attribute is a str, bool or int, never None, so that
every exporter (GraphML in particular) can hold it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from tracegraph._version import __version__
from tracegraph.genealogy import Genealogy, reference_serial, unit_references
from tracegraph.heap import collector_paused
from tracegraph.source import Record, generated_at

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
    "last_run_outcome",
    "last_run_at",
    "last_run_procedure",
    "record",
    "sample",
    "seed",
    "depth",
    "status",
)
GRAPH_ATTRIBUTES = ("tool", "tool_version", "source", "generated_at", "seeds", "scope")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _field(record: Any, key: str) -> Any:
    """`record[key]` when the record is an object that has it, else None."""
    return record.get(key) if isinstance(record, dict) else None


def unit_attributes(unit: Record) -> dict[str, str]:
    """The text attributes of a fetched unit (DESIGN §4)."""
    part = _field(unit, "part")
    run = _field(unit, "created_during")
    return {
        "serial_number": _text(_field(unit, "serial_number")),
        "unit_id": _text(_field(unit, "id")),
        "part_number": _text(_field(part, "number")),
        "part_name": _text(_field(part, "name")),
        "revision": _text(_field(_field(part, "revision"), "number")),
        "batch": _text(_field(_field(unit, "batch"), "number")),
        "created_at": _text(_field(unit, "created_at")),
        "station": _text(_field(_field(unit, "created_by_station"), "name")),
        "created_by": _text(_field(_field(unit, "created_by_user"), "name")),
        "outcome": _text(_field(run, "outcome")),
        "procedure": _text(_field(_field(run, "procedure"), "name")),
        "sample": _text(_field(unit, "sample")),
    }


def last_run_attributes(run: Any) -> dict[str, str]:
    """The latest run of a unit (the list form's `last_run`), never taken for the creating run."""
    return {
        "last_run_outcome": _text(_field(run, "outcome")),
        "last_run_at": _text(_field(run, "started_at")),
        "last_run_procedure": _text(_field(_field(run, "procedure"), "name")),
    }


def shown_outcome(attributes: dict[str, Any]) -> tuple[str, str]:
    """The outcome a picture shows for a unit, and which run it is: `created` or `latest`.

    The run that created the unit when the crawl read its full record, else
    the latest run from its list form (a bulk crawl reads most units so).
    """
    if attributes.get("record") == "list":
        return str(attributes.get("last_run_outcome", "")), "latest"
    return str(attributes.get("outcome", "")), "created"


def outcome_mark(attributes: dict[str, Any]) -> str:
    """A failed or other outcome as pictures and the text tree show it; "" for PASS or none.

    The latest run says so (`FAIL (last run)`), so it is never read as the run
    that created the unit.
    """
    outcome, run = shown_outcome(attributes)
    if not outcome or outcome == "PASS":
        return ""
    return f"{outcome} (last run)" if run == "latest" else outcome


def _node(genealogy: Genealogy, serial: str, seeds: set[str]) -> dict[str, object]:
    """A node's attributes: the unit's, or what the reference to a missing unit says."""
    unit = genealogy.units.get(serial)
    if unit is not None:
        attributes: dict[str, object] = {**unit_attributes(unit), "status": "ok"}
        attributes.update(last_run_attributes(genealogy.last_runs.get(serial)))
        attributes["record"] = "list" if serial in genealogy.listed else "full"
    else:
        attributes = {**unit_attributes(genealogy.missing[serial]), "status": "missing"}
        attributes.update(created_at="", batch="", record="")
        attributes.update(last_run_attributes(None))
    attributes.update(
        serial_number=serial, seed=serial in seeds, depth=genealogy.depths.get(serial, 0)
    )
    return attributes


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
    # Optional provenance: only when there is something to say.
    if genealogy.captured_at:
        graph.graph["captured_at"] = genealogy.captured_at
    graph.graph.update(genealogy.provenance)
    if genealogy.max_depth is not None:
        graph.graph["max_depth"] = genealogy.max_depth
    seeds = set(genealogy.seeds)
    with collector_paused():
        serials = sorted(genealogy.units.keys() | genealogy.missing.keys())
        graph.add_nodes_from((serial, _node(genealogy, serial, seeds)) for serial in serials)
        edges, link_warnings = links(genealogy, set(graph))
        graph.add_edges_from(sorted(edges), relation="contains")
        warnings = [*genealogy.warnings, *link_warnings, *structure_warnings(graph)]
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
    # The API compares serials ignoring case: a reference to `brd-1` means `BRD-1`.
    folded = {s.casefold(): s for s in sorted(serials, reverse=True)}

    def resolve(reference: object) -> str | None:
        serial = reference_serial(reference)
        if not serial:
            return None
        serial = aliases.get(serial, serial)
        return serial if serial in serials else folded.get(serial.casefold(), serial)

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
    for serial in sorted(s for s, parents in graph.in_degree() if parents > 1):
        parents = sorted(graph.predecessors(serial))
        yield f"unit {serial!r} has more than one parent: " + ", ".join(map(repr, parents))
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1 or any(graph.has_edge(s, s) for s in component):
            yield "cycle among units " + ", ".join(map(repr, sorted(component)))


def roots(graph: nx.DiGraph) -> list[str]:
    """Units with no parent in the graph, sorted; a unit on a cycle stands in for its cycle."""
    found = sorted(s for s, parents in graph.in_degree() if parents == 0)
    reached: set[str] = set()
    successors = graph.succ

    def reach(start: str) -> None:  # `start` and everything below it
        stack = [start]
        reached.add(start)
        while stack:
            for child in successors[stack.pop()]:
                if child not in reached:
                    reached.add(child)
                    stack.append(child)

    for root in found:
        reach(root)
    for serial in sorted(graph):
        if serial not in reached:
            found.append(serial)
            reach(serial)
    return found


def top_levels(graph: nx.DiGraph) -> dict[str, str]:
    """Every unit's top-level unit (`top_level`'s answer), in one pass over the graph.

    A walk that reaches a top-level unit names it for every unit it passed, so
    later walks stop where an earlier one went; a unit above which the data
    loops gets `top_level`'s own answer.
    """
    settled: dict[str, str] = {}  # units whose walk up ends at a unit with no parent
    looped: dict[str, str] = {}
    for serial in graph:
        path = [serial]
        seen = {serial}
        current = serial
        while current not in settled:
            parents = sorted(graph.predecessors(current))
            if not parents:
                settled.update(dict.fromkeys(path, current))
                break
            if parents[0] in seen:
                looped[serial] = top_level(graph, serial)[0]
                break
            current = parents[0]
            seen.add(current)
            path.append(current)
        else:
            settled.update(dict.fromkeys(path, settled[current]))
    return {**looped, **settled}


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
