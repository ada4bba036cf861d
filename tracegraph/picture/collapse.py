"""Repeated parts drawn once: one `40 × CAP-100N rev A` box instead of forty.

Under one parent, siblings that share part number, revision and batch, and
whose own subtrees have the same shape (the same part numbers, revisions and
batches at the same places), become one group box; the group's children are
the members' children, grouped the same way, so identical sub-assemblies fold
together all the way down. Seeds, suspects, top-level and loose units, missing
units, units with a failed outcome and units with warnings are never folded,
nor is anything above them in their subtree.

This is for pictures only: the view it returns is a graph whose group nodes
carry `group=True`, `count` and `members` (every serial they stand for).
GraphML, JSON, CSV and the exported DOT always keep every unit.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable

import networkx as nx

from tracegraph.graph import outcome_mark, roots

# Python string literals, as warnings quote serial numbers (`unit 'X' ...`).
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def warnings_about(graph: nx.DiGraph) -> dict[str, list[str]]:
    """The warnings of the genealogy that name each unit (only units named by one)."""
    named: dict[str, list[str]] = {}
    for warning in graph.graph.get("warnings", ()):
        for literal in _QUOTED.findall(str(warning)):
            try:
                value = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str) and value in graph:
                about = named.setdefault(value, [])
                if str(warning) not in about:
                    about.append(str(warning))
    return named


def units_with_warnings(graph: nx.DiGraph) -> set[str]:
    """The units a warning of the genealogy names."""
    return set(warnings_about(graph))


def failed(attributes: dict[str, object]) -> bool:
    """Whether the run the graph knows for the unit did not pass (see `graph.shown_outcome`)."""
    return bool(outcome_mark(attributes))


def protected_units(graph: nx.DiGraph) -> set[str]:
    """Units never folded into a group: what an auditor must see one by one."""
    marks = ("seed", "suspect", "top_level", "loose", "change")
    kept = {
        serial
        for serial, attributes in graph.nodes(data=True)
        if any(attributes.get(mark) for mark in marks)
        or attributes.get("status") == "missing"
        or failed(attributes)
        or graph.in_degree(serial) > 1
    }
    return kept | units_with_warnings(graph)


def _post_order(graph: nx.DiGraph, tops: Iterable[str]) -> list[str]:
    """Every unit reachable from `tops`, children before their parent (no recursion)."""
    order: list[str] = []
    seen: set[str] = set()
    for top in tops:
        if top in seen:
            continue
        seen.add(top)
        stack = [(top, iter(sorted(graph.successors(top))))]
        while stack:
            serial, children = stack[-1]
            child = next(children, None)
            if child is None:
                order.append(serial)
                stack.pop()
            elif child not in seen:
                seen.add(child)
                stack.append((child, iter(sorted(graph.successors(child)))))
    return order


class _Shapes:
    """Which units may fold, and a number per subtree shape (same number, same shape)."""

    def __init__(self, graph: nx.DiGraph, also: tuple[str, ...]) -> None:
        kept = protected_units(graph)
        self.foldable: set[str] = set()
        self.shape: dict[str, int] = {}
        numbers: dict[tuple[object, ...], int] = {}
        for serial in _post_order(graph, roots(graph)):
            children = list(graph.successors(serial))
            if serial in kept or not all(c in self.foldable for c in children):
                continue
            attributes = graph.nodes[serial]
            key = (
                attributes.get("part_number", ""),
                attributes.get("revision", ""),
                attributes.get("batch", ""),
                *(attributes.get(name, "") for name in also),
                tuple(sorted(self.shape[c] for c in children)),
            )
            self.shape[serial] = numbers.setdefault(key, len(numbers))
            self.foldable.add(serial)


def _group_name(view: nx.DiGraph, graph: nx.DiGraph, first: str) -> str:
    """A node key for a group that is no serial number of the genealogy."""
    key = f"{first} ×"
    while key in graph or key in view:
        key += "×"
    return key


def collapse(graph: nx.DiGraph, also: tuple[str, ...] = ()) -> nx.DiGraph:
    """The picture's view of the genealogy: repeated sub-assemblies folded into groups.

    `also`: more attributes that siblings must share to fold (`outcome`, when
    the fill colour shows it).
    """
    if graph.graph.get("analysis") == "diff":
        also = (*also, "departed")  # OLD's departed units fold only among themselves, dashed
    shapes = _Shapes(graph, also)
    view = nx.DiGraph()
    view.graph.update(graph.graph, collapsed=0)
    drawn: list[str] = []  # units drawn one by one, to expand

    def add_unit(serial: str) -> None:
        if serial not in view:
            view.add_node(serial, **graph.nodes[serial])
            drawn.append(serial)

    def add_children(box: str, members: list[str]) -> None:
        """Group the members' children by shape under `box`; lone ones are drawn as units."""
        classes: dict[int, list[str]] = defaultdict(list)
        for member in members:
            for child in graph.successors(member):
                if child in shapes.foldable:
                    classes[shapes.shape[child]].append(child)
                elif len(members) == 1:
                    add_unit(child)
        for shape in sorted(classes, key=lambda s: min(classes[s])):
            siblings = sorted(classes[shape])
            if len(siblings) == 1 and len(members) == 1:
                add_unit(siblings[0])
                continue
            group = _group_name(view, graph, siblings[0])
            view.add_node(group, **_group_attributes(graph, siblings, also))
            view.graph["collapsed"] += len(siblings)
            view.add_edge(box, group, relation="contains")
            add_children(group, siblings)

    for root in roots(graph):
        add_unit(root)
    while drawn:
        serial = drawn.pop()
        add_children(serial, [serial])
    view.add_edges_from(
        (parent, child, data)
        for parent, child, data in graph.edges(data=True)
        if parent in view and child in view
    )
    return view


def _group_attributes(
    graph: nx.DiGraph, members: list[str], also: tuple[str, ...]
) -> dict[str, object]:
    first = graph.nodes[members[0]]
    return {
        "group": True,
        "count": len(members),
        "members": tuple(members),
        "serial_number": "",
        "part_number": first.get("part_number", ""),
        "part_name": first.get("part_name", ""),
        "revision": first.get("revision", ""),
        "batch": first.get("batch", ""),
        "status": "ok",
        "outcome": "",
        "last_run_outcome": "",
        "record": first.get("record", ""),
        "seed": False,
        "depth": min(int(graph.nodes[m].get("depth", 0)) for m in members),
        **{name: first.get(name, "") for name in also},
    }


def is_group(attributes: dict[str, object]) -> bool:
    return bool(attributes.get("group"))
