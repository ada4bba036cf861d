"""Big genealogies: repeated parts folded in pictures, the tree layout, the limits of
PNG and Mermaid, and the interactive HTML page (opened in Chromium)."""

from __future__ import annotations

import itertools
import re
import struct
import sys
import warnings
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import tracegraph
from tests.builders import Factory
from tests.conftest import ROOT, needs_graphviz
from tests.svg_paths import floats, path_points
from tracegraph import ExportError, TracegraphWarning
from tracegraph.export.options import ExportOptions
from tracegraph.picture.collapse import collapse, protected_units
from tracegraph.picture.drawing import PAGE, box_sizes, labels_of
from tracegraph.picture.graphviz import GraphvizRuns
from tracegraph.picture.treelayout import Placement, tree_layout
from tracegraph.sources.snapshot import dump_snapshot

sys.path.insert(0, str(ROOT / "samples"))
from generate_factory import build_inverters, snapshot


@pytest.fixture(scope="module")
def inverters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inverter plant of the samples: batch INV-2410, 12 inverters, 972 units."""
    path = tmp_path_factory.mktemp("plant") / "inverters.json"
    path.write_text(dump_snapshot(snapshot(build_inverters())))
    return path


@pytest.fixture(scope="module")
def plant(inverters: Path) -> nx.DiGraph:
    return tracegraph.trace(batches=["INV-2410"], source=inverters)


def board(caps: dict[str, int], extra: dict[str, Any] | None = None) -> Factory:
    """BOARD-1 holding capacitors of the given batches (how many each)."""
    f = Factory().unit("BOARD-1", "BOARD")
    number = 0
    for batch, count in caps.items():
        for _ in range(count):
            number += 1
            f.unit(f"CAP-{number:03}", "CAP", parent="BOARD-1", batch=batch, **(extra or {}))
    return f


def graph_of(factory: Factory, *seeds: str, **options: Any) -> nx.DiGraph:
    return tracegraph.trace(*seeds, source=tracegraph.SnapshotSource(factory.snapshot()), **options)


def groups_of(view: nx.DiGraph) -> dict[str, tuple[int, str, tuple[str, ...]]]:
    """Each group's heading facts: count, batch and members, by its first member."""
    return {
        str(a["members"][0]): (a["count"], a["batch"], a["members"])
        for _, a in view.nodes(data=True)
        if a.get("group")
    }


# --- the collapse rule ------------------------------------------------------------


def test_siblings_of_one_part_revision_and_batch_fold_into_one_group() -> None:
    view = collapse(graph_of(board({"C1": 40, "C2": 3}), "BOARD-1"))
    groups = groups_of(view)
    assert {key: (count, batch) for key, (count, batch, _) in groups.items()} == {
        "CAP-001": (40, "C1"),
        "CAP-041": (3, "C2"),
    }
    assert groups["CAP-001"][2] == tuple(f"CAP-{i:03}" for i in range(1, 41))
    assert view.number_of_nodes() == 3 and view.graph["collapsed"] == 43
    assert sorted(view.out_degree("BOARD-1") for _ in [0]) == [2]


def test_identical_sub_assemblies_fold_together_all_the_way_down() -> None:
    f = Factory().unit("DRONE", "DRN")
    for m in range(4):
        f.unit(f"MOT-{m}", "MOT", parent="DRONE", batch="M1")
        f.unit(f"ESC-{m}", "ESC", parent=f"MOT-{m}", batch="E1")
        for c in range(2):
            f.unit(f"CAP-{m}{c}", "CAP", parent=f"ESC-{m}", batch="C1")
    f.unit("MOT-odd", "MOT", parent="DRONE", batch="M1")  # no ESC inside: another shape
    view = collapse(graph_of(f, "DRONE"))
    groups = groups_of(view)
    assert {k: v[0] for k, v in groups.items()} == {"MOT-0": 4, "ESC-0": 4, "CAP-00": 8}
    assert "MOT-odd" in view  # its own box: its subtree differs
    motors = next(
        n for n, a in view.nodes(data=True) if a.get("count") == 4 and a["part_number"] == "MOT"
    )
    escs = next(n for n, a in view.nodes(data=True) if a.get("part_number") == "ESC")
    assert list(view.successors(motors)) == [escs] and view.out_degree(escs) == 1


def test_seeds_failed_missing_and_warned_units_are_never_folded() -> None:
    f = board({"C1": 10})
    f.unit("CAP-003", "CAP", parent="BOARD-1", batch="C1", outcome="FAIL")
    snapshot_data = f.snapshot()
    snapshot_data["units"]["BOARD-1"]["children"].append(
        {"id": "x", "serial_number": "CAP-GONE", "part": None}
    )
    snapshot_data["units"]["CAP-007"]["parent"] = {
        "id": "y",
        "serial_number": "OTHER",
        "part": None,
    }
    graph = tracegraph.trace("BOARD-1", "CAP-009", source=tracegraph.SnapshotSource(snapshot_data))
    assert protected_units(graph) >= {"BOARD-1", "CAP-009", "CAP-003", "CAP-GONE", "CAP-007"}
    view = collapse(graph)
    (count, _, members) = groups_of(view)["CAP-001"]
    assert count == 7 and set(members).isdisjoint({"CAP-003", "CAP-007", "CAP-009"})
    for alone in ("CAP-003", "CAP-007", "CAP-009", "CAP-GONE"):
        assert alone in view


def test_suspects_and_what_holds_them_are_never_folded(inverters: Path) -> None:
    report = tracegraph.impact(serials=["CAP-100N-0005"], scope="tree", source=inverters)
    view = collapse(report.graph)
    assert "CAP-100N-0005" in view and "CTL-200-0001" in view
    assert groups_of(view)["CAP-100N-0001"][0] == 39  # its 39 siblings fold around it


@needs_graphviz
def test_the_big_batch_folds_onto_an_a3_page_and_small_ones_stay_whole(
    plant: nx.DiGraph,
) -> None:
    svg = tracegraph.export(plant, "svg").decode()
    found = re.search(r'viewBox="0.00 0.00 ([\d.]+) ([\d.]+)"', svg)
    assert found is not None
    width, height = float(found[1]), float(found[2])
    assert width <= PAGE[0] and height <= PAGE[1]  # A3 landscape at half scale
    assert "972 units (935 drawn in groups)" in svg
    texts = set(re.findall(r"<title>([^<]*)</title>", svg))
    listed = {serial for text in texts for serial in text.split(": ", 1)[-1].split(", ")}
    assert set(plant) <= listed  # every unit can be found: its own title, or its group's
    small = tracegraph.trace("CTL-200-0001", scope="down", source=inverters_source(plant))
    assert "drawn in groups" not in tracegraph.export(small, "svg").decode()


@needs_graphviz
def test_a_forest_that_dot_fits_on_the_page_is_not_folded() -> None:
    # 140 units in 8 trees: 2,549 pt wide as the tree layout packs them (the
    # first, quick measure), but `dot` fits them on the page: nothing is folded.
    graph = tracegraph.trace(batches=["CAP-2407"], source=str(ROOT / "samples/factory.json"))
    svg = tracegraph.export(graph, "svg").decode()
    assert "· 140 units" in svg and "drawn in groups" not in svg
    found = re.search(r'viewBox="0.00 0.00 ([\d.]+) ([\d.]+)"', svg)
    assert found is not None and float(found[1]) <= PAGE[0] and float(found[2]) <= PAGE[1]


def inverters_source(plant: nx.DiGraph) -> tracegraph.SnapshotSource:
    return tracegraph.SnapshotSource(snapshot(build_inverters()))


def test_collapse_none_draws_every_unit_and_data_formats_never_fold(plant: nx.DiGraph) -> None:
    dot = tracegraph.export(plant, "dot", collapse="siblings").decode()
    assert dot.count(" [label=") == 972
    data = tracegraph.export(plant, "json", collapse="siblings")
    assert data.count(b'"serial_number"') == 972
    text = tracegraph.export(plant, "txt").decode()
    assert "CAP-100N-0040  CAP-100N rev A" in text and "×" not in text
    folded = tracegraph.export(plant, "txt", collapse="siblings").decode()
    assert "├── … 40 × CAP-100N rev A (C100-2409)" in folded
    assert (
        "CAP-100N-0123  CAP-100N rev A  Capacitor 100 nF 50 V  [batch C100-2409]  [FAIL]" in folded
    )


# --- the tree layout ------------------------------------------------------------


def rectangles(placement: Placement, sizes: dict[str, tuple[float, float]]) -> dict[str, tuple]:
    return {
        n: (x - sizes[n][0] / 2, y - sizes[n][1] / 2, x + sizes[n][0] / 2, y + sizes[n][1] / 2)
        for n, (x, y) in placement.centres.items()
    }


def assert_no_overlap(boxes: dict[str, tuple]) -> None:
    ordered = sorted(boxes.items(), key=lambda item: item[1][0])
    for i, (a, (_, ay1, ax2, ay2)) in enumerate(ordered):
        for b, (bx1, by1, _, by2) in ordered[i + 1 :]:
            if bx1 >= ax2:
                break
            assert ay2 <= by1 or by2 <= ay1, f"{a} and {b} overlap"


def placed(graph: nx.DiGraph) -> tuple[Placement, dict[str, tuple[float, float]]]:
    runs = GraphvizRuns(graph, ExportOptions())
    sizes = box_sizes(runs, labels_of(graph))
    return tree_layout(graph, sizes), sizes


@needs_graphviz
def test_tree_layout_places_no_box_on_another_and_parents_above_children(
    plant: nx.DiGraph,
) -> None:
    placement, sizes = placed(plant)
    assert len(placement.centres) == 972
    boxes = rectangles(placement, sizes)
    assert_no_overlap(boxes)
    for parent, child in plant.edges:
        assert boxes[parent][3] < boxes[child][1]  # the parent's bottom above the child's top
        route = placement.routes[(parent, child)]
        assert route[0] == pytest.approx((placement.centres[parent][0], boxes[parent][3]))
        assert route[-1] == pytest.approx((placement.centres[child][0], boxes[child][1]))
        for (x1, y1), (x2, y2) in itertools.pairwise(route):
            assert x1 == x2 or y1 == y2  # buses: straight down or straight across
    assert placement.width <= 4 * placement.height  # 12 trees packed into a grid


@needs_graphviz
def test_tree_layout_staggers_a_wide_fan_into_rows_and_routes_edges_between_boxes() -> None:
    graph = graph_of(board({"C1": 30}), "BOARD-1")
    placement, sizes = placed(graph)
    boxes = rectangles(placement, sizes)
    rows = {round(placement.centres[f"CAP-{i:03}"][1]) for i in range(1, 31)}
    assert len(rows) == 4  # like dot's pictures: at most 4 ranks of leaves
    assert_no_overlap(boxes)
    for (parent, child), route in placement.routes.items():
        for (x1, y1), (x2, y2) in itertools.pairwise(route[1:-1]):
            for serial, (bx1, by1, bx2, by2) in boxes.items():
                if serial in (parent, child):
                    continue
                crosses = (
                    min(x1, x2) < bx2
                    and max(x1, x2) > bx1
                    and min(y1, y2) < by2
                    and max(y1, y2) > by1
                )
                assert not crosses, f"the edge to {child} runs through {serial}"


def drawn_boxes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """Each unit's box as Graphviz drew it: the bounds of its outline's points."""
    boxes = {}
    shape = (
        r'class="node">\n<title>([^<]+)</title>\n<g id="a_u\d+"><a>?[^\n]*\n'
        r'<(?:path|polygon)[^>]* (?:d|points)="([^"]+)"'
    )
    for title, outline in re.findall(shape, svg):
        numbers = path_points(outline) if outline.startswith("M") else floats(outline)
        xs, ys = numbers[0::2], numbers[1::2]
        boxes[title] = (min(xs), min(ys), max(xs), max(ys))
    return boxes


@needs_graphviz
def test_graphviz_draws_the_tree_layout_without_overlaps_parents_on_top() -> None:
    graph = graph_of(board({"C1": 12, "C2": 2}), "BOARD-1")
    svg = tracegraph.export(graph, "svg", layout="tree", collapse="none").decode()
    boxes = drawn_boxes(svg)
    assert set(boxes) == set(graph)
    assert_no_overlap(boxes)
    for parent, child in graph.edges:
        assert boxes[parent][3] < boxes[child][1]  # SVG y grows downwards too


# --- limits of the formats ------------------------------------------------------


def wide(pairs: int) -> nx.DiGraph:
    """A root with `pairs` sub-assemblies of one part each: no leaf fan to stagger."""
    f = Factory().unit("ROOT", "ROOT")
    for i in range(pairs):
        f.unit(f"SUB-{i:04}", f"SUB{i}", parent="ROOT").unit(
            f"LEAF-{i:04}", f"LEAF{i}", parent=f"SUB-{i:04}"
        )
    return graph_of(f, "ROOT")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_graphviz
def test_a_png_too_wide_is_scaled_down_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = tracegraph.export(wide(400), "png", collapse="none", layout="tree")
    width, height = png_size(data)
    assert 30_000 < width <= 32_767 and height > 100
    messages = [str(w.message) for w in caught if issubclass(w.category, TracegraphWarning)]
    assert len(messages) == 1 and "instead of 96 to stay within 32,767 pixels" in messages[0]


@needs_graphviz
def test_a_png_that_would_be_unreadable_is_an_error_naming_svg_and_html() -> None:
    with pytest.raises(ExportError, match=r"a PNG holds at most 32,767.*write SVG or HTML"):
        tracegraph.export(wide(3000), "png", collapse="none", layout="tree")


def test_mermaid_folds_to_fit_github_or_says_which_limit() -> None:
    big = board({"C1": 600})
    graph = graph_of(big, "BOARD-1")
    text = tracegraph.export(graph, "mmd").decode()
    assert text.count(" --> ") == 1 and "600 × CAP rev A" in text
    with pytest.raises(ExportError, match=r"600 links.*at most 500 \(Mermaid's maxEdges\)"):
        tracegraph.export(graph, "mmd", collapse="none")
    assorted = Factory().unit("ROOT")
    for i in range(600):
        assorted.unit(f"P-{i}", f"PART-{i}", parent="ROOT")
    with pytest.raises(ExportError, match="even with repeated parts folded"):
        tracegraph.export(graph_of(assorted, "ROOT"), "mmd")
    names = Factory().unit("ROOT")
    for i in range(300):
        names.unit(f"N-{i}", f"PART-{i}", parent="ROOT", name="n" * 190)
    with pytest.raises(ExportError, match=r"characters.*Mermaid's maxTextSize"):
        tracegraph.export(graph_of(names, "ROOT"), "mmd")


@needs_graphviz
def test_a_big_picture_uses_the_tree_layout_and_draws_every_unit() -> None:
    from tracegraph.picture.drawing import TREE_LAYOUT_ABOVE, to_drawing

    f = Factory().unit("ROOT", "ROOT")
    for i in range(40):
        f.unit(f"M-{i:02}", f"MOD{i % 3}", parent="ROOT", batch=f"B{i}")
        for j in range(40):
            f.unit(f"L-{i:02}-{j:02}", f"LEAF{j % 5}", parent=f"M-{i:02}", batch=f"B{i}-{j}")
    graph = graph_of(f, "ROOT")  # every unit of its own batch: nothing folds
    assert graph.number_of_nodes() == 1641 > TREE_LAYOUT_ABOVE
    options = ExportOptions(collapse="none")
    assert to_drawing(GraphvizRuns(graph, options), graph, options).engine == ("-Kneato", "-n2")
    svg = tracegraph.export(graph, "svg", collapse="none").decode()
    boxes = drawn_boxes(svg)
    assert len(boxes) == 1641 and "L-39-39" in boxes
    assert_no_overlap(boxes)


def test_a_forest_of_small_trees_stays_with_dot() -> None:
    from tracegraph.picture.drawing import TREE_LAYOUT_ABOVE, to_drawing

    f = Factory()
    for t in range(4):  # 4 trees of 401 boxes: dot lays each out on its own, quickly
        f.unit(f"R{t}", "ROOT", batch="R")
        for i in range(400):
            f.unit(f"R{t}-{i:03}", f"P{i % 7}", parent=f"R{t}", batch=f"B{i}")
    graph = tracegraph.trace(batches=["R"], source=tracegraph.SnapshotSource(f.snapshot()))
    assert graph.number_of_nodes() == 1604 > TREE_LAYOUT_ABOVE
    options = ExportOptions(collapse="none")
    assert to_drawing(GraphvizRuns(graph, options), graph, options).engine == ()


@needs_graphviz
@pytest.mark.parametrize("seed", range(6))
def test_tree_layout_of_random_forests_has_no_overlap(seed: int) -> None:
    import random

    rng = random.Random(seed)
    f = Factory()
    serials: list[str] = []
    for i in range(rng.randint(20, 160)):
        parent = rng.choice(serials) if serials and rng.random() < 0.85 else None
        serial = f"S{i:03}" + "w" * rng.choice([0, 0, 0, 12])  # some boxes wide
        f.unit(serial, f"P{rng.randint(0, 6)}", parent=parent, batch=f"B{rng.randint(0, 2)}")
        serials.append(serial)
    snapshot_data = f.snapshot()
    graph = tracegraph.trace(*serials, source=tracegraph.SnapshotSource(snapshot_data))
    placement, sizes = placed(graph)
    boxes = rectangles(placement, sizes)
    assert set(boxes) == set(graph)
    assert_no_overlap(boxes)
    for parent, child in graph.edges:
        assert boxes[parent][3] < boxes[child][1]


@needs_graphviz
def test_tree_layout_of_a_deep_chain_needs_no_recursion() -> None:
    f = Factory().chain([f"L{i:04}" for i in range(3000)])
    graph = graph_of(f, "L0000", scope="down")
    placement, _ = placed(graph)
    assert len(placement.centres) == 3000
    assert placement.centres["L2999"][1] > placement.centres["L0000"][1]
