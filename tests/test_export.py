from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from tests.builders import HOSTILE_SERIALS, Factory, drone_factory
from tests.conftest import EXPECTED, hostile_graph, needs_graphviz
from tracegraph.crawl import Genealogy, crawl_genealogy
from tracegraph.errors import ExportError
from tracegraph.escape import dot_id, graphml_id, serial_from_graphml_id, split_items
from tracegraph.export import export, format_for
from tracegraph.export.dot import to_dot
from tracegraph.export.graphml import to_graphml
from tracegraph.export.json import to_json
from tracegraph.export.mermaid import to_mermaid
from tracegraph.export.options import ExportOptions
from tracegraph.export.text import to_text
from tracegraph.graph import build_graph
from tracegraph.picture.drawing import to_drawing
from tracegraph.picture.graphviz import GraphvizRuns
from tracegraph.sources.snapshot import SnapshotSource

HOSTILE = HOSTILE_SERIALS
SVG_NS = "{http://www.w3.org/2000/svg}"


def graphviz_node_names(dot_text: str) -> list[str]:
    result = subprocess.run(
        ["dot", "-Tjson0"], input=dot_text.encode(), capture_output=True, check=True
    )
    # Graphviz writes control characters into its JSON as they are.
    return [o["name"] for o in json.loads(result.stdout, strict=False)["objects"]]


# Each expected file was written by hand and is read by its real client in
# test_clients.py (Graphviz and pydot, networkx, the GraphML schema, the Mermaid CLI).


def test_dot_is_exactly_the_expected_text(small_graph: nx.DiGraph) -> None:
    assert to_dot(small_graph) == (EXPECTED / "small.dot").read_text()


def test_text_tree_is_exactly_the_expected_text(small_graph: nx.DiGraph) -> None:
    assert to_text(small_graph) == (EXPECTED / "small.txt").read_text()


def test_json_is_exactly_the_expected_text(small_graph: nx.DiGraph) -> None:
    assert to_json(small_graph) == (EXPECTED / "small.json").read_bytes()


def test_graphml_is_exactly_the_expected_text(small_graph: nx.DiGraph) -> None:
    assert to_graphml(small_graph) == (EXPECTED / "small.graphml").read_text()


def test_mermaid_is_exactly_the_expected_text(small_graph: nx.DiGraph) -> None:
    assert to_mermaid(small_graph) == (EXPECTED / "small.mmd").read_text()


def test_mermaid_labels_escape_markup_and_quotes() -> None:
    text = to_mermaid(hostile_graph())
    assert '"<b>say #34;hi#34;</b>' in text and "<b>x#60;y</b>" in text
    node_lines = [line for line in text.splitlines() if '["<b>' in line]
    assert len(node_lines) == len(HOSTILE)  # a line break in a serial never splits a line
    assert '"<b>line break</b>' in text


def test_json_is_the_standard_librarys_indented_json_byte_for_byte() -> None:
    from tracegraph.export.json import to_node_link

    graph = hostile_graph()
    expected = json.dumps(to_node_link(graph), indent=2, ensure_ascii=False) + "\n"
    assert to_json(graph) == expected.encode("utf-8")


def test_json_reads_back_into_networkx_with_every_attribute(small_graph: nx.DiGraph) -> None:
    data = json.loads(to_json(small_graph))
    back = nx.node_link_graph(data, edges="edges")
    assert set(back.edges) == set(small_graph.edges)
    assert dict(back.nodes["FC-1"]) == dict(small_graph.nodes["FC-1"])
    assert data["warnings"] == small_graph.graph["warnings"]


def test_graphml_reads_back_with_types(small_graph: nx.DiGraph) -> None:
    back = nx.parse_graphml(to_graphml(small_graph))
    assert back.nodes["FC-1"]["seed"] is True
    assert back.nodes["CAP-1"]["depth"] == 1
    assert back.nodes["CAP-9"]["status"] == "missing"
    assert back.nodes["FC-1"]["label"] == back.nodes["FC-1"]["name"] == "FC-1"


@needs_graphviz
def test_graphviz_reads_back_every_hostile_serial_from_the_dot() -> None:
    graph = hostile_graph()
    assert sorted(graphviz_node_names(to_dot(graph))) == sorted(HOSTILE)


@needs_graphviz
@pytest.mark.parametrize("serial", HOSTILE)
def test_dot_id_round_trips_through_graphviz(serial: str) -> None:
    assert graphviz_node_names(f"digraph {{ {dot_id(serial)}; }}") == [serial]


# Characters Graphviz's lexer treats specially, and some it does not.
NASTY = [*'<>\\"\n\r\t {}[];=,:&#\'-/*+', "\\n", "\\N", "&amp;", "\x01", "\x7f", "\x85",
         "\u2028", "\u202e", "\ufffd", "é", "漢", "a", "B", "0"]  # fmt: skip


@needs_graphviz
def test_fuzz_every_dot_graphviz_reads_holds_each_serial_exactly() -> None:
    rng = random.Random(2407)
    drawn = ("".join(rng.choices(NASTY, k=rng.randint(1, 7))) for _ in range(3000))
    serials = sorted({s.casefold(): s for s in drawn}.values())  # the API ignores case
    writable, unwritable = [], []
    for serial in serials:
        try:
            dot_id(serial)
        except ExportError:
            unwritable.append(serial)
        else:
            writable.append(serial)
    assert len(writable) > 2000 and unwritable  # the fuzz reaches both kinds
    factory = Factory()
    for i, serial in enumerate(writable):  # trees of 60: Graphviz lays them out in a second
        factory.unit(serial, parent=None if i % 60 == 0 else writable[i - i % 60])
    source = SnapshotSource(factory.snapshot())
    graph = build_graph(asyncio.run(crawl_genealogy(source, writable[::60])), seeds_label="fuzz")
    assert len(graph) == len(writable)
    assert sorted(graphviz_node_names(to_dot(graph))) == writable  # exactly, every one
    for serial in unwritable[:20]:  # and a serial no DOT ID holds fails the export by name
        source = SnapshotSource(Factory().unit(serial).snapshot())
        one = build_graph(asyncio.run(crawl_genealogy(source, [serial])), seeds_label="one")
        with pytest.raises(ExportError, match=re.escape(repr(serial))):
            to_dot(one)


@needs_graphviz
def test_svg_of_hostile_serials_is_valid_xml_and_shows_each_serial() -> None:
    svg = export(hostile_graph(), "svg")
    root = ET.fromstring(svg)
    texts = {
        " ".join((t.text or "").split()) for t in root.iter("{http://www.w3.org/2000/svg}text")
    }
    for serial in HOSTILE:
        assert " ".join(serial.split()) in texts  # line breaks and tabs shown as spaces


def test_graphml_and_json_keep_hostile_serials_exactly() -> None:
    graph = hostile_graph()
    back = nx.parse_graphml(to_graphml(graph))
    assert sorted(str(a["serial_number"]) for _, a in back.nodes(data=True)) == sorted(HOSTILE)
    assert all(a["label"] == a["name"] == a["serial_number"] for _, a in back.nodes(data=True))
    assert {serial_from_graphml_id(node) for node in back} == set(HOSTILE)
    assert {n["id"] for n in json.loads(to_json(graph))["nodes"]} == set(HOSTILE)


def test_graphml_ids_are_serials_where_they_can_be_and_reversible_stand_ins_elsewhere() -> None:
    documented = ["SN-0042", "CAP_10-0001", "a", "0", "B.7:n"]
    assert [graphml_id(s) for s in documented] == documented
    assert graphml_id("SN 01") == "x:SN_2001"
    assert graphml_id("émoji-🔋") == "x:_c3_a9moji-_f0_9f_94_8b"
    assert graphml_id("x:SN_2001") == "x:x_3aSN_5f2001"  # never taken for a stand-in
    rng = random.Random(7)
    alphabet = 'aZ09._-: x/\\"<>&;é🔋\x01\x7f_'
    serials = {"".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(3000)}
    ids = {graphml_id(s) for s in serials}
    assert len(ids) == len(serials)  # distinct units never share an id
    assert all(serial_from_graphml_id(graphml_id(s)) == s for s in serials)


def test_text_tree_shows_control_characters_as_escapes() -> None:
    text = to_text(hostile_graph())
    assert "line\\nbreak" in text and "tab\\there" in text


@needs_graphviz
def test_drawing_dot_numbers_the_nodes_but_keeps_the_picture() -> None:
    graph = hostile_graph()
    options = ExportOptions(collapse="none", layout="dot")
    drawing = to_drawing(GraphvizRuns(graph, options), graph, options)
    done = subprocess.run(
        ["dot", "-Tjson0"], input=drawing.dot.encode(), capture_output=True, check=True
    )
    read = json.loads(done.stdout)
    names = [o["name"] for o in read["objects"]]
    assert all(name.startswith("u") and name[1:].isdigit() for name in names)
    assert sorted(drawing.titles[name] for name in names) == sorted(graph)
    links = {
        (drawing.titles[names[e["tail"]]], drawing.titles[names[e["head"]]]) for e in read["edges"]
    }
    assert links == set(graph.edges)


def shuffled_genealogy(seed: int) -> Genealogy:
    """The same genealogy, with every dict and list in a different order."""
    snapshot = drone_factory().snapshot()
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["PCB-1", "CAP-5"]))
    rng = random.Random(seed)

    def shuffle(mapping: dict[str, Any]) -> dict[str, Any]:
        items = list(mapping.items())
        rng.shuffle(items)
        return dict(items)

    for unit in genealogy.units.values():
        rng.shuffle(unit["children"])
    genealogy.units = shuffle(genealogy.units)
    genealogy.depths = shuffle(genealogy.depths)
    rng.shuffle(genealogy.warnings)
    return genealogy


@pytest.mark.parametrize("fmt", ["dot", "json", "graphml", "txt", "csv", "mmd"])
def test_output_does_not_depend_on_input_order(fmt: str) -> None:
    outputs = {
        export(build_graph(shuffled_genealogy(seed), seeds_label="units"), fmt) for seed in range(5)
    }
    assert len(outputs) == 1


@needs_graphviz
def test_svg_is_byte_identical_for_the_same_data() -> None:
    first = export(build_graph(shuffled_genealogy(1), seeds_label="units"), "svg")
    second = export(build_graph(shuffled_genealogy(2), seeds_label="units"), "svg")
    assert first == second


@needs_graphviz
@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_png_and_pdf_come_from_graphviz(small_graph: nx.DiGraph, fmt: str, magic: bytes) -> None:
    assert export(small_graph, fmt).startswith(magic)


def test_format_comes_from_the_extension_or_the_override() -> None:
    assert format_for("a/b.GV") == "dot"
    assert format_for("out.graphml") == "graphml"
    assert format_for("-") == "txt"
    assert format_for("-", "json") == "json"
    assert format_for("x.txt", "svg") == "svg"
    with pytest.raises(ExportError, match="extension"):
        format_for("genealogy.docx")
    with pytest.raises(ExportError, match="unknown format"):
        format_for("-", "bmp")


def test_missing_graphviz_says_how_to_install_it(
    small_graph: nx.DiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ExportError, match="apt-get install graphviz"):
        export(small_graph, "svg")
    assert export(small_graph, "dot").startswith(b"digraph")


def inconsistent_graph() -> nx.DiGraph:
    """R > A > B > A (a cycle below a normal top unit), and C claimed by two parents."""
    factory = Factory().chain(["R", "A", "B"]).unit("C", parent="A").unit("P2")
    snapshot = factory.snapshot()
    units = snapshot["units"]
    units["B"]["children"] = [factory.reference("A")]
    units["P2"]["children"] = [factory.reference("C")]
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), ["R", "P2"]))
    return build_graph(genealogy, seeds_label="units R, P2")


def test_cycles_and_two_parents_still_export_every_unit_and_link() -> None:
    graph = inconsistent_graph()
    assert len(graph.graph["warnings"]) == 5
    links = {("R", "A"), ("A", "B"), ("B", "A"), ("A", "C"), ("P2", "C")}
    assert set(graph.edges) == links
    data = json.loads(export(graph, "json"))
    assert {(e["source"], e["target"]) for e in data["edges"]} == links
    assert len(data["warnings"]) == 5
    assert set(nx.parse_graphml(export(graph, "graphml").decode()).edges) == links
    dot = export(graph, "dot").decode()
    assert {
        tuple(re.findall(r'"(\w+)"', line)) for line in dot.splitlines() if "->" in line
    } == links
    rows = list(csv.DictReader(io.StringIO(export(graph, "csv").decode("utf-8-sig"))))
    assert {r["serial_number"]: split_items(r["parent"]) for r in rows}["C"] == ["A", "P2"]
    mermaid = export(graph, "mmd").decode()
    assert mermaid.count(" --> ") == len(links) and mermaid.count('["<b>') == 5
    text = export(graph, "txt").decode()
    assert all(f"{serial}  " in text for serial in ("R", "A", "B", "C", "P2"))
    assert "5 warning(s):" in text


@needs_graphviz
def test_cycles_and_two_parents_still_draw() -> None:
    ET.fromstring(export(inconsistent_graph(), "svg"))


def test_a_part_keeps_its_colour_from_picture_to_picture() -> None:
    from tracegraph.picture.style import part_colours

    snapshot = drone_factory().snapshot()

    def colours(seeds: list[str]) -> dict[str, str]:
        genealogy = asyncio.run(crawl_genealogy(SnapshotSource(snapshot), seeds))
        return part_colours(build_graph(genealogy, seeds_label="x"))

    alone, large = colours(["CAP-6"]), colours(["DRN-1", "DRN-2", "PCB-3", "CAP-6"])
    assert alone["CAP"] == large["CAP"]  # its home colour, unless an earlier part took it
    assert len(set(large.values())) == len(large)  # distinct parts, distinct colours


@pytest.mark.parametrize("serial", ["C:\\dir>\\", "a>\\", "<\\", 'x\\"<'])
def test_a_serial_no_dot_id_can_hold_fails_the_dot_clearly(serial: str) -> None:
    factory = Factory().unit("ROOT").unit(serial, parent="ROOT")
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(factory.snapshot()), ["ROOT"]))
    graph = build_graph(genealogy, seeds_label="unit ROOT")
    with pytest.raises(ExportError, match="cannot be written as a Graphviz DOT node ID"):
        to_dot(graph)
    back = nx.parse_graphml(to_graphml(graph))  # the data formats hold it
    assert serial in {a["serial_number"] for _, a in back.nodes(data=True)}


@needs_graphviz
def test_pictures_show_long_and_bracketed_text_clipped_but_drawn() -> None:
    factory = Factory().unit("ROOT", name="x" * 20_000).unit("]", parent="ROOT", name="]")
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(factory.snapshot()), ["ROOT"]))
    svg = export(build_graph(genealogy, seeds_label="unit ROOT"), "svg").decode()
    texts = [" ".join((t.text or "").split()) for t in ET.fromstring(svg).iter(f"{SVG_NS}text")]
    assert "x" * 199 + "…" in texts and "]" in texts


@needs_graphviz
def test_pdf_is_the_same_bytes_for_the_same_data(small_graph: nx.DiGraph) -> None:
    first = export(small_graph, "pdf")
    assert first == export(small_graph, "pdf")  # cairo writes the time: set to generated_at
    assert b"/CreationDate (D:20261118110640" in first


def test_a_text_too_long_for_a_spreadsheet_cell_is_an_error_not_a_cut() -> None:
    factory = Factory().unit("ROOT", name="y" * 40_000)
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(factory.snapshot()), ["ROOT"]))
    with pytest.raises(ExportError, match="40000 characters does not fit a spreadsheet cell"):
        export(build_graph(genealogy, seeds_label="unit ROOT"), "xlsx")


def fake_dot(folder: Path, script: str) -> None:
    """A `dot` on PATH that behaves badly."""
    dot = folder / "dot"
    dot.write_text("#!/bin/sh\n" + script + "\n")
    dot.chmod(0o755)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'Error: syntax error in line 3' >&2; exit 1", "syntax error in line 3"),
        ("exit 2", "'dot' exited with status 2"),
        ("cat >/dev/null; exit 0", "'dot' wrote nothing"),
        ("kill -SEGV $$", r"'dot' crashed \(SIGSEGV\)"),
    ],
)
def test_a_failing_graphviz_is_one_clear_error(
    small_graph: nx.DiGraph,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    script: str,
    message: str,
) -> None:
    fake_dot(tmp_path, script)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(ExportError, match=f"Graphviz could not measure the labels: {message}"):
        export(small_graph, "svg")  # measuring label sizes is its first run
    with pytest.raises(ExportError, match=f"Graphviz could not draw the SVG: {message}"):
        export(small_graph, "svg", collapse="none", layout="dot")


def test_a_graphviz_that_takes_too_long_is_stopped(
    small_graph: nx.DiGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dot(tmp_path, "exec sleep 30")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(
        ExportError, match=r"longer than 0\.5 s .*--layout tree.*raise --layout-timeout"
    ):
        export(small_graph, "svg", layout_timeout=0.5)
    assert time.monotonic() - started < 10


def test_many_leaves_under_one_parent_are_staggered_over_a_few_ranks() -> None:
    from tracegraph.picture.layout import STAGGER_MAX_RANKS, stagger

    f = Factory().unit("BOARD")
    for i in range(30):
        f.unit(f"CAP-{i:02}", parent="BOARD")
    f.unit("SUB", parent="BOARD").unit("LEAF", parent="SUB")
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(f.snapshot()), ["BOARD"]))
    graph = build_graph(genealogy, seeds_label="unit BOARD")
    lengths = stagger(graph)
    ranks = Counter(lengths.get(("BOARD", f"CAP-{i:02}"), 1) for i in range(30))
    assert sorted(ranks) == list(range(1, STAGGER_MAX_RANKS + 1))  # spread over 4 ranks
    assert max(ranks.values()) - min(ranks.values()) <= 1  # evenly
    assert ("BOARD", "SUB") not in lengths and ("SUB", "LEAF") not in lengths  # a lone leaf stays


@needs_graphviz
def test_staggered_leaves_come_out_on_several_rows_of_the_picture() -> None:
    f = Factory().unit("BOARD")
    for i in range(30):
        f.unit(f"CAP-{i:02}", parent="BOARD")
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(f.snapshot()), ["BOARD"]))
    svg = ET.fromstring(export(build_graph(genealogy, seeds_label="unit BOARD"), "svg"))
    rows = set()
    for group in svg.iter(f"{SVG_NS}g"):
        title = group.find(f"{SVG_NS}title")
        if group.get("class") == "node" and title is not None and title.text != "BOARD":
            rows.add(group.find(f".//{SVG_NS}text").get("y"))
    assert len(rows) == 4


def test_the_escapes_scripts_were_told_of_still_import_from_their_old_home() -> None:
    import tracegraph.escape as escape
    from tracegraph.export.escape import csv_value, dot_id, serial_from_graphml_id, split_items

    assert (csv_value, dot_id, serial_from_graphml_id, split_items) == (
        escape.csv_value,
        escape.dot_id,
        escape.serial_from_graphml_id,
        escape.split_items,
    )
    assert csv_value("'=1") == "=1"
