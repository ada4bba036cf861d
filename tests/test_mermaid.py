"""Mermaid files rendered by the Mermaid CLI: they render, and every label and title
reads exactly as the data says (see tests/clients.py for the client)."""

from __future__ import annotations

import re
from typing import Any

import pytest

import tracegraph
from tests import clients
from tests.conftest import EXPECTED, SAMPLE
from tests.hostile import hostile_graph, hostile_snapshot, shown
from tracegraph.picture import style

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
# Seeds whose titles Mermaid would misread: KaTeX, its `style` rule, codes, backslashes;
# and (in a frame) markup and its placeholders.
TITLED = {
    "plain title": ("$$x$$", "style:#1;", "x#35;y", "C:\\new", "'quote"),
    "framed title": ("<b>bold</b>", "a¶ßb"),
}


@pytest.fixture(scope="module")
def diagrams() -> dict[str, str]:
    """The .mmd of the samples, the recall impact, the hostile genealogy and hostile titles."""
    found = {
        "unit": tracegraph.trace("DRN-X1-0001", source=SAMPLE),
        "batch": tracegraph.trace(batches=["CAP-2407"], source=SAMPLE),
        "impact": tracegraph.impact(["CAP-2407"], source=SAMPLE).graph,
        "hostile": hostile_graph(),
    }
    source = tracegraph.SnapshotSource(hostile_snapshot())
    for name, seeds in TITLED.items():
        found[name] = tracegraph.trace(*seeds, scope="down", source=source)
    texts = {name: tracegraph.export(graph, "mmd").decode() for name, graph in found.items()}
    texts["expected"] = (EXPECTED / "small.mmd").read_text()
    return texts


@pytest.fixture(scope="module")
def mermaid(diagrams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every diagram rendered to SVG by the Mermaid CLI."""
    rendered = clients.render_mermaid(list(diagrams.values()), tmp_path_factory.mktemp("mmd"))
    return dict(zip(diagrams, rendered, strict=True))


def label_lines(group: Any) -> list[str]:
    """The lines of a node's label as Mermaid drew them (split at its line breaks)."""
    paragraph = next(group.iter(f"{XHTML}p"))
    lines, current = [], [paragraph.text or ""]
    for child in paragraph:
        if child.tag == f"{XHTML}br":
            lines.append("".join(current))
            current = []
        else:
            current.append("".join(child.itertext()))
        current.append(child.tail or "")
    return [*lines, "".join(current)]


def mermaid_labels(svg: str) -> dict[str, list[str]]:
    """Node id (`u12`) -> the lines of its label, as Mermaid drew them."""
    from lxml import etree

    root = etree.fromstring(svg.encode())
    labels = {}
    for group in root.iter(f"{SVG}g"):
        found = re.fullmatch(r".*-flowchart-(u\d+)-\d+", group.get("id") or "")
        if found and "node" in (group.get("class") or ""):
            labels[found[1]] = label_lines(group)
    return labels


def mermaid_title(svg: str) -> str:
    """The diagram's title: the front-matter title's text, or the frame's label."""
    from lxml import etree

    root = etree.fromstring(svg.encode())
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    frames = [
        "".join(g.itertext())
        for g in root.iter(f"{SVG}g")
        if "cluster" in (g.get("class") or "") and g.get("id")
    ]
    assert len(texts) + len(frames) == 1, (texts, frames)
    return (texts or frames)[0]


def test_every_mermaid_file_renders_with_the_mermaid_cli(mermaid: dict[str, str]) -> None:
    for name, svg in mermaid.items():
        assert "Syntax error" not in svg, name
        assert 'class="node' in svg, name


def test_mermaid_labels_read_exactly_as_the_data_says(mermaid: dict[str, str]) -> None:
    graph = hostile_graph()
    expected = {
        f"u{i}": [shown(line) for line in style.unit_lines(graph.nodes[serial]) if line]
        for i, serial in enumerate(sorted(graph))
    }
    assert mermaid_labels(mermaid["hostile"]) == expected
    assert ["NAME-4", "N4 rev A", "a¶ßb ﬂ°amp¶ß"] in expected.values()  # one of them, spelled out


def test_mermaid_titles_read_exactly_as_typed(mermaid: dict[str, str]) -> None:
    assert mermaid_title(mermaid["hostile"]) == "Genealogy of unit ROOT-1"
    for name, seeds in TITLED.items():
        assert mermaid_title(mermaid[name]) == f"Genealogy of units {', '.join(seeds)}"


def test_mermaid_sample_pictures_show_every_unit(
    mermaid: dict[str, str], diagrams: dict[str, str]
) -> None:
    for name in ("unit", "batch", "impact"):
        units = len(re.findall(r'^  u\d+\["', diagrams[name], re.M))
        assert len(mermaid_labels(mermaid[name])) == units > 10
