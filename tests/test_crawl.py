from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.builders import Factory, bike_factory, drone_factory
from tests.conftest import API_KEY, assert_sdk_accepts
from tests.tofupilot_server import TofuPilotServer
from tracegraph.crawl import Genealogy, Scope, crawl_genealogy, resolve_batches
from tracegraph.errors import (
    CrawlLimitError,
    NotFoundError,
    RefusedError,
    SourceError,
    TransportError,
)
from tracegraph.graph import build_graph
from tracegraph.impact import analyse_impact
from tracegraph.source import BatchFilters, Record
from tracegraph.sources.api import ApiSource
from tracegraph.sources.snapshot import SnapshotSource


class CountingSource(SnapshotSource):
    """A snapshot source that counts requests and how many run at once."""

    def __init__(self, snapshot: dict[str, Any], delay: float = 0.0) -> None:
        super().__init__(snapshot)
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = delay

    async def get_unit(self, serial: str) -> Record:
        self.calls[serial] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            return await super().get_unit(serial)
        finally:
            self.in_flight -= 1


def crawl(snapshot: dict[str, Any], seeds: list[str], **options: Any) -> Genealogy:
    return asyncio.run(crawl_genealogy(SnapshotSource(snapshot), seeds, **options))


def serials(genealogy: Genealogy) -> set[str]:
    return set(genealogy.units) | set(genealogy.missing)


def test_tree_scope_reaches_the_whole_tree_of_the_seed() -> None:
    found = crawl(drone_factory().snapshot(), ["CAP-1"])
    assert serials(found) == {"DRN-1", "FC-1", "PCB-1", "CAP-1", "CAP-2", "RES-1"}
    assert found.depths == {"CAP-1": 0, "PCB-1": 1, "FC-1": 2, "DRN-1": 3, "CAP-2": 2, "RES-1": 2}


def test_lineage_scope_keeps_only_ancestors_and_descendants() -> None:
    found = crawl(drone_factory().snapshot(), ["FC-1"], scope=Scope.LINEAGE)
    assert serials(found) == {"DRN-1", "FC-1", "PCB-1", "CAP-1", "CAP-2", "RES-1"}
    found = crawl(drone_factory().snapshot(), ["PCB-1"], scope=Scope.LINEAGE)
    assert "DRN-1" in serials(found) and "CAP-1" in serials(found)
    found = crawl(drone_factory().snapshot(), ["CAP-1"], scope=Scope.LINEAGE)
    assert serials(found) == {"CAP-1", "PCB-1", "FC-1", "DRN-1"}  # no sibling CAP-2


def test_up_scope_is_where_used_and_down_scope_is_as_built() -> None:
    snapshot = drone_factory().snapshot()
    assert serials(crawl(snapshot, ["CAP-3"], scope=Scope.UP)) == {
        "CAP-3",
        "PCB-2",
        "FC-2",
        "DRN-2",
    }
    assert serials(crawl(snapshot, ["FC-2"], scope=Scope.DOWN)) == {
        "FC-2",
        "PCB-2",
        "CAP-3",
        "CAP-4",
    }


def test_depth_keeps_units_within_n_links_of_a_seed() -> None:
    snapshot = drone_factory().snapshot()
    assert serials(crawl(snapshot, ["FC-1"], max_depth=1)) == {"DRN-1", "FC-1", "PCB-1"}
    assert serials(crawl(snapshot, ["FC-1"], max_depth=0)) == {"FC-1"}


def test_depth_is_the_shortest_distance_to_any_seed() -> None:
    f = Factory().chain([f"U{i}" for i in range(10)])
    found = crawl(f.snapshot(), ["U0", "U9"], max_depth=3)
    assert serials(found) == {"U0", "U1", "U2", "U3", "U6", "U7", "U8", "U9"}
    assert found.depths["U7"] == 2 and found.depths["U1"] == 1


def test_every_unit_is_fetched_once_from_many_overlapping_seeds() -> None:
    source = CountingSource(drone_factory().snapshot())
    seeds = ["CAP-1", "CAP-2", "PCB-1", "DRN-1", "CAP-3", "CAP-1"]
    found = asyncio.run(crawl_genealogy(source, seeds, bulk=False))
    assert set(source.calls.values()) == {1}
    assert set(source.calls) == serials(found)
    assert found.seeds == ("CAP-1", "CAP-2", "PCB-1", "DRN-1", "CAP-3")


def test_requests_in_flight_never_exceed_the_concurrency() -> None:
    f = Factory().unit("ROOT")
    for i in range(200):
        f.unit(f"C{i:03}", parent="ROOT")
    source = CountingSource(f.snapshot(), delay=0.001)
    found = asyncio.run(crawl_genealogy(source, ["ROOT"], concurrency=7, bulk=False))
    assert len(found.units) == 201
    assert source.max_in_flight == 7


def test_a_deep_chain_does_not_hit_the_recursion_limit() -> None:
    chain = [f"L{i:05}" for i in range(3000)]
    found = crawl(Factory().chain(chain).snapshot(), [chain[-1]], scope=Scope.UP)
    assert len(found.units) == 3000
    assert found.depths[chain[0]] == 2999


def test_a_unit_with_thousands_of_children_is_crawled() -> None:
    f = Factory().unit("PANEL")
    for i in range(3000):
        f.unit(f"CHIP-{i:04}", parent="PANEL")
    found = crawl(f.snapshot(), ["CHIP-0000"])
    assert len(found.units) == 3001


def test_max_units_refuses_to_grow_past_the_limit() -> None:
    with pytest.raises(CrawlLimitError, match="--max-units 5"):
        crawl(drone_factory().snapshot(), ["DRN-1"], max_units=5)
    assert len(crawl(drone_factory().snapshot(), ["DRN-1"], max_units=6).units) == 6


def test_unknown_seed_serial_is_an_error() -> None:
    with pytest.raises(NotFoundError, match="'NOPE'"):
        crawl(drone_factory().snapshot(), ["NOPE"])


def test_dangling_child_becomes_a_missing_unit_with_a_warning() -> None:
    snapshot = drone_factory().snapshot()
    snapshot["units"]["PCB-1"]["children"].append(
        {"id": "u-ghost", "serial_number": "GHOST-1", "part": None}
    )
    found = crawl(snapshot, ["DRN-1"])
    assert "GHOST-1" in found.missing
    assert found.units.keys() == {"DRN-1", "FC-1", "PCB-1", "CAP-1", "CAP-2", "RES-1"}
    assert found.warnings == ["unit 'GHOST-1' is referenced by 'PCB-1' but does not exist (404)"]


def test_a_cycle_in_the_data_still_terminates() -> None:
    snapshot = Factory().chain(["A", "B", "C"]).snapshot()
    units = snapshot["units"]
    units["A"]["parent"] = {"id": "unit-C", "serial_number": "C", "part": None}
    units["C"]["children"] = [{"id": "unit-A", "serial_number": "A", "part": None}]
    found = crawl(snapshot, ["B"])
    assert serials(found) == {"A", "B", "C"}


def test_a_seed_written_in_another_case_is_keyed_by_its_own_serial() -> None:
    found = crawl(drone_factory().snapshot(), ["pcb-1"])
    assert "PCB-1" in found.units and "pcb-1" not in found.units
    assert found.seeds == ("PCB-1",)
    assert found.depths["PCB-1"] == 0


def test_batches_resolve_to_their_units_by_number_and_by_filter() -> None:
    source = SnapshotSource(drone_factory().snapshot())
    found = asyncio.run(resolve_batches(source, ["C1"], BatchFilters()))
    assert found.batches == ("C1",)
    assert set(found.serials) == {"CAP-1", "CAP-2", "CAP-3", "CAP-6"}
    filters = BatchFilters(part_numbers=("CAP",), revision_numbers=("B",))
    found = asyncio.run(resolve_batches(source, [], filters))
    assert found.batches == ("C2",)


def test_filters_that_match_no_batch_are_an_error() -> None:
    source = SnapshotSource(drone_factory().snapshot())
    with pytest.raises(NotFoundError, match="part-number=NONE"):
        asyncio.run(resolve_batches(source, [], BatchFilters(part_numbers=("NONE",))))


class RefusingSource(SnapshotSource):
    """The API refuses one serial (HTTP 400), as it may for odd legacy identifiers."""

    async def get_unit(self, serial: str) -> Record:
        if serial == "CAP-2":
            raise RefusedError("unit", serial, "HTTP 400: invalid serial")
        return await super().get_unit(serial)


def test_a_refused_reference_becomes_missing_with_a_warning() -> None:
    source = RefusingSource(drone_factory().snapshot())
    found = asyncio.run(crawl_genealogy(source, ["PCB-1"], bulk=False))
    assert "CAP-2" in found.missing and "CAP-1" in found.units
    assert found.warnings == [
        "unit 'CAP-2' is referenced by 'PCB-1' but the API refuses it (HTTP 400: invalid serial)"
    ]
    with pytest.raises(RefusedError):
        asyncio.run(crawl_genealogy(source, ["CAP-2"], bulk=False))


def test_a_batch_without_a_unit_list_is_an_error() -> None:
    snapshot = drone_factory().snapshot()
    snapshot["batches"]["C1"]["units"] = "CAP-1"
    with pytest.raises(SourceError, match=r"batch 'C1' .* has no list of units"):
        asyncio.run(resolve_batches(SnapshotSource(snapshot), ["C1"], BatchFilters()))


def over_http(snapshot: dict[str, Any], seeds: list[str], **options: Any) -> Genealogy:
    """A crawl through the API client against the loopback server (list forms and all)."""

    async def go(url: str) -> Genealogy:
        async with ApiSource(url, "k") as api:
            return await crawl_genealogy(api, seeds, **options)

    with TofuPilotServer(snapshot, api_key="k") as server:
        found = asyncio.run(go(server.url))
        assert_sdk_accepts(server.served)
    found.source_url = "http://127.0.0.1/api"  # each server has a port of its own
    return found


def _graphs_alike(bulk: Genealogy, one_by_one: Genealogy, label: str) -> None:
    """The same nodes, edges and attributes, but for what a list form cannot hold.

    A unit read only in list form (`record` list) has no creating run
    (`outcome`, `procedure` empty); every other attribute, the latest run
    included, is the one the unit-by-unit crawl gives.
    """
    walked = build_graph(bulk, seeds_label=label)
    crawled = build_graph(one_by_one, seeds_label=label)
    assert walked.graph == crawled.graph
    assert sorted(walked.edges(data=True)) == sorted(crawled.edges(data=True))
    assert sorted(walked) == sorted(crawled)
    for serial in crawled:
        expected = dict(crawled.nodes[serial])
        if serial in bulk.listed:
            expected.update(outcome="", procedure="", record="list")
        assert walked.nodes[serial] == expected, serial
        if expected["status"] == "ok":
            assert expected["last_run_outcome"], serial  # both read the latest run


@pytest.mark.parametrize("scope", [Scope.TREE, Scope.DOWN, Scope.LINEAGE, Scope.UP])
def test_a_crawl_in_pages_gives_the_graph_of_the_unit_by_unit_crawl(scope: Scope) -> None:
    snapshot = bike_factory().snapshot()
    cells = [u["serial_number"] for u in snapshot["batches"]["CELL-2407"]["units"]]
    seeds = ["PACK-1", *cells[:3]] if scope is not Scope.UP else cells
    bulk = over_http(snapshot, [], optional_seeds=seeds, scope=scope)
    one_by_one = over_http(snapshot, [], optional_seeds=seeds, scope=scope, bulk=False)
    _graphs_alike(bulk, one_by_one, "batch CELL-2407")
    assert bulk.requests <= one_by_one.requests / 2
    assert bulk.partial == frozenset()  # no list record here had its children cut at 10
    # With --full-records the creating runs are there too: the very same graph.
    full = over_http(snapshot, [], optional_seeds=seeds, scope=scope, full_records=True)
    assert full.listed == frozenset()
    label = "batch CELL-2407"
    assert nx_data(build_graph(full, seeds_label=label)) == nx_data(
        build_graph(one_by_one, seeds_label=label)
    )


def nx_data(graph: Any) -> tuple[Any, ...]:
    return (graph.graph, sorted(graph.nodes(data=True)), sorted(graph.edges(data=True)))


def test_the_bulk_walk_up_reads_tops_in_full_and_counts_its_requests() -> None:
    snapshot = bike_factory().snapshot()
    cells = [u["serial_number"] for u in snapshot["batches"]["CELL-2407"]["units"]]
    bulk = over_http(snapshot, [], optional_seeds=cells, scope=Scope.UP)
    one_by_one = over_http(snapshot, [], optional_seeds=cells, scope=Scope.UP, bulk=False)
    # The tops, which the answer shows, are fetched in full.
    assert bulk.listed == set(bulk.units) - {"BIKE-1", "BIKE-2", "BIKE-3"}
    # Four levels in pages and the three bikes; one by one: every unit, then their latest runs.
    assert (bulk.requests, one_by_one.requests) == (4 + 3, 30 + 6 + 3 + 3 + 1)


def test_units_typed_by_the_user_are_read_in_bulk_on_the_way_up() -> None:
    snapshot = bike_factory().snapshot()
    cells = sorted(u["serial_number"] for u in snapshot["batches"]["CELL-2407"]["units"])
    found = over_http(snapshot, cells, scope=Scope.UP)
    assert set(cells) <= found.listed
    # One page of 30 cells; modules, packs, bikes in pages; the bikes in full.
    assert found.requests == 1 + 1 + 1 + 1 + 3


def test_a_unit_listing_ten_children_is_fetched_in_full_and_nothing_is_lost() -> None:
    f = Factory().unit("ROOT", "BOX")
    for i in range(23):
        f.unit(f"C{i:02}", "CAP", parent="ROOT")
    f.unit("LEAF", "RES", parent="C07")
    found = over_http(f.snapshot(), ["LEAF"])
    assert set(found.units) == {"ROOT", "LEAF", *(f"C{i:02}" for i in range(23))}
    assert "ROOT" not in found.listed  # its page showed only 10: fetched in full
    graph = build_graph(found, seeds_label="unit LEAF")
    assert graph.out_degree("ROOT") == 23 and graph.graph["warnings"] == []
    # LEAF; C07; ROOT (and in full); its 23 children (LEAF's parent C07 already read).
    assert found.requests == 1 + 1 + 1 + 1 + 1


def test_trace_up_marks_a_dangling_parent_missing_and_terminates_on_cycles() -> None:
    snapshot = Factory().chain(["A", "B", "C"]).snapshot()
    snapshot["units"]["A"]["parent"] = {"id": "x", "serial_number": "GHOST", "part": None}
    found = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["C"], scope=Scope.UP))
    assert set(found.missing) == {"GHOST"}
    assert found.warnings == ["unit 'GHOST' is referenced by 'A' but does not exist (404)"]
    snapshot["units"]["A"]["parent"] = {"id": "unit-C", "serial_number": "C", "part": None}
    assert set(
        asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["C"], scope=Scope.UP)).units
    ) == {"A", "B", "C"}


def test_trace_up_refuses_an_unknown_suspect_serial_but_not_a_batch_member() -> None:
    source = SnapshotSource(drone_factory().snapshot())
    with pytest.raises(NotFoundError):
        asyncio.run(crawl_genealogy(source, ["NOPE"], scope=Scope.UP))
    found = asyncio.run(
        crawl_genealogy(source, [], optional_seeds=["NOPE", "cap-1"], scope=Scope.UP)
    )
    assert "NOPE" in found.missing and found.seeds == ("NOPE", "CAP-1")


def ref(serial: str) -> dict[str, Any]:
    return {"id": f"unit-{serial}", "serial_number": serial, "part": None}


def test_trace_up_follows_a_parent_named_in_another_case_past_the_children_cap() -> None:
    f = Factory().unit("TOP", "TOP").unit("PCB-1", "PCB", parent="TOP")
    for i in range(12):
        f.unit(f"CAP-{i:02}", "CAP", parent="PCB-1")
    snapshot = f.snapshot()
    snapshot["units"]["CAP-11"]["parent"] = ref("pcb-1")  # older data, other case
    found = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["CAP-11"], scope=Scope.UP))
    graph = build_graph(found, seeds_label="unit CAP-11")
    assert graph.has_edge("PCB-1", "CAP-11") and graph.has_edge("TOP", "PCB-1")
    assert found.depths == {"CAP-11": 0, "PCB-1": 1, "TOP": 2}
    assert graph.graph["warnings"] == []  # PCB-1's list record shows 10 of its 12 children


def test_trace_up_still_reports_a_parent_that_disowns_its_child() -> None:
    snapshot = Factory().chain(["M", "S"]).snapshot()
    snapshot["units"]["M"]["children"] = []
    graph = build_graph(
        asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["S"], scope=Scope.UP)),
        seeds_label="x",
    )
    assert graph.graph["warnings"] == [
        "unit 'S' names 'M' as its parent, but 'M' does not list it as a child"
    ]


def test_trace_up_fetches_in_full_the_top_that_the_impact_report_shows() -> None:
    snapshot = Factory().chain(["A", "B", "S"]).snapshot()
    snapshot["units"]["A"]["parent"] = ref("B")  # A and B are each other's parent
    found = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["S"], scope=Scope.UP))
    graph = build_graph(found, seeds_label="unit S")
    report = analyse_impact(graph, ["S"], "unit S")
    top = report.affected[0].serial
    assert "created_during" in found.units[top] and report.affected[0].attributes["outcome"]


def test_trace_up_names_the_part_of_a_missing_top() -> None:
    snapshot = Factory().chain(["GONE", "B", "S"]).snapshot()
    del snapshot["units"]["GONE"]
    found = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["S"], scope=Scope.UP))
    assert found.missing["GONE"]["part"]["number"] == "PART"


class FailingSource(SnapshotSource):
    """One unit fails at once; every other request hangs until it is cancelled."""

    def __init__(self, snapshot: dict[str, Any], failing: str) -> None:
        super().__init__(snapshot)
        self.failing = failing
        self.started: list[str] = []
        self.cancelled: list[str] = []

    async def get_unit(self, serial: str) -> Record:
        if serial == self.failing:
            await asyncio.sleep(0.01)  # the others are in flight by now
            raise TransportError(f"GET /v2/units/{serial} failed after 6 attempts: HTTP 503")
        if serial not in ("ROOT",):
            self.started.append(serial)
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.append(serial)
                raise
        return await super().get_unit(serial)


def test_one_failed_request_cancels_the_requests_in_flight() -> None:
    f = Factory().unit("ROOT")
    for i in range(10):
        f.unit(f"C{i}", parent="ROOT")
    source = FailingSource(f.snapshot(), failing="C3")

    cancelled_when_it_failed: list[str] = []

    async def crawl() -> None:
        try:
            await asyncio.wait_for(
                crawl_genealogy(source, ["ROOT"], concurrency=4, bulk=False), timeout=5
            )
        finally:
            cancelled_when_it_failed.extend(source.cancelled)

    with pytest.raises(TransportError, match="C3 failed after 6 attempts"):
        asyncio.run(crawl())
    assert len(source.started) == 3  # concurrency 4: C3 and three more were in flight
    # Cancelled and finished by the time the error reaches the caller: none left running.
    assert sorted(cancelled_when_it_failed) == sorted(source.started)


def _crawled_outputs(server: TofuPilotServer, tmp_path: Path, name: str, *extra: str) -> bytes:
    from tests.running import tracegraph as run_tracegraph

    out = tmp_path / f"{name}.json"
    text = tmp_path / f"{name}.txt"
    run = run_tracegraph(
        "unit", "BIKE-1", "BIKE-2", "-q", "-o", str(out), "-o", str(text), *extra, server=server
    )
    assert run.code == 0, run.err
    return out.read_bytes().replace(server.url.encode(), b"URL") + text.read_bytes().replace(
        server.url.encode(), b"URL"
    )


def test_faults_on_a_fifth_of_the_requests_change_no_output(tmp_path: Path) -> None:
    snapshot = bike_factory().snapshot()
    with TofuPilotServer(snapshot, api_key=API_KEY) as server:
        # Pages and, with --full-records, single units: both ways of reading meet faults.
        calm = _crawled_outputs(server, tmp_path, "calm", "--retries", "8", "--full-records")
    with TofuPilotServer(snapshot, api_key=API_KEY) as server:
        server.fail_share(5)  # 429, 503 and a reset in turn, every fifth request
        stormy = _crawled_outputs(server, tmp_path, "stormy", "--retries", "8", "--full-records")
        assert server.faults >= 6
    assert stormy == calm


def test_a_server_without_the_unit_list_is_read_unit_by_unit_and_says_so(
    tmp_path: Path,
) -> None:
    from tests.running import tracegraph as run_tracegraph

    snapshot = bike_factory().snapshot()
    with TofuPilotServer(snapshot, api_key=API_KEY) as server:
        paged = run_tracegraph("unit", "PACK-1", "-f", "json", "-o", "-", "-q", server=server)
    with TofuPilotServer(snapshot, api_key=API_KEY) as server:
        server.fail_next("/api/v2/units", 405, 1)  # the first list request: no such endpoint
        run = run_tracegraph("unit", "PACK-1", "-f", "json", "-o", "-", "-v", server=server)
        singles = [r for r in server.requests if r.startswith("/api/v2/units/")]
        assert len([r for r in server.requests if r.startswith("/api/v2/units?")]) == 1
        assert len(singles) == 1 + 1 + 2 + 10  # PACK-1, BIKE-1, modules, cells: each alone
    assert run.code == 0
    notices = [line for line in run.err.splitlines() if "no unit list" in line]
    assert len(notices) == 1 and "405" in notices[0] and "one at a time" in notices[0]
    # The same units and links; read in full, they carry the creating run instead.
    paged_graph, single_graph = json.loads(paged.out), json.loads(run.out)
    assert sorted(n["id"] for n in paged_graph["nodes"]) == sorted(
        n["id"] for n in single_graph["nodes"]
    )
    assert paged_graph["edges"] == single_graph["edges"]
    assert {n["record"] for n in single_graph["nodes"]} == {"full"}


def test_a_page_that_omits_a_serial_gets_it_fetched_alone(tmp_path: Path) -> None:
    snapshot = bike_factory().snapshot()

    class Forgetful(TofuPilotServer):
        def _list_units(self, raw_query: str) -> dict[str, Any]:
            page = super()._list_units(raw_query)
            page["data"] = [u for u in page["data"] if u["serial_number"] != "MOD-12"]
            return page

    with Forgetful(snapshot, api_key=API_KEY) as server:
        found = asyncio.run(_crawl_api(server.url, ["PACK-1"]))
        assert "/api/v2/units/MOD-12" in server.requests
    assert {"MOD-11", "MOD-12", "CELL-125"} <= set(found.units)
    assert "MOD-12" not in found.listed and "MOD-11" in found.listed


def test_a_page_with_a_unit_nobody_asked_for_sets_it_aside(tmp_path: Path) -> None:
    snapshot = bike_factory().snapshot()
    stranger = {**snapshot["units"]["BIKE-3"]}

    class Chatty(TofuPilotServer):
        def _list_units(self, raw_query: str) -> dict[str, Any]:
            page = super()._list_units(raw_query)
            if "PACK-1" in raw_query:
                page["data"].append({**page["data"][0], "serial_number": "STRANGER"})
            return page

    with Chatty(snapshot, api_key=API_KEY) as server:
        found = asyncio.run(_crawl_api(server.url, ["PACK-1"]))
    assert "STRANGER" not in found.units and stranger
    assert any("'STRANGER', which was not asked for" in w for w in found.warnings)


def test_a_page_listing_more_than_ten_children_is_read_correctly() -> None:
    f = Factory().unit("PANEL", "PANEL")
    for i in range(14):
        f.unit(f"CHIP-{i:02}", "CHIP", parent="PANEL")

    class Generous(TofuPilotServer):  # lists every child, past the documented 10
        def _list_units(self, raw_query: str) -> dict[str, Any]:
            page = super()._list_units(raw_query)
            for unit in page["data"]:
                full = self.snapshot["units"][unit["serial_number"]]
                unit["children"] = [
                    {"id": c["id"], "serial_number": c["serial_number"]} for c in full["children"]
                ]
            return page

    with Generous(f.snapshot(), api_key=API_KEY) as server:
        found = asyncio.run(_crawl_api(server.url, ["PANEL"]))
    graph = build_graph(found, seeds_label="unit PANEL")
    assert graph.out_degree("PANEL") == 14 and graph.graph["warnings"] == []


async def _crawl_api(url: str, seeds: list[str], **options: Any) -> Genealogy:
    async with ApiSource(url, API_KEY) as api:
        return await crawl_genealogy(api, seeds, **options)


def test_a_bulk_crawl_replays_from_its_snapshot_byte_for_byte(tmp_path: Path) -> None:
    from tests.running import tracegraph as run_tracegraph

    saved = tmp_path / "evidence.json"
    outputs = [tmp_path / f"live.{ext}" for ext in ("json", "graphml", "txt", "csv")]
    replayed = [tmp_path / f"replay.{ext}" for ext in ("json", "graphml", "txt", "csv")]
    with TofuPilotServer(bike_factory().snapshot(), api_key=API_KEY) as server:
        live = run_tracegraph(
            "batch", "CELL-2407", "--save-snapshot", str(saved),
            *[a for o in outputs for a in ("-o", str(o))], server=server,
        )  # fmt: skip
        requests = len(server.requests)
    assert live.code == 0 and requests == 1 + 4
    replay = run_tracegraph(
        "batch", "CELL-2407", "--source", str(saved),
        *[a for o in replayed for a in ("-o", str(o))],
    )  # fmt: skip
    assert replay.code == 0 and replay.err == live.err
    for one, other in zip(outputs, replayed, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name
    assert '"last_run_outcome": "PASS"' in outputs[0].read_text()


def test_a_snapshot_recorded_in_pages_answers_another_scope(tmp_path: Path) -> None:
    from tests.running import tracegraph as run_tracegraph

    saved = tmp_path / "tree.json"
    with TofuPilotServer(bike_factory().snapshot(), api_key=API_KEY) as server:
        assert run_tracegraph("unit", "CELL-111", "--save-snapshot", str(saved), "-q",
                              server=server).code == 0  # fmt: skip
    # The tree read BIKE-1 in list form only; the walk up keeps that form for the top.
    run = run_tracegraph("unit", "CELL-111", "--scope", "up", "--source", str(saved), "-f",
                         "json", "-o", "-")  # fmt: skip
    assert run.code == 0, run.err
    nodes = {n["id"]: n for n in json.loads(run.out)["nodes"]}
    assert set(nodes) == {"CELL-111", "MOD-11", "PACK-1", "BIKE-1"}
    assert nodes["BIKE-1"]["record"] == "list" and nodes["BIKE-1"]["last_run_outcome"] == "PASS"


def test_color_by_outcome_after_a_crawl_in_pages_names_the_latest_run(tmp_path: Path) -> None:
    from tests import clients
    from tests.running import tracegraph as run_tracegraph

    clients.graphviz()
    factory = bike_factory()
    factory.specs["CELL-112"].outcome = "FAIL"
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        paged = run_tracegraph("unit", "PACK-1", "--color-by", "outcome", "-f", "svg", "-o", "-",
                               server=server)  # fmt: skip
        text = run_tracegraph("unit", "PACK-1", server=server)
        full = run_tracegraph("unit", "PACK-1", "--color-by", "outcome", "--full-records", "-f",
                              "svg", "-o", "-", server=server)  # fmt: skip
    assert paged.code == 0, paged.err
    assert "fill colour: test outcome (the latest run of each unit)" in paged.out
    assert "FAIL (last run)" in paged.out and "FAIL (last run)" in text.out
    assert "fill colour: test outcome (the run that created each unit)" in full.out
    assert "(last run)" not in full.out
