# ruff: noqa: E501  (exact Graphviz HTML labels, written out whole)
"""Pictures that explain themselves: the title block, the key of colours and marks,
--color-by, --rankdir, --page, and the text tree's where-used lines, columns and colours."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import tracegraph
from tests import clients
from tests.builders import Factory
from tests.conftest import SAMPLE, build_small_graph, needs_graphviz
from tests.running import EPOCH, one_error_line, read_terminal
from tests.running import tracegraph as run_tracegraph
from tracegraph.export.text import paths_up
from tracegraph.picture.collapse import collapse
from tracegraph.picture.style import OUTCOME_FILLS
from tracegraph.sources.snapshot import dump_snapshot

# The marks of the key, as the key words them (the text after the swatch).
MARKS = {
    "seed": "asked for (a seed)",
    "suspect": "SUSPECT from the suspect batch",
    "top_level": "TOP-LEVEL top-level unit that holds a suspect",
    "loose": "LOOSE suspect built into nothing yet",
    "missing": "missing (404) referenced, but the API answers 404",
    "failed": "FAIL test outcome other than PASS",
    "group": "N units of one part, revision and batch, as one box",
    "warning": "WARNING named in a data warning (see the text output)",
}


def _graph_label(dot: str) -> str:
    found = re.search(r"label=(<<TABLE.*?</TABLE>>)\];", dot, re.S)
    assert found is not None, dot[:500]
    return found[1]


def key_texts(svg: str) -> set[str]:
    """The key's entries as Graphviz drew them, from the SVG's `<text>` runs.

    The label comes before the first node. A mark word and its meaning are two
    runs on one line, the meaning starting with a space: joined back here.
    """
    start = svg.rindex("<text", 0, svg.index(">Key<"))
    key = svg[start : svg.index("<!-- ", start)]
    lines: dict[str, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(
        r'<text [^>]*x="([\d.-]+)" y="([\d.-]+)"[^>]*>([^<]*)</text>', key
    ):
        lines.setdefault(y, []).append((float(x), html.unescape(text)))
    entries: list[str] = []
    for runs in lines.values():
        for _, text in sorted(runs):
            if text.startswith(" ") and entries:
                entries[-1] += text
            else:
                entries.append(text)
    # (`N ×` is the group swatch's own text.)
    return {e for e in entries if e not in ("Key", "N ×") and not e.startswith("Key ")}


def expected_key(graph: nx.DiGraph, marks: set[str]) -> set[str]:
    """What the key must list: each part drawn (number · name) and the marks named."""
    parts = {
        (a["part_number"], a["part_name"])
        for _, a in graph.nodes(data=True)
        if a.get("status") != "missing"
    }
    return {f"{number} · {name}" for number, name in parts} | {MARKS[m] for m in marks}


@needs_graphviz
def test_the_key_lists_exactly_the_parts_and_marks_in_the_picture() -> None:
    down = tracegraph.trace("FC-1000-0001", scope="down", source=SAMPLE)
    svg = tracegraph.export(down, "svg").decode()
    assert key_texts(svg) == expected_key(down, {"seed"})

    small = build_small_graph()  # a seed, a failed test, a missing unit, a warning
    svg = tracegraph.export(small, "svg").decode()
    assert key_texts(svg) == expected_key(small, {"seed", "failed", "missing", "warning"})

    report = tracegraph.impact(batches=["CAP-2407"], source=SAMPLE)
    svg = tracegraph.export(report.graph, "svg").decode()
    shown = report.graph
    # The snapshot holds every unit in full, so the runs of the walk up are known:
    # CAP-10-0017, which failed, is among the units drawn.
    assert shown.nodes["CAP-10-0017"]["outcome"] == "FAIL"
    assert key_texts(svg) == expected_key(shown, {"suspect", "top_level", "loose", "failed"})

    folded = tracegraph.export(down, "svg", collapse="siblings").decode()
    parts = expected_key(collapse(down), {"seed", "group"})
    assert key_texts(folded) == parts
    assert "Key" not in tracegraph.export(down, "svg", legend=False).decode()


def test_the_dot_of_a_sample_has_its_title_block_and_key() -> None:
    graph = tracegraph.trace("PSU-300-0003", scope="down", source=SAMPLE)
    label = _graph_label(tracegraph.export(graph, "dot").decode())
    # Written by hand from the sample: three parts, three units; PSU-300-0003 is the seed.
    swatch = '<TD FIXEDSIZE="TRUE" WIDTH="30" HEIGHT="16" BGCOLOR="{}" BORDER="{}" COLOR="{}" STYLE="rounded"></TD>'
    text = '<TD ALIGN="LEFT"><FONT POINT-SIZE="10">{}</FONT></TD>'
    title = (
        '<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">\n'
        '<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="14"><B>Genealogy of unit PSU-300-0003</B></FONT></TD></TR>\n'
        '<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">scope down · any depth · 4 units</FONT></TD></TR>\n'
        '<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">source https://www.tofupilot.app/api · snapshot captured 2026-11-20T09:00:00Z</FONT></TD></TR>\n'
        '<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">generated 2026-11-18T11:06:40Z by tracegraph 0.2.0</FONT></TD></TR>\n'
        "</TABLE>"
    )
    key = (
        '<TABLE BORDER="1" COLOR="#bbbbbb" STYLE="rounded" CELLBORDER="0" CELLSPACING="3" CELLPADDING="1">\n'
        '<TR><TD COLSPAN="5" ALIGN="LEFT"><FONT POINT-SIZE="10"><B>Key</B> · fill colour: part number</FONT></TD></TR>\n'
        f"<TR>{swatch.format('#e0e0e0', 1, '#4d4d4d')}{text.format('CAP-10 · Capacitor 10 uF 25 V')}"
        f'<TD WIDTH="10"></TD>{swatch.format("#cfe2f3", 1, "#4d4d4d")}{text.format("REG-5 · Voltage regulator 5 V")}</TR>\n'
        f"<TR>{swatch.format('#f6e0b5', 1, '#4d4d4d')}{text.format('PSU-300 · Power board')}"
        f'<TD WIDTH="10"></TD>{swatch.format("#ffffff", 3, "#b03a2e")}{text.format("asked for (a seed)")}</TR>\n'
        "</TABLE>"
    )
    assert label == (
        '<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD ALIGN="LEFT" VALIGN="TOP">'
        f'{title}</TD><TD WIDTH="24"></TD><TD ALIGN="LEFT" VALIGN="TOP">{key}</TD></TR></TABLE>>'
    )


def test_a_title_replaces_the_heading_and_keeps_the_provenance() -> None:
    graph = tracegraph.trace("PSU-300-0003", scope="down", source=SAMPLE, depth=1)
    label = _graph_label(tracegraph.export(graph, "dot", title="Audit 7 · PSU").decode())
    assert "<B>Audit 7 · PSU</B>" in label and "<B>Genealogy of" not in label
    assert ">Genealogy of unit PSU-300-0003 · scope down · depth ≤ 1 · 4 units<" in label
    assert "snapshot captured 2026-11-20T09:00:00Z" in label and "by tracegraph" in label
    assert graph.graph["max_depth"] == 1


@needs_graphviz
def test_color_by_outcome_batch_and_none_fill_the_boxes_and_name_the_key() -> None:
    small = build_small_graph()  # DRN-1 and FC-1 passed, CAP-1 failed, CAP-9 missing
    dot = tracegraph.export(small, "dot", color_by="outcome").decode()
    fills = dict(re.findall(r'^  "([^"]+)" \[.*fillcolor="(#\w+)"', dot, re.M))
    assert fills == {
        "DRN-1": OUTCOME_FILLS["PASS"],
        "FC-1": OUTCOME_FILLS["PASS"],
        "CAP-1": OUTCOME_FILLS["FAIL"],
        "CAP-9": "#ffffff",
    }
    svg = tracegraph.export(small, "svg", color_by="outcome").decode()
    assert {"PASS", "FAIL"} <= key_texts(svg) and "fill colour: test outcome" in svg
    by_batch = tracegraph.export(small, "svg", color_by="batch").decode()
    assert {"C1", "D1", "no batch"} <= key_texts(by_batch)
    plain = tracegraph.export(small, "dot", color_by="none").decode()
    assert set(re.findall(r'fillcolor="(#\w+)"', plain)) == {"#ffffff"}
    # The colours are the same in every picture that shows the value.
    again = tracegraph.export(
        tracegraph.trace("DRN-X1-0001", source=SAMPLE), "dot", color_by="outcome"
    )
    assert f'fillcolor="{OUTCOME_FILLS["PASS"]}"' in again.decode()


@needs_graphviz
def test_left_to_right_runs_a_deep_chain_across_with_either_layout(tmp_path: Path) -> None:
    f = Factory()
    previous = None
    for level in range(8):
        f.unit(f"L{level}", f"P{level}", parent=previous)
        previous = f"L{level}"
    path = tmp_path / "chain.json"
    path.write_text(dump_snapshot(f.snapshot()))
    graph = tracegraph.trace("L0", source=path)
    for layout in ("dot", "tree"):
        svg = tracegraph.export(graph, "svg", rankdir="LR", layout=layout).decode()
        box = re.search(r'viewBox="0.00 0.00 ([\d.]+) ([\d.]+)"', svg)
        assert box is not None
        assert float(box[1]) > 3 * float(box[2]), layout
        xs = [
            float(x) for i in range(8) for x in re.findall(rf'x="([\d.]+)"[^>]*>L{i}</text>', svg)
        ]
        assert len(xs) == 8
        assert xs == sorted(xs), layout  # each level right of its parent


def _gray_pixels(pdf: Path, dpi: int) -> tuple[int, int, bytes]:
    """The PDF's first page as 8-bit grey pixels (poppler's pdftoppm)."""
    pgm = subprocess.run(
        [shutil.which("pdftoppm") or "pdftoppm", "-gray", "-r", str(dpi), "-singlefile", str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert header is not None
    width, height = int(header[1]), int(header[2])
    return width, height, pgm[header.end() :]


@needs_graphviz
@pytest.mark.parametrize(("page", "size"), [("A3", (842, 1191)), ("A3-landscape", (1191, 842))])
def test_a_page_pdf_is_one_page_of_that_paper_with_the_picture_inside_the_margins(
    tmp_path: Path, page: str, size: tuple[int, int]
) -> None:
    pdfinfo = clients.pdfinfo()
    target = tmp_path / "impact.pdf"
    args = ["impact", "CAP-2407", "--source", str(SAMPLE)]
    assert run_tracegraph(*args, "--page", page, "-o", str(target)).code == 0
    info = subprocess.run([pdfinfo, str(target)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.M)
    found = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout, re.M)
    assert found is not None and (round(float(found[1])), round(float(found[2]))) == size
    width, height, pixels = _gray_pixels(target, 72)
    inked = [(x, y) for y in range(height) for x in range(width) if pixels[y * width + x] < 250]
    assert inked, "nothing drawn"
    margin = 36 - 2  # half an inch, less anti-aliasing
    xs, ys = [x for x, _ in inked], [y for _, y in inked]
    assert min(xs) >= margin and max(xs) < width - margin
    assert min(ys) >= margin and max(ys) < height - margin
    # The page is used: the picture reaches the margins across or down.
    assert max(xs) - min(xs) > width - 2 * 36 - 40 or max(ys) - min(ys) > height - 2 * 36 - 40


@needs_graphviz
def test_a_png_page_is_the_paper_at_150_dpi(tmp_path: Path) -> None:
    target = tmp_path / "unit.png"
    args = ["unit", "PSU-300-0003", "--scope", "down", "--source", str(SAMPLE)]
    args += ["--page", "letter", "-o", str(target)]
    assert run_tracegraph(*args).code == 0
    width, height = (int.from_bytes(target.read_bytes()[i : i + 4], "big") for i in (16, 20))
    assert (width, height) == (1275, 1650)  # 8.5 × 11 in


@needs_graphviz
def test_a_page_with_svg_or_html_warns_that_it_applies_only_to_pdf_and_png(
    tmp_path: Path,
) -> None:
    args = ["unit", "PSU-300-0003", "--scope", "down", "--source", str(SAMPLE), "--page", "A4"]
    outputs = ["-o", str(tmp_path / "u.svg"), "-o", str(tmp_path / "u.html")]
    run = run_tracegraph(*args, *outputs, "-o", str(tmp_path / "u.pdf"))
    assert run.code == 0
    warned = [line for line in run.err.splitlines() if "--page" in line]
    assert warned == [
        "Warning: --page A4 applies only to PDF and PNG; the SVG is drawn at the picture's own size",
        "Warning: --page A4 applies only to PDF and PNG; the HTML is drawn at the picture's own size",
    ]
    assert all((tmp_path / name).stat().st_size > 0 for name in ("u.svg", "u.html", "u.pdf"))
    quiet = run_tracegraph(*args[:-2], "-o", str(tmp_path / "v.svg"))
    assert quiet.code == 0 and "--page" not in quiet.err


@needs_graphviz
def test_a_page_too_small_for_readable_text_is_an_error_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    target = tmp_path / "impact.pdf"
    target.write_bytes(b"kept")
    args = ["impact", "CAP-2407", "--source", str(SAMPLE), "--collapse", "none"]
    run = run_tracegraph(*args, "--page", "A4", "-o", str(target))
    line = one_error_line(run)
    assert "text would shrink to" in line and "below" not in line
    assert "--collapse siblings" in line and "--page A3-landscape" in line and "HTML" in line
    assert target.read_bytes() == b"kept"


def test_picture_options_are_checked_by_the_command_line() -> None:
    run = run_tracegraph("unit", "X", "--source", str(SAMPLE), "--page", "A5")
    assert run.code == 2 and "'A5' is not one of" in run.err
    run = run_tracegraph("unit", "X", "--source", str(SAMPLE), "--color-by", "colour")
    assert run.code == 2 and "--color-by" in run.err
    run = run_tracegraph("unit", "X", "--source", str(SAMPLE), "--rankdir", "BT")
    assert run.code == 2 and "--rankdir" in run.err


@needs_graphviz
def test_the_command_draws_with_the_picture_options(tmp_path: Path) -> None:
    svg, dot = tmp_path / "g.svg", tmp_path / "g.dot"
    args = ["unit", "FC-1000-0003", "--source", str(SAMPLE), "-o", str(svg), "-o", str(dot)]
    extra = ["--no-legend", "--title", "Lot 7", "--rankdir", "LR", "--color-by", "outcome"]
    assert run_tracegraph(*args, *extra).code == 0
    drawn, written = svg.read_text(), dot.read_text()
    assert ">Lot 7<" in drawn and "<title>Lot 7</title>" in drawn and ">Key<" not in drawn
    assert "rankdir=LR" in written and "fill colour" not in written
    assert f'fillcolor="{OUTCOME_FILLS["FAIL"]}"' in written  # MOT-90-0010 failed


def test_a_trace_up_starts_with_each_seeds_path_to_the_top() -> None:
    run = run_tracegraph(
        "unit", "CAP-10-0011", "CAP-10-0016", "--scope", "up", "--source", str(SAMPLE)
    )
    assert run.code == 0
    lines = run.out.splitlines()
    start = lines.index("Where used (seed → … → top-level unit):")
    assert lines[start + 1 : start + 4] == [
        "  CAP-10-0011 → PSU-300-0003 → FC-1000-0003 → DRN-X1-0003",
        "  CAP-10-0016",
        "",
    ]
    tree = run_tracegraph("unit", "CAP-10-0011", "--scope", "tree", "--source", str(SAMPLE))
    assert "Where used" not in tree.out


def test_where_used_follows_every_parent_and_stops_at_a_cycle(tmp_path: Path) -> None:
    f = Factory().unit("A", "P").unit("S", "P", parent="A")
    snapshot = f.snapshot()
    snapshot["units"]["A"]["parent"] = {"id": "u-s", "serial_number": "S", "part": None}  # a cycle
    path = tmp_path / "cycle.json"
    path.write_text(dump_snapshot(snapshot))
    graph = tracegraph.trace("S", scope="up", source=path)
    text = tracegraph.export(graph, "txt").decode()
    used = text.split("Where used (seed → … → top-level unit):\n", 1)[1].split("\n\n", 1)[0]
    assert used.splitlines() == ["  S → A"]
    # Two parents (inconsistent data): both paths, each to its own top.
    two = nx.DiGraph([("TOP1", "A"), ("A", "S"), ("TOP2", "B"), ("B", "S")])
    assert sorted(paths_up(two, "S")) == [["S", "A", "TOP1"], ["S", "B", "TOP2"]]


def test_impact_verbose_lists_where_each_suspect_is_used() -> None:
    run = run_tracegraph("impact", "CAP-2407", "--source", str(SAMPLE), "-v")
    lines = run.out.splitlines()
    start = lines.index("Where used (suspect → … → top-level unit):")
    used = lines[start + 1 :]
    assert "  CAP-10-0015 → ESC-40-0022 → MOT-90-0022 → DRN-X2-0002" in used
    assert len(used) == 15  # every suspect in a top-level unit, once (3 more are loose)
    assert "Where used" not in run_tracegraph("impact", "CAP-2407", "--source", str(SAMPLE)).out


def test_sibling_columns_line_up_even_with_wide_characters(tmp_path: Path) -> None:
    from tracegraph.export.text import display_width

    f = Factory().unit("TOP", "T", name="Top")
    f.unit("A-1", "CAP", parent="TOP", batch="B1", name="Cap")
    f.unit("LONGER-SERIAL-2", "RESISTOR", parent="TOP", batch="B2", name="Resistor 10k")
    f.unit("電池-3", "CELL", parent="TOP", batch="B3", name="Cell")  # two columns a character
    path = tmp_path / "wide.json"
    path.write_text(dump_snapshot(f.snapshot()))
    text = tracegraph.export(tracegraph.trace("TOP", source=path), "txt").decode()
    rows = {
        part: line
        for line in text.splitlines()
        for part in ("CAP", "RESISTOR", "CELL")
        if f"{part} rev" in line
    }
    assert len(rows) == 3
    for field in ("{part} rev", "[batch"):
        starts = {
            display_width(row[: row.index(field.format(part=part))]) for part, row in rows.items()
        }
        assert len(starts) == 1, (field, text)


def _on_a_terminal(*args: str, **env: str) -> str:
    """What the command prints to a terminal (a pseudo-terminal as its stdout)."""
    import pty

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
    environment.update(SOURCE_DATE_EPOCH=EPOCH, **env)
    done = subprocess.run(
        [sys.executable, "-m", "tracegraph", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=environment,
        timeout=60,
        check=False,
    )
    os.close(follower)
    shown = read_terminal(leader)
    assert done.returncode == 0, done.stderr
    return shown.decode()


def test_the_text_tree_is_coloured_on_a_terminal_unless_no_color_is_set(tmp_path: Path) -> None:
    args = ("impact", "CAP-2407", "--source", str(SAMPLE), "-f", "txt", "-o", "-")
    coloured = _on_a_terminal(*args)
    assert "\x1b[1;31mCAP-10-0001\x1b[0m" in coloured  # a suspect
    failed = _on_a_terminal("unit", "MOT-90-0010", "--source", str(SAMPLE), "-f", "txt", "-o", "-")
    assert "\x1b[31m[FAIL]\x1b[0m" in failed  # a failed test
    assert "\x1b[" not in _on_a_terminal(*args, NO_COLOR="1")
    piped = run_tracegraph(*args)  # not a terminal
    assert piped.code == 0 and "\x1b[" not in piped.out
    # A file written beside the terminal output stays plain.
    written = tmp_path / "tree.txt"
    _on_a_terminal(
        "unit", "FC-1000-0003", "--source", str(SAMPLE), "-o", "-", "-o", str(written), "-f", "txt"
    )
    assert "\x1b[" not in written.read_text()
    f = Factory().unit("DRN-1", "DRN").unit("FC-1", "FC", parent="DRN-1")
    snapshot = f.snapshot()
    snapshot["units"]["FC-1"]["children"].append(
        {"id": "u-x", "serial_number": "CAP-9", "part": None}
    )
    small = tmp_path / "small.json"
    small.write_text(dump_snapshot(snapshot))
    missing = _on_a_terminal("unit", "FC-1", "--source", str(small), "-f", "txt", "-o", "-")
    assert "\x1b[2m(missing)\x1b[0m" in missing and "\x1b[1;31mFC-1" in missing
