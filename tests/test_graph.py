from __future__ import annotations

import asyncio
from typing import Any

import networkx as nx

from tests.builders import Factory, drone_factory
from tracegraph.crawl import Scope, crawl_genealogy
from tracegraph.graph import GRAPH_ATTRIBUTES, NODE_ATTRIBUTES, build_graph, roots
from tracegraph.sources.snapshot import SnapshotSource


def graph_of(snapshot: dict[str, Any], seeds: list[str], **options: Any) -> nx.DiGraph:
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), seeds, **options))
    return build_graph(genealogy, seeds_label="test")


def ref(serial: str) -> dict[str, Any]:
    return {"id": f"unit-{serial}", "serial_number": serial, "part": None}


def test_nodes_carry_the_schema_and_never_none() -> None:
    graph = graph_of(drone_factory().snapshot(), ["CAP-1"])
    for serial, attributes in graph.nodes(data=True):
        assert set(attributes) == set(NODE_ATTRIBUTES)
        assert all(v is not None for v in attributes.values()), serial
    assert graph.nodes["CAP-1"]["batch"] == "C1" and graph.nodes["FC-1"]["batch"] == ""
    assert graph.nodes["CAP-1"]["seed"] is True and graph.nodes["PCB-1"]["seed"] is False
    assert graph.nodes["DRN-1"]["depth"] == 3
    # A snapshot's capture time is recorded; max_depth only when --depth was given.
    assert set(graph.graph) == {*GRAPH_ATTRIBUTES, "warnings", "captured_at"}
    assert graph.graph["generated_at"] == "2026-11-18T11:06:40Z"  # SOURCE_DATE_EPOCH
    assert graph.graph["captured_at"] == drone_factory().snapshot()["captured_at"]
    assert graph.edges["PCB-1", "CAP-1"] == {"relation": "contains"}


def test_consistent_data_gives_no_warnings() -> None:
    assert graph_of(drone_factory().snapshot(), ["DRN-1"]).graph["warnings"] == []


def test_a_child_that_names_another_parent_is_a_warning_and_both_links_stay() -> None:
    snapshot = drone_factory().snapshot()
    snapshot["units"]["PCB-1"]["children"].append(ref("CAP-3"))
    graph = graph_of(snapshot, ["DRN-1", "DRN-2"])
    assert graph.has_edge("PCB-1", "CAP-3") and graph.has_edge("PCB-2", "CAP-3")
    assert graph.graph["warnings"] == [
        "unit 'CAP-3' has more than one parent: 'PCB-1', 'PCB-2'",
        "unit 'PCB-1' lists 'CAP-3' as a child, but its parent is 'PCB-2'",
    ]


def test_a_parent_that_does_not_list_its_child_is_a_warning() -> None:
    snapshot = drone_factory().snapshot()
    snapshot["units"]["PCB-1"]["children"] = [ref("CAP-1"), ref("CAP-2")]
    graph = graph_of(snapshot, ["PCB-1"], scope=Scope.TREE)
    assert "RES-1" not in graph  # reached from nowhere: its parent never lists it
    graph = graph_of(snapshot, ["RES-1"])
    assert graph.has_edge("PCB-1", "RES-1")
    assert graph.graph["warnings"] == [
        "unit 'RES-1' names 'PCB-1' as its parent, but 'PCB-1' does not list it as a child"
    ]


def test_a_cycle_is_reported_and_every_unit_still_has_a_place() -> None:
    snapshot = Factory().chain(["A", "B", "C"]).snapshot()
    snapshot["units"]["A"]["parent"] = ref("C")
    snapshot["units"]["C"]["children"] = [ref("A")]
    graph = graph_of(snapshot, ["A"])
    assert "cycle among units 'A', 'B', 'C'" in graph.graph["warnings"]
    assert roots(graph) == ["A"]


def test_roots_are_the_units_without_a_parent_sorted() -> None:
    graph = graph_of(drone_factory().snapshot(), ["CAP-1", "CAP-5", "CAP-6"])
    assert roots(graph) == ["CAP-6", "DRN-1", "PCB-3"]
