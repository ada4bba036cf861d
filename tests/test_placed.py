"""A placed picture's SVG and PDF, written by tracegraph: held to what Graphviz renders.

The tree layout places every box, so Graphviz only renders; tracegraph now
writes those boxes and edges itself (`picture/placed.py`, `svg.py`, `pdf.py`).
Graphviz is the judge: the same placed picture rendered by Graphviz
(`draw(..., here=False)`) must have the same elements with the same titles,
tooltips, colours and text, at the same places; poppler must read the PDF
and find every line of text where it finds it in Graphviz's PDF.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import networkx as nx
import pytest

import tracegraph
from tests import clients
from tests.builders import Factory
from tests.conftest import ROOT, needs_graphviz
from tests.hostile import hostile_graph
from tests.svg_paths import path_points
from tests.test_export import inconsistent_graph
from tracegraph import TracegraphWarning
from tracegraph.export.options import ExportOptions
from tracegraph.picture import forked, placed
from tracegraph.picture.graphviz import draw

sys.path.insert(0, str(ROOT / "samples"))
from generate_factory import build_inverters, snapshot

SAMPLE = ROOT / "samples" / "factory.json"
REWORK = ROOT / "samples" / "DRN-X1-0001-rework.json"
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}title"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def numbers(text: str) -> list[float]:
    return [float(n) for n in NUMBER.findall(text)]


def elements(svg: bytes) -> dict[str, dict[str, Any]]:
    """Each box and edge of an SVG by id: its title, tooltip, shapes and lines of text."""
    root = ElementTree.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class")
        if kind not in ("node", "edge"):
            continue
        shapes = [
            (e.tag.removeprefix(SVG), e.get("fill"), e.get("stroke"), e.get("stroke-width"),
             e.get("stroke-dasharray"),
             path_points(e.get("d", "")) if e.get("d") else numbers(e.get("points") or ""))
            for e in group.iter() if e.tag.removeprefix(SVG) in ("path", "polygon", "polyline")
        ]  # fmt: skip
        texts = [
            (t.text, float(t.get("x", 0)), float(t.get("y", 0)), t.get("font-size"),
             t.get("font-weight"), t.get("fill"))
            for t in group.iter(f"{SVG}text")
        ]  # fmt: skip
        links = [a.get(XLINK) for a in group.iter(f"{SVG}a")]
        title = group.find(f"{SVG}title")
        found[str(group.get("id"))] = {
            "kind": kind,
            "title": title.text if title is not None else None,
            "tooltip": links[0] if links else None,
            "shapes": shapes,
            "texts": texts,
        }
    return found


def assert_close(ours: list[float], theirs: list[float], within: float, what: str) -> None:
    assert len(ours) == len(theirs), what
    worst = max((abs(a - b) for a, b in zip(ours, theirs, strict=True)), default=0.0)
    assert worst <= within, f"{what}: {worst:.2f} pt apart"


def assert_drawn_alike(ours: bytes, graphviz: bytes, routed: bool = True) -> int:
    """The SVG written here has Graphviz's elements, looks and places; how many it has.

    Not `routed`: Graphviz routes edges the tree layout left (here they go
    straight), so only the edges' titles are compared.
    """
    mine, theirs = elements(ours), elements(graphviz)
    assert mine.keys() == theirs.keys()
    for number, element in mine.items():
        other = theirs[number]
        assert (element["kind"], element["title"]) == (other["kind"], other["title"]), number
        if element["kind"] == "edge" and not routed:
            continue
        assert element["tooltip"] == other["tooltip"], number
        looks = [shape[:5] for shape in element["shapes"]]
        assert looks == [shape[:5] for shape in other["shapes"]], number
        for shape, reference in zip(element["shapes"], other["shapes"], strict=True):
            # Graphviz rounds a box's size to whole points, and a place to a tenth.
            assert_close(shape[5], reference[5], 0.6, f"{number} {shape[0]}")
        assert [t[:1] + t[3:] for t in element["texts"]] == [t[:1] + t[3:] for t in other["texts"]]
        for text, reference in zip(element["texts"], other["texts"], strict=True):
            # x: each line is centred on its measured width, which kerning narrows a little.
            assert abs(text[1] - reference[1]) <= 3.0, (number, text, reference)
            assert abs(text[2] - reference[2]) <= 0.6, (number, text, reference)
    document, reference = ElementTree.fromstring(ours), ElementTree.fromstring(graphviz)
    view, expected_view = (numbers(d.get("viewBox", "")) for d in (document, reference))
    assert_close(view, expected_view, 0.6, "the picture's size")
    assert document.findtext(f"{SVG}title") == reference.findtext(f"{SVG}title")
    heading, expected = (
        [e for e in d.find(f"{SVG}g") or [] if e.tag != f"{SVG}g"] for d in (document, reference)
    )
    # The title block and key: Graphviz's own, element for element.
    assert [(e.tag, e.text) for e in heading] == [(e.tag, e.text) for e in expected]
    for element, drawn in zip(heading, expected, strict=True):
        assert element.keys() == drawn.keys()
        for name, value in element.items():
            if name in ("points", "d", "x", "y"):
                assert_close(numbers(value), numbers(drawn.get(name, "")), 0.6, name)
            else:
                assert value == drawn.get(name), name
    return len(mine)


def pictures() -> Iterator[tuple[str, nx.DiGraph | Any, dict[str, Any]]]:
    """Placed pictures with every look a box and an edge can have."""
    seeds = Factory().unit("ROOT", "ROOT", name="two  spaces,  twice")
    for i in range(6):
        seeds.unit(f"MOD-{i}", "MOD", parent="ROOT", batch=f"B{i % 2}")
        for j in range(5):
            seeds.unit(f"LEAF-{i}-{j}", f"LEAF{j % 2}", parent=f"MOD-{i}", batch="L")
    source = tracegraph.SnapshotSource(seeds.snapshot())
    yield "seeds", tracegraph.trace("ROOT", "MOD-3", source=source), {"collapse": "none"}
    yield "groups", tracegraph.trace("ROOT", source=source), {"collapse": "siblings"}
    impact = tracegraph.impact(batches=["CAP-2407"], source=SAMPLE)
    yield "impact", impact.graph, {"collapse": "none"}
    change = tracegraph.diff(SAMPLE, REWORK, "DRN-X1-0001")
    yield "diff", change.graph, {"collapse": "none"}
    yield "sideways", tracegraph.trace("DRN-X1-0001", source=SAMPLE), {"rankdir": "LR"}
    yield "hostile", hostile_graph(), {"collapse": "none"}
    yield "loops", inconsistent_graph(), {}  # two parents and a cycle: edges off the tree


@needs_graphviz
@pytest.mark.parametrize(
    "name", ["seeds", "groups", "impact", "diff", "sideways", "hostile", "loops"]
)
def test_a_placed_svg_written_here_is_what_graphviz_renders(name: str) -> None:
    graph, options = next((g, o) for n, g, o in pictures() if n == name)
    options = ExportOptions.of(layout="tree", **options)
    ours = draw(graph, "svg", options)
    reference = draw(graph, "svg", options, here=False)
    drawn = assert_drawn_alike(ours, reference, routed=name != "loops")
    assert drawn > (6 if name == "loops" else 10)
    looks = " ".join(str(e["shapes"]) for e in elements(ours).values())
    wanted = {
        "seeds": ["'3'"],  # a seed's border
        "groups": ["'polyline'"],  # a group's box3d
        "impact": ["'2'"],  # a top-level unit's double border
        "diff": ["'5,2'"],  # dashed: where OLD had a unit
        "sideways": ["'path'"],
        "hostile": ["'path'"],
        "loops": ["'polygon'"],
    }[name]
    assert all(look in looks for look in wanted), name


def fork_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import os

    calls: list[int] = []
    real = os.fork

    def counted() -> int:
        calls.append(1)
        return real()

    monkeypatch.setattr(os, "fork", counted)
    return calls


@needs_graphviz
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is for Linux only")
@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_a_picture_written_by_two_processes_is_byte_for_byte_one_process_s(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = tracegraph.trace(batches=["INV-2410"], source=tracegraph.SnapshotSource(
        snapshot(build_inverters())))  # fmt: skip
    options = ExportOptions(layout="tree", collapse="none")
    alone = draw(graph, fmt, options)
    calls = fork_calls(monkeypatch)
    monkeypatch.setattr(forked, "FORK_ABOVE", 100)
    together = draw(graph, fmt, options)
    assert calls == [1] and together == alone and len(alone) > 50_000


def pdf_words(path: Path) -> dict[str, list[tuple[float, float]]]:
    """Each word poppler reads in the PDF, and the centre of every place it reads it."""
    found = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    words: dict[str, list[tuple[float, float]]] = {}
    pattern = r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    for x0, x1, y1, word in re.findall(pattern, found):
        centre = ((float(x0) + float(x1)) / 2, float(y1))
        words.setdefault(word, []).append(centre)
    return words


@needs_graphviz
def test_poppler_reads_a_placed_pdf_as_it_reads_graphviz_s(tmp_path: Path) -> None:
    clients.pdfinfo()
    graph = tracegraph.trace("DRN-X1-0001", source=SAMPLE)
    graph.graph["generated_at"] = "2026-11-20T09:00:00Z"  # the PDF's creation date
    options = ExportOptions(layout="tree")
    (tmp_path / "ours.pdf").write_bytes(ours := draw(graph, "pdf", options))
    (tmp_path / "graphviz.pdf").write_bytes(draw(graph, "pdf", options, here=False))
    assert draw(graph, "pdf", options) == ours  # the same bytes every time
    info = subprocess.run(
        [clients.pdfinfo(), str(tmp_path / "ours.pdf")], capture_output=True, text=True, check=True
    )
    assert info.stderr == "" and re.search(r"^Pages:\s+1$", info.stdout, re.M)
    assert "Title:           Genealogy of unit DRN-X1-0001" in info.stdout
    assert "CreationDate:    Fri Nov 20 09:00:00 2026" in info.stdout
    mine, theirs = pdf_words(tmp_path / "ours.pdf"), pdf_words(tmp_path / "graphviz.pdf")
    assert set(graph) <= mine.keys()
    assert mine.keys() == theirs.keys()
    for word, places in mine.items():
        assert len(places) == len(theirs[word]), word
        for (x, y), (gx, gy) in zip(sorted(places), sorted(theirs[word]), strict=True):
            assert abs(x - gx) <= 3 and abs(y - gy) <= 3, (word, (x, y), (gx, gy))
    rendered = subprocess.run(
        ["pdftoppm", "-png", "-r", "20", str(tmp_path / "ours.pdf"), str(tmp_path / "page")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert rendered.stderr == "" and (tmp_path / "page-1.png").stat().st_size > 1000


@needs_graphviz
def test_a_placed_pdf_with_text_the_standard_fonts_lack_is_left_to_graphviz(
    tmp_path: Path,
) -> None:
    factory = Factory().unit("ROOT-Ω", "ROOT").unit("CELL-1", "CELL", parent="ROOT-Ω")
    graph = tracegraph.trace("ROOT-Ω", source=tracegraph.SnapshotSource(factory.snapshot()))
    path = tmp_path / "omega.pdf"
    path.write_bytes(draw(graph, "pdf", ExportOptions(layout="tree")))
    assert "ROOT-Ω" in pdf_words(path)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert " yes " in fonts.stdout  # Graphviz embedded a font that has Ω
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(draw(tracegraph.trace("CELL-1", source=tracegraph.SnapshotSource(
        factory.snapshot()), scope="down"), "pdf", ExportOptions(layout="tree")))  # fmt: skip
    fonts = subprocess.run(["pdffonts", str(plain)], capture_output=True, text=True, check=True)
    assert "Helvetica-Bold" in fonts.stdout and " yes " not in fonts.stdout


def no_child_left() -> bool:
    import os

    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is for Linux only")
@pytest.mark.parametrize("sent", [False, True])
def test_a_failure_here_while_the_fork_works_leaves_no_process_behind(
    sent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fork_calls(monkeypatch)
    monkeypatch.setattr(forked, "FORK_ABOVE", 2)
    ahead = forked.Ahead(10, lambda: lambda places: [places * 2])
    with pytest.raises(RuntimeError, match="the layout failed"), ahead:
        assert ahead.running
        if sent:  # the fork is writing; else it waits for the places
            ahead.send(b"places")
        raise RuntimeError("the layout failed")
    assert calls == [1] and no_child_left()  # the fork was killed and reaped: no zombie


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is for Linux only")
def test_a_fork_reaped_by_the_program_s_own_handler_does_not_hide_the_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import signal
    import time

    def reap_all(*_: object) -> None:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass

    monkeypatch.setattr(forked, "FORK_ABOVE", 2)

    def failing() -> Callable[[bytes], list[bytes]]:
        raise RuntimeError("the fork failed")

    previous = signal.signal(signal.SIGCHLD, reap_all)
    try:
        ahead = forked.Ahead(10, failing)
        with pytest.raises(ValueError, match="the layout failed"), ahead:
            assert ahead.running
            time.sleep(0.5)  # the fork has failed and the handler has reaped it
            raise ValueError("the layout failed")
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert no_child_left()


def test_parts_that_did_not_all_come_from_the_fork_are_not_taken() -> None:
    import struct

    whole = struct.pack("<3Q", 2, 3, 1) + b"abc" + b"d"
    assert forked._unframed(whole) == [b"abc", b"d"]
    assert forked._unframed(struct.pack("<Q", 0)) == []
    for cut in (whole[:-1], whole[:12], b""):
        assert forked._unframed(cut) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is for Linux only")
def test_the_fork_turns_the_places_into_bytes_and_a_failing_one_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forked, "FORK_ABOVE", 2)
    big = b"0123456789" * 100_000  # over a pipe's buffer, both ways
    with forked.Ahead(10, lambda: lambda places: [places[::-1], b"", places]) as ahead:
        ahead.send(big)
        assert ahead.parts() == [big[::-1], b"", big]

    def failing() -> Callable[[bytes], list[bytes]]:
        raise RuntimeError("the fork failed")

    with forked.Ahead(10, failing) as ahead, pytest.warns(TracegraphWarning, match="written here"):
        ahead.send(big)
        assert ahead.parts() is None
    assert no_child_left()


@needs_graphviz
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is for Linux only")
def test_a_picture_whose_fork_fails_is_written_here_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = tracegraph.trace(batches=["INV-2410"], source=tracegraph.SnapshotSource(
        snapshot(build_inverters())))  # fmt: skip
    options = ExportOptions(layout="tree", collapse="none")
    alone = draw(graph, "svg", options)
    monkeypatch.setattr(forked, "FORK_ABOVE", 100)

    def broken(places: bytes) -> Iterator[placed.Spot]:  # only the fork reads places
        raise RuntimeError("the fork failed")

    monkeypatch.setattr(placed, "spots_of", broken)
    with pytest.warns(TracegraphWarning, match="could not write its part"):
        assert draw(graph, "svg", options) == alone
    assert no_child_left()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is for Linux only")
def test_a_process_that_ignores_sigchld_writes_the_picture_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import signal

    calls = fork_calls(monkeypatch)
    monkeypatch.setattr(forked, "FORK_ABOVE", 2)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with forked.Ahead(10, lambda: lambda places: [places]) as ahead:
            assert not ahead.running
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert calls == []


@needs_graphviz
def test_a_diff_picture_s_arrows_and_a_depth_s_sign_are_in_the_pdf_s_symbol_font(
    tmp_path: Path,
) -> None:
    change = tracegraph.diff(SAMPLE, REWORK, "DRN-X1-0001")
    shallow = tracegraph.trace("DRN-X1-0001", source=SAMPLE, depth=2)
    for name, graph, wanted in [
        ("diff", change.graph, ["(old → new)", "revision C → D"]),
        ("depth", shallow, ["depth ≤ 2"]),
    ]:
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data := draw(graph, "pdf", ExportOptions(layout="tree")))
        assert b"/Producer (tracegraph)" in data and b"/BaseFont /Symbol" in data
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert all(words in text for words in wanted), name
