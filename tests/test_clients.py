"""Every export opened with the program its users open it with (see tests/clients.py).

The files come from the real command, on the samples and on a genealogy of
hostile serial numbers; each client must read them, and read them exactly.
Mermaid has a file of its own, test_mermaid.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

import tracegraph
from tests import clients
from tests.builders import Factory
from tests.conftest import EXPECTED, SAMPLE, build_small_graph
from tests.hostile import HOSTILE_UNITS, hostile_graph, hostile_snapshot
from tracegraph.cli import main
from tracegraph.escape import serial_from_graphml_id, xml_chars
from tracegraph.export.pydot_graph import to_pydot
from tracegraph.picture import style
from tracegraph.sources.snapshot import dump_snapshot

SVG = "{http://www.w3.org/2000/svg}"
EPOCH = "1795165200"


def cli(*args: str) -> None:
    result = CliRunner().invoke(main, list(args), env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every format of the samples, the recall impact and the hostile genealogy, on disk."""
    folder = tmp_path_factory.mktemp("exports")
    hostile = folder / "hostile.json"
    hostile.write_text(dump_snapshot(hostile_snapshot()))
    graphs = ("dot", "svg", "graphml", "mmd", "xlsx")

    def outputs(stem: str, formats: tuple[str, ...] = graphs) -> list[str]:
        return [a for f in formats for a in ("-o", str(folder / f"{stem}.{f}"))]

    cli("unit", "DRN-X1-0001", "--source", str(SAMPLE), *outputs("unit", (*graphs, "pdf", "png")))
    cli("batch", "CAP-2407", "--source", str(SAMPLE), *outputs("batch"))
    cli("impact", "CAP-2407", "--source", str(SAMPLE), "-q", *outputs("impact"))
    cli("unit", "ROOT-1", "--source", str(hostile), *outputs("hostile"))
    # Placed by the tree layout: the SVG and PDF written by tracegraph, not Graphviz.
    placed = ("--layout", "tree", "-q")
    cli("unit", "ROOT-1", "--source", str(hostile), *placed, *outputs("hostile-placed", ("svg",)))
    cli("unit", "DRN-X1-0001", "--source", str(SAMPLE), *placed, *outputs("placed", ("pdf",)))
    yield folder


# --- GraphML: the schema, networkx, igraph ---------------------------------------------


@pytest.mark.parametrize("name", ["unit", "batch", "impact", "hostile"])
def test_graphml_validates_against_the_graphml_schema(written: Path, name: str) -> None:
    from lxml import etree

    schema = clients.graphml_schema()
    document = etree.parse(str(written / f"{name}.graphml"))
    assert schema.validate(document), schema.error_log


def test_expected_graphml_validates_and_reads_in_networkx_and_igraph() -> None:
    from lxml import etree

    path = EXPECTED / "small.graphml"
    assert clients.graphml_schema().validate(etree.parse(str(path)))
    igraph = clients.module("igraph", "pip install igraph")
    read = igraph.Graph.Read_GraphML(str(path))
    assert read.vcount() == 4 and read.ecount() == 3
    assert sorted(read.vs["serial_number"]) == ["CAP-1", "CAP-9", "DRN-1", "FC-1"]
    assert nx.read_graphml(path).nodes["FC-1"]["seed"] is True


def test_graphml_of_hostile_serials_keeps_every_unit_exactly(written: Path) -> None:
    igraph = clients.module("igraph", "pip install igraph")
    path = written / "hostile.graphml"
    graph = nx.read_graphml(path)
    serials = HOSTILE_UNITS
    assert sorted(str(a["serial_number"]) for _, a in graph.nodes(data=True)) == serials
    assert sorted(serial_from_graphml_id(node) for node in graph) == serials
    assert "SN-0042" not in graph and "ROOT-1" in graph and "x:SN_2001" in graph
    read = igraph.Graph.Read_GraphML(str(path))
    assert sorted(read.vs["serial_number"]) == serials
    assert sorted(read.vs["name"]) == serials  # what Cytoscape shows


def test_graphml_keeps_apart_serials_that_differ_only_where_xml_cannot_write(
    tmp_path: Path,
) -> None:
    from lxml import etree

    igraph = clients.module("igraph", "pip install igraph")
    odd = [f"X{chr(c)}" for c in [*range(1, 9), 0x0B, 0x0C, *range(0x0E, 0x20)]]  # 28 units
    factory = Factory().unit("ROOT")
    for serial in ["X", "X\ufffd", *odd]:
        factory.unit(serial, parent="ROOT")
    snapshot = tmp_path / "odd.json"
    snapshot.write_text(dump_snapshot(factory.snapshot()))
    path = tmp_path / "odd.graphml"
    cli("unit", "ROOT", "--source", str(snapshot), "-o", str(path))
    assert clients.graphml_schema().validate(etree.parse(str(path)))
    expected = sorted(["ROOT", "X", "X\ufffd", *odd])
    graph = nx.read_graphml(path)
    for name in ("serial_number", "label", "name"):
        texts = [str(a[name]) for _, a in graph.nodes(data=True)]
        assert len(set(texts)) == len(expected) == 31, name  # none merged
        assert sorted(map(serial_from_graphml_id, texts)) == expected, name  # reversible
    read = igraph.Graph.Read_GraphML(str(path))
    assert sorted(map(serial_from_graphml_id, read.vs["name"])) == expected


# --- XLSX: openpyxl and LibreOffice -------------------------------------------------


def test_xlsx_cells_are_typed_so_serials_stay_exactly_as_they_are(written: Path) -> None:
    import openpyxl
    from openpyxl.utils.escape import unescape

    book = openpyxl.load_workbook(written / "hostile.xlsx")
    assert book.sheetnames == ["units"]
    sheet = book["units"]
    header = [c.value for c in sheet[1]]
    assert header[:7] == [
        "serial_number",
        "part_number",
        "revision",
        "part_name",
        "batch",
        "parent",
        "root",
    ]
    serials = [row[0] for row in sheet.iter_rows(min_row=2)]
    # openpyxl leaves the format's `_xHHHH_` escapes (here a carriage return) to its caller.
    assert sorted(unescape(c.value) for c in serials) == HOSTILE_UNITS
    assert {c.data_type for c in serials} == {"s"}  # text, never a number, date or formula
    batches = {c.value for c in sheet["E"][1:]}
    assert {"0123", "1E5", "TRUE", "=ROOT", "-1", "2024-01-02", "1/2"} <= batches
    created = sheet.cell(2, header.index("created_at") + 1)
    assert created.is_date and created.value.year == 2024
    depth, seed = header.index("depth") + 1, header.index("seed") + 1
    assert {sheet.cell(r, depth).data_type for r in range(2, sheet.max_row + 1)} == {"n"}
    assert {type(sheet.cell(r, seed).value) for r in range(2, sheet.max_row + 1)} == {bool}
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{sheet.max_row}"
    assert 8 <= sheet.column_dimensions["A"].width <= 62


def test_libreoffice_reads_the_xlsx_serials_as_text(written: Path, tmp_path: Path) -> None:
    rows = clients.libreoffice_csv(written / "hostile.xlsx", tmp_path).splitlines()
    import csv

    cells = {row[0] for row in csv.reader(rows[1:])}
    for serial in ("0123", "1E5", "TRUE", "=ROOT", "-1", "2024-01-02", "1/2", "émoji-🔋"):
        assert serial in cells


def test_impact_workbook_has_the_sheets_a_quality_engineer_filters(written: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(written / "impact.xlsx")
    assert book.sheetnames == ["summary", "affected", "suspects", "loose", "warnings"]
    sheet = book["summary"]
    assert [c.value for c in sheet[1]][:5] == [
        "part_number",
        "revision",
        "part_name",
        "affected_units",
        "suspect_units",
    ]
    assert [c.value for c in sheet[2]][:5] == ["DRN-X1", "B", "Survey drone", 3, 12]
    summary = {row[6]: row[7] for row in sheet.iter_rows(max_row=8, values_only=True)}
    assert summary["asked"] == "batch CAP-2407"
    assert summary["generated_at"].isoformat() == "2026-11-20T09:00:00"
    assert (summary["suspect units found"], summary["top-level units affected"]) == (18, 5)
    affected = list(book["affected"].iter_rows(values_only=True))
    assert affected[0][0] == "top_serial" and len(affected) == 1 + 5
    suspects = list(book["suspects"].iter_rows(values_only=True))
    assert len(suspects) == 1 + 15
    first = dict(zip(suspects[0], suspects[1], strict=True))
    assert first["suspect_serial"] == "CAP-10-0001" and first["top_serial"] == "DRN-X1-0001"
    assert first["batch"] == "CAP-2407" and first["depth"] == 3
    loose = [row[0] for row in book["loose"].iter_rows(min_row=2, values_only=True)]
    assert loose == ["CAP-10-0016", "CAP-10-0017", "CAP-10-0018"]
    for each in book:
        assert each.freeze_panes == "A2" and each.auto_filter.ref.startswith("A1")


# --- SVG in Chromium ---------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_page() -> Iterator[Any]:
    """One page of headless Chromium for the module's tests."""
    with clients.browser_page() as page:
        yield page


@pytest.mark.parametrize("name", ["hostile.svg", "hostile-placed.svg"])
def test_svg_titles_name_units_and_links_in_chromium(
    written: Path, chromium_page: Any, name: str
) -> None:
    graph = hostile_graph()
    page = chromium_page
    page.goto((written / name).as_uri())
    assert page.title() == style.title_block(graph)[0]
    nodes = page.eval_on_selector_all("g.node > title", "ts => ts.map(t => t.textContent)")
    edges = page.eval_on_selector_all("g.edge > title", "ts => ts.map(t => t.textContent)")
    tree = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")
    assert sorted(nodes) == sorted(xml_chars(s) for s in graph)  # line breaks and all
    assert sorted(edges) == sorted(f"{xml_chars(p)} → {xml_chars(c)}" for p, c in graph.edges)
    announced = {n.get("name", {}).get("value") for n in tree["nodes"]}
    assert {"SN 01", "x&y;", "<b>bold</b>", "émoji-🔋"} <= announced
    assert not any(re.fullmatch(r"u\d+", str(name)) for name in announced)


def test_chromium_opens_the_png_and_poppler_the_pdf(written: Path, chromium_page: Any) -> None:
    chromium_page.goto((written / "unit.png").as_uri())
    size = chromium_page.evaluate(
        "[document.images[0].naturalWidth, document.images[0].naturalHeight]"
    )
    assert size[0] > 300 and size[1] > 200
    info = subprocess.run(
        [clients.pdfinfo(), str(written / "unit.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M) and "CreationDate:    Fri Nov 20 09:00:00" in info


def test_poppler_reads_every_unit_of_the_placed_pdf(written: Path) -> None:
    """The PDF tracegraph writes itself for a placed picture: one page, every serial."""
    path = written / "placed.pdf"
    info = subprocess.run([clients.pdfinfo(), str(path)], capture_output=True, text=True)
    assert info.returncode == 0 and info.stderr == "", info.stderr
    assert "Producer:        tracegraph" in info.stdout  # not Graphviz's cairo
    assert "CreationDate:    Fri Nov 20 09:00:00" in info.stdout
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    graph = tracegraph.trace("DRN-X1-0001", source=SAMPLE)
    assert all(serial in text.split() for serial in graph)


# --- DOT: Graphviz and pydot -------------------------------------------------------


def read_dot_id(name: str) -> str:
    """The text Graphviz reads from a DOT ID (a quoted or an HTML-string one)."""
    if name.startswith("<") and name.endswith(">"):
        return name[1:-1]
    if not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], [], 0
    while i < len(body):
        pair = body[i : i + 2]
        if pair == '\\"':
            out.append('"')
            i += 2
        elif pair == "\\\n":
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


@pytest.mark.parametrize("name", ["unit", "batch", "impact", "hostile"])
def test_pydot_reads_every_exported_dot(written: Path, name: str) -> None:
    import pydot

    path = written / f"{name}.dot"
    (dot,) = pydot.graph_from_dot_file(str(path))
    defaults = {"node", "edge", "graph"}  # pydot's defaults statements, unquoted
    serials = {read_dot_id(n.get_name()) for n in dot.get_nodes() if n.get_name() not in defaults}
    if name == "hostile":
        # pydot opens the file in text mode: Python reads a carriage return as a line feed.
        assert serials == {s.replace("\r", "\n") for s in HOSTILE_UNITS}
    else:
        in_dot = re.findall(r'^  "(.+?)" \[label=', path.read_text(), re.M)
        assert serials == set(in_dot) and len(serials) > 3
    assert len(dot.get_edges()) == path.read_text().count(" -> ")


def graphviz_names(dot_text: str) -> list[str]:
    done = subprocess.run(
        [clients.graphviz(), "-Tjson0"], input=dot_text.encode(), capture_output=True, check=True
    )
    return [o["name"] for o in json.loads(done.stdout)["objects"]]


def test_to_pydot_gives_graphviz_the_exact_serials() -> None:
    graph = hostile_graph()
    dot = to_pydot(graph)
    assert sorted(graphviz_names(dot.to_string())) == sorted(graph)
    assert len(dot.get_edges()) == graph.number_of_edges()
    # Restyling in Python before rendering keeps working with every serial.
    (node,) = dot.get_node('"x&y;"')
    node.set("fillcolor", '"#ff0000"')
    assert '"x&y;" [label=' in dot.to_string() and 'fillcolor="#ff0000"' in dot.to_string()


def test_expected_dot_and_json_are_read_by_graphviz_and_networkx() -> None:
    assert sorted(graphviz_names((EXPECTED / "small.dot").read_text())) == sorted(
        build_small_graph()
    )
    data = json.loads((EXPECTED / "small.json").read_text())
    assert set(nx.node_link_graph(data, edges="edges").edges) == set(build_small_graph().edges)
