"""The library: trace, impact and write, sync and async, as a script or a notebook calls them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import tracegraph
from tests.builders import drone_factory
from tests.conftest import API_KEY, ROOT, SAMPLE
from tests.tofupilot_server import TofuPilotServer
from tracegraph import ExportError, ImpactReport, TracegraphError


def test_trace_reads_a_snapshot_path_and_returns_the_genealogy_graph() -> None:
    graph = tracegraph.trace("DRN-X1-0001", source=SAMPLE)
    assert isinstance(graph, nx.DiGraph) and graph.number_of_nodes() == 30
    assert graph.graph["seeds"] == "unit DRN-X1-0001" and graph.nodes["DRN-X1-0001"]["seed"]


def test_trace_reads_the_api_with_the_key_from_the_environment(
    server: TofuPilotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOFUPILOT_API_URL", server.url)
    monkeypatch.setenv("TOFUPILOT_API_KEY", API_KEY)
    graph = tracegraph.trace("CAP-3", scope="up")
    assert set(graph) == {"CAP-3", "PCB-2", "FC-2", "DRN-2"}
    assert graph.graph["source"] == server.url


def test_trace_takes_batches_filters_and_serials_together(drones: dict[str, Any]) -> None:
    source = tracegraph.SnapshotSource(drones)
    graph = tracegraph.trace(
        "PCB-3", batches=["C2"], filters={"part_numbers": ["RES"]}, scope="up", source=source
    )
    seeds = {s for s in graph if graph.nodes[s]["seed"]}
    assert seeds == {"PCB-3", "CAP-4", "CAP-5", "RES-1"}
    assert graph.graph["seeds"] == "batches C2, R1 (matching part-number=RES) and unit PCB-3"


def test_trace_refuses_to_start_from_nothing() -> None:
    with pytest.raises(TracegraphError, match="name a serial number, a batch number"):
        tracegraph.trace(source=SAMPLE)
    with pytest.raises(TracegraphError, match="unknown batch filter 'part'"):
        tracegraph.trace(filters={"part": "X"}, source=SAMPLE)


def test_the_sync_calls_work_inside_a_running_event_loop() -> None:
    # Jupyter runs every cell inside an event loop.
    async def notebook_cell() -> tuple[nx.DiGraph, ImpactReport]:
        graph = tracegraph.trace("FC-1000-0001", source=SAMPLE, scope="down")
        report = tracegraph.impact(["CAP-2407"], source=SAMPLE)
        return graph, report

    graph, report = asyncio.run(notebook_cell())
    assert graph.number_of_nodes() == 12 and len(report.affected) == 5


def test_the_async_twins_give_the_same_answers() -> None:
    async def both() -> tuple[nx.DiGraph, ImpactReport]:
        graph = await tracegraph.trace_async("DRN-X1-0001", source=SAMPLE)
        report = await tracegraph.impact_async(["CAP-2407"], source=SAMPLE)
        return graph, report

    graph, report = asyncio.run(both())
    assert nx.utils.graphs_equal(graph, tracegraph.trace("DRN-X1-0001", source=SAMPLE))
    assert report == tracegraph.impact(["CAP-2407"], source=SAMPLE)


def test_impact_returns_the_report_and_its_marked_graph() -> None:
    report = tracegraph.impact(["CAP-2407"], serials=["CAP-10-0020"], source=SAMPLE)
    assert report.asked == "batch CAP-2407 and unit CAP-10-0020"
    assert [u.serial for u in report.affected][:2] == ["DRN-X1-0001", "DRN-X1-0002"]
    assert report.graph is not None and report.graph.graph["analysis"] == "recall impact"
    assert report.graph.nodes["DRN-X1-0001"]["top_level"]
    with pytest.raises(TracegraphError, match="not down"):
        tracegraph.impact(["CAP-2407"], source=SAMPLE, scope="down")


def test_write_picks_the_format_from_the_extension_and_writes_reports(tmp_path: Path) -> None:
    graph = tracegraph.trace("FC-1000-0001", source=SAMPLE, scope="down")
    tracegraph.write(graph, tmp_path / "g.json")
    assert len(json.loads((tmp_path / "g.json").read_text())["nodes"]) == 12
    tracegraph.write(graph, tmp_path / "g.txt", format="mermaid")
    assert (tmp_path / "g.txt").read_text().startswith("---\ntitle:")
    report = tracegraph.impact(["CAP-2407"], source=SAMPLE)
    tracegraph.write(report, tmp_path / "recall.csv")
    assert (tmp_path / "recall.csv").read_text("utf-8-sig").startswith('"top_serial"')
    tracegraph.write(report, tmp_path / "recall.dot")
    assert "Recall impact of batch CAP-2407" in (tmp_path / "recall.dot").read_text()


def test_write_and_export_refuse_unknown_formats_and_options(tmp_path: Path) -> None:
    graph = tracegraph.trace("FC-1000-0001", source=SAMPLE, scope="down")
    assert tracegraph.export(graph, "mermaid") == tracegraph.export(graph, "mmd")
    assert tracegraph.export(graph, "GV") == tracegraph.export(graph, "dot")
    with pytest.raises(ExportError, match="unknown format 'bmp'"):
        tracegraph.export(graph, "bmp")
    with pytest.raises(ExportError, match="needs a recall impact report"):
        tracegraph.export(graph, "impact-csv")
    with pytest.raises(ExportError, match="unknown export option 'shade'"):
        tracegraph.write(graph, tmp_path / "g.svg", shade="red")
    with pytest.raises(ExportError, match="cannot tell the format"):
        tracegraph.write(graph, tmp_path / "g.docx")
    assert not list(tmp_path.iterdir())


def test_a_report_without_a_graph_writes_reports_but_draws_nothing(tmp_path: Path) -> None:
    report = tracegraph.impact(["CAP-2407"], source=SAMPLE)
    bare = tracegraph.analyse_impact(report.graph, report.suspects, report.asked)
    tracegraph.write(bare, tmp_path / "r.json")
    with pytest.raises(ExportError, match="carries no graph"):
        tracegraph.write(bare, tmp_path / "r.svg")


def test_a_source_passed_in_is_used_and_left_open() -> None:
    recorder = tracegraph.RecordingSource(tracegraph.SnapshotSource(drone_factory().snapshot()))
    tracegraph.trace("CAP-1", scope="up", source=recorder)
    # The way up in bulk, the typed unit too; a snapshot holds each unit in full at
    # no cost, and what the crawl took of it is recorded.
    assert sorted(recorder.unit_list) == ["CAP-1", "DRN-1", "FC-1", "PCB-1"]
    assert sorted(recorder.units) == ["CAP-1", "DRN-1", "FC-1", "PCB-1"]


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, re.M | re.S)


def test_the_readme_python_examples_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "factory.json").write_bytes(SAMPLE.read_bytes())
    rework = SAMPLE.with_name("DRN-X1-0001-rework.json")
    (tmp_path / "samples" / rework.name).write_bytes(rework.read_bytes())
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 5
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    assert "30 units" in printed and "DRN-X1-0001 6 suspects" in printed
    assert "DRN-X1-0001 BAT-220-0001 -> BAT-220-0900" in printed
    assert {p.name for p in tmp_path.iterdir()} >= {"genealogy.svg", "recall.xlsx", "rework.xlsx"}
