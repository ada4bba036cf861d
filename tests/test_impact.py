"""Recall impact, end to end through the loopback API, on a factory whose truth is known.

The factory is built so that the answer can be written down without running
tracegraph: for every product we know which suspect capacitors went in, and
through which boards.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.builders import Factory
from tests.conftest import API_KEY, assert_sdk_accepts, needs_graphviz
from tests.running import one_error_line, tracegraph
from tests.tofupilot_server import TofuPilotServer
from tracegraph.crawl import Scope, crawl_genealogy
from tracegraph.escape import csv_cell as cell
from tracegraph.export.csv import to_csv
from tracegraph.export.impact import impact_csv
from tracegraph.graph import build_graph
from tracegraph.impact import analyse_impact
from tracegraph.sources.snapshot import SnapshotSource

PRODUCTS = 6


def recall_factory() -> tuple[Factory, dict[str, list[tuple[str, ...]]], list[str], list[str]]:
    """Products PROD-i > BOARD-i > caps; suspect batches S1 (spread) and S2 (overlapping).

    Returns the factory, the expected paths per affected product for S1+S2,
    and the loose suspect serials of S1 and of S2.
    """
    f = Factory()
    expected: dict[str, list[tuple[str, ...]]] = {}
    cap = 0

    def capacitor(parent: str | None, batch: str) -> str:
        nonlocal cap
        cap += 1
        serial = f"CAP-{cap:03}"
        f.unit(serial, "CAP", parent=parent, batch=batch, name="Capacitor")
        return serial

    for i in range(1, PRODUCTS + 1):
        product, board = f"PROD-{i}", f"BOARD-{i}"
        revision = "A" if i <= 3 else "B"
        f.unit(product, "PROD", batch="PB", revision=revision, name="Product")
        f.unit(board, "BOARD", parent=product, batch="BB", name="Board")
        capacitor(board, "GOOD")  # every product has an unsuspected capacitor
        # S1 goes into products 1, 2, 3 (two in product 1), S2 into 3 and 4.
        suspects = {1: ["S1", "S1"], 2: ["S1"], 3: ["S1", "S2"], 4: ["S2"]}.get(i, [])
        for batch in suspects:
            serial = capacitor(board, batch)
            expected.setdefault(product, []).append((product, board, serial))
    # A sub-assembly path: PROD-5 > MODULE-5 > SUB-5 > an S1 capacitor.
    f.unit("MODULE-5", "MODULE", parent="PROD-5", name="Module")
    f.unit("SUB-5", "SUB", parent="MODULE-5", name="Sub-board")
    deep = capacitor("SUB-5", "S1")
    expected["PROD-5"] = [("PROD-5", "MODULE-5", "SUB-5", deep)]
    loose_s1 = [capacitor(None, "S1"), capacitor(None, "S1")]
    loose_s2 = [capacitor(None, "S2")]
    return f, expected, loose_s1, loose_s2


@pytest.fixture
def recall_server() -> Iterator[TofuPilotServer]:
    factory, *_ = recall_factory()
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY, page_size=1) as server:
        yield server
    assert_sdk_accepts(server.served)


def test_two_suspect_batches_give_one_combined_exact_result(
    recall_server: TofuPilotServer, tmp_path: Path
) -> None:
    _, expected, loose_s1, loose_s2 = recall_factory()
    output = tmp_path / "impact.json"
    run = tracegraph("impact", "S1", "S2", "-o", str(output), server=recall_server)
    assert run.code == 0, run.err
    data = json.loads(output.read_text())
    affected = {a["top_serial"]: a for a in data["affected"]}
    assert set(affected) == set(expected)
    for top, paths in expected.items():
        assert affected[top]["paths"] == [list(p) for p in sorted(paths, key=lambda p: p[-1])]
        assert affected[top]["suspects"] == sorted(p[-1] for p in paths)
        assert affected[top]["suspect_count"] == len(paths)
    assert affected["PROD-3"]["suspect_count"] == 2  # one from each batch, counted once
    assert data["loose"] == sorted(loose_s1 + loose_s2)
    summary = data["summary"]
    assert summary["suspect_count"] == sum(len(p) for p in expected.values()) + 3
    assert summary["affected_count"] == 5 and summary["loose_count"] == 3
    assert [(p["part_number"], p["revision"], p["affected_units"]) for p in summary["by_part"]] == [
        ("PROD", "A", 3),
        ("PROD", "B", 2),
    ]


def test_the_walk_up_looks_units_up_in_bulk_each_once() -> None:
    factory, expected, loose_s1, loose_s2 = recall_factory()
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        run = tracegraph("impact", "S1", "S2", "-q", server=server)
        assert_sdk_accepts(server.served)
        first_url = server.url
    assert run.code == 0
    bulk = [parse_qs(urlsplit(r).query) for r in server.requests if r.startswith("/api/v2/units?")]
    asked = [serial for query in bulk for serial in query["serial_numbers"]]
    on_paths = {serial for paths in expected.values() for path in paths for serial in path}
    assert sorted(asked) == sorted(on_paths | set(loose_s1) | set(loose_s2))  # each once
    assert len(bulk) == 4  # one request a level: suspects, boards, products, PROD-5 on top
    single = [r.removeprefix("/api/v2/units/") for r in server.requests if "/units/" in r]
    assert sorted(single) == sorted(expected)  # only the affected top-level units, in full
    assert len(asked) == 21 and len(bulk) + len(single) == 9
    # lineage: up in bulk as before, then down from the suspects in bulk too (they
    # are known already: one page for their children, who are none here).
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        lineage = tracegraph("impact", "S1", "S2", "-q", "--scope", "lineage", server=server)
        assert lineage.out.replace(server.url, "") == run.out.replace(first_url, "")
    single = [r.removeprefix("/api/v2/units/") for r in server.requests if "/units/" in r]
    assert sorted(single) == sorted(expected)
    assert len([r for r in server.requests if r.startswith("/api/v2/units?")]) == 4


def test_bulk_lookups_never_ask_for_more_than_100_serials() -> None:
    factory = Factory()
    for i in range(250):
        factory.unit(f"R-{i:03}", "RES", batch="BIG")
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        run = tracegraph("impact", "BIG", "-q", "-o", "-", "-f", "impact-json", server=server)
    assert run.code == 0 and len(json.loads(run.out)["loose"]) == 250
    sizes = [
        len(parse_qs(urlsplit(r).query)["serial_numbers"])
        for r in server.requests
        if r.startswith("/api/v2/units?")
    ]
    assert sorted(sizes) == [50, 100, 100]  # the pages in flight at once


def test_a_parent_with_more_than_ten_children_gives_no_false_warning() -> None:
    factory = Factory().unit("PANEL", "PANEL")
    for i in range(15):
        factory.unit(f"CHIP-{i:02}", "CHIP", parent="PANEL", batch="CHIPS")
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        run = tracegraph("impact", "CHIPS", "--strict", server=server)
    assert run.code == 0, run.err
    assert "Top-level units affected:  1 (holding 15 suspect units)" in run.out


def test_impact_csv_is_exactly_one_row_per_affected_top_level_unit(
    recall_server: TofuPilotServer, tmp_path: Path
) -> None:
    output = tmp_path / "impact.csv"
    assert tracegraph("impact", "S2", "-o", str(output), server=recall_server).code == 0
    raw = output.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig") == (
        '"top_serial","top_part_number","top_revision","top_part_name","top_batch",'
        '"top_created_at","top_outcome","top_status","suspect_count","suspects","paths"\r\n'
        '"PROD-3","PROD","A","Product","PB","2024-07-01T08:00:00Z","PASS","ok","1",'
        '"CAP-008","PROD-3>BOARD-3>CAP-008"\r\n'
        '"PROD-4","PROD","B","Product","PB","2024-07-01T08:00:00Z","PASS","ok","1",'
        '"CAP-010","PROD-4>BOARD-4>CAP-010"\r\n'
    )


def test_summary_tells_the_recall_coordinator_what_to_do(recall_server: TofuPilotServer) -> None:
    run = tracegraph("impact", "S1", "--serial", "CAP-009", server=recall_server)
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0] == "Recall impact of batch S1 and unit CAP-009"
    assert lines[3:] == [
        "Suspect units found:       8",
        "Top-level units affected:  5 (holding 6 suspect units)",
        "Loose suspect units:       2 (built into nothing: quarantine them)",
        "",
        "Affected top-level units by part:",
        "  PROD rev A  Product: 3 units, 4 suspects inside",
        "  PROD rev B  Product: 2 units, 2 suspects inside",
        "",
        "Affected top-level units:",
        "  PROD-1  (2 suspects: CAP-002, CAP-003)",
        "  PROD-2  (1 suspect: CAP-005)",
        "  PROD-3  (1 suspect: CAP-007)",
        "  PROD-4  (1 suspect: CAP-009)",
        "  PROD-5  (1 suspect: CAP-013)",
        "",
        "Loose suspect units (quarantine):",
        "  CAP-014",
        "  CAP-015",
    ]


def test_batches_selected_by_filters_are_traced_as_suspects(
    recall_server: TofuPilotServer, tmp_path: Path
) -> None:
    output = tmp_path / "i.json"
    run = tracegraph("impact", "--search", "s", "-o", str(output), server=recall_server)
    assert run.code == 0, run.err
    data = json.loads(output.read_text())
    assert data["summary"]["asked"] == "batches S1, S2 (matching search=s)"
    assert data["summary"]["affected_count"] == 5


def test_fail_if_affected_exits_3_only_when_a_suspect_is_built_in(
    recall_server: TofuPilotServer,
) -> None:
    assert tracegraph("impact", "S1", "--fail-if-affected", server=recall_server).code == 3
    loose_only = tracegraph(
        "impact", "--serial", "CAP-014", "--fail-if-affected", server=recall_server
    )
    assert loose_only.code == 0 and "Top-level units affected:  0" in loose_only.out


def test_a_suspect_finished_product_is_an_affected_top_level_unit_not_loose(
    recall_server: TofuPilotServer,
) -> None:
    run = tracegraph(
        "impact", "PB", "--fail-if-affected", "-f", "impact-json", "-o", "-", server=recall_server
    )
    assert run.code == 3
    data = json.loads(run.out)
    assert [a["top_serial"] for a in data["affected"]] == [f"PROD-{i}" for i in range(1, 7)]
    assert data["affected"][0]["paths"] == [["PROD-1"]] and data["loose"] == []


def test_unknown_suspect_batch_is_an_error(recall_server: TofuPilotServer) -> None:
    line = one_error_line(tracegraph("impact", "NO-SUCH", server=recall_server))
    assert line == f"Error: batch 'NO-SUCH' not found in {recall_server.url}"


@needs_graphviz
def test_impact_picture_shows_suspects_paths_and_top_level_units_only(
    recall_server: TofuPilotServer, tmp_path: Path
) -> None:
    dot = tmp_path / "impact.dot"
    run = tracegraph(
        "impact", "S2", "-o", str(dot), "-o", str(tmp_path / "i.svg"), server=recall_server
    )
    assert run.code == 0
    text = dot.read_text()
    for serial in ("PROD-3", "BOARD-3", "CAP-008", "PROD-4", "BOARD-4", "CAP-010", "CAP-016"):
        assert f'"{serial}" [' in text
    assert '"CAP-006" [' not in text and '"CAP-007" [' not in text  # the rest of the tree: hidden
    assert "Recall impact of batch S2" in text
    assert text.count("peripheries=2") == 2 and text.count("<B>SUSPECT</B>") == 3
    tree = tracegraph(
        "impact", "S2", "--scope", "tree", "-f", "dot", "-o", "-", server=recall_server
    )
    assert '"CAP-006" [' in tree.out and '"CAP-007" [' in tree.out


def test_per_unit_csv_has_every_attribute_parent_and_root() -> None:
    factory, *_ = recall_factory()
    source = SnapshotSource(factory.snapshot())
    genealogy = asyncio.run(crawl_genealogy(source, ["SUB-5"], scope=Scope.LINEAGE))
    text = to_csv(build_graph(genealogy, seeds_label="unit SUB-5"))
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(r["serial_number"], r["parent"], r["root"], r["depth"]) for r in rows] == [
        ("CAP-013", "SUB-5", "PROD-5", "1"),
        ("MODULE-5", "PROD-5", "PROD-5", "1"),
        ("PROD-5", "", "PROD-5", "2"),
        ("SUB-5", "MODULE-5", "PROD-5", "0"),
    ]
    assert rows[3]["seed"] == "true" and rows[0]["batch"] == "S1"
    assert rows[0]["created_at"] == "2024-07-01T08:00:00Z"


def test_csv_cells_cannot_run_as_spreadsheet_formulas() -> None:
    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert cell("+1") == "'+1" and cell("@SUM") == "'@SUM"
    assert cell("SN-1") == "SN-1" and cell(True) == "true"


def test_impact_of_a_unit_on_a_cycle_terminates_with_a_warning() -> None:
    f = Factory().chain(["A", "B", "C"])
    snapshot = f.snapshot()
    snapshot["units"]["A"]["parent"] = {"id": "unit-C", "serial_number": "C", "part": None}
    snapshot["units"]["C"]["children"] = [{"id": "unit-A", "serial_number": "A", "part": None}]
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["C"], scope=Scope.UP))
    report = analyse_impact(build_graph(genealogy, seeds_label="unit C"), ["C"], "unit C")
    assert report.warnings and "cycle" in report.warnings[0]
    assert len(report.affected) + len(report.loose) == 1
    assert impact_csv(report).count("\r\n") == 1 + len(report.affected)


def test_snapshot_rerenders_the_same_impact_report(
    recall_server: TofuPilotServer, tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence.json"
    live, offline = tmp_path / "live.csv", tmp_path / "offline.csv"
    args = ["impact", "S1", "S2", "-q"]
    assert (
        tracegraph(
            *args, "--save-snapshot", str(evidence), "-o", str(live), server=recall_server
        ).code
        == 0
    )
    assert tracegraph(*args, "--source", str(evidence), "-o", str(offline)).code == 0
    assert live.read_bytes() == offline.read_bytes()


def test_sample_recall_case_matches_the_factory(sample: dict[str, Any]) -> None:
    suspects = [
        s for s, u in sample["units"].items() if (u.get("batch") or {}).get("number") == "CAP-2407"
    ]
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(sample), suspects, scope=Scope.UP))
    report = analyse_impact(build_graph(genealogy, seeds_label="batch CAP-2407"), suspects, "x")
    assert len(report.affected) >= 3 and report.loose


def test_a_suspect_typed_in_another_case_is_still_traced(recall_server: TofuPilotServer) -> None:
    run = tracegraph("impact", "--serial", "cap-002", "--fail-if-affected", server=recall_server)
    assert run.code == 3
    assert "  PROD-1  (1 suspect: CAP-002)" in run.out.splitlines()


def test_impact_csv_lists_split_back_into_the_exact_serials() -> None:
    from tracegraph.escape import csv_value, split_items, split_paths

    f = Factory().unit("PROD;1", "PROD").unit("BOARD>1", "BOARD", parent="PROD;1")
    suspects = ["CAP\\1", "CAP;2", "CAP>3;x\\;", "@cap;1", "'quote"]
    for serial in suspects:
        f.unit(serial, "CAP", parent="BOARD>1", batch="S")
    f.unit("-1", "PROD").unit("=C;4", "CAP", parent="-1", batch="S")
    every = [*suspects, "=C;4"]
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(f.snapshot()), every))
    graph = build_graph(genealogy, seeds_label="batch S")
    text = impact_csv(analyse_impact(graph, every, "batch S"))
    raw = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    rows = [{k: csv_value(v) for k, v in row.items()} for row in raw]  # the ' guard off
    assert raw[0]["top_serial"] == "'-1" and raw[0]["suspects"] == "'=C\\;4"  # no formula
    assert [r["top_serial"] for r in rows] == ["-1", "PROD;1"]
    assert split_items(rows[0]["suspects"]) == ["=C;4"]
    assert split_paths(rows[0]["paths"]) == [["-1", "=C;4"]]
    assert split_items(rows[1]["suspects"]) == sorted(suspects)
    assert int(rows[1]["suspect_count"]) == len(split_items(rows[1]["suspects"])) == 5
    assert split_paths(rows[1]["paths"]) == [["PROD;1", "BOARD>1", s] for s in sorted(suspects)]
