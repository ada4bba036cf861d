"""The HTML viewer, opened in headless Chromium: search, deep links, folding, PNG, no network.

The sample inverter plant (batch INV-2410, 972 units) is drawn with repeated
capacitors folded into `40 × CAP-100N rev A` groups. The page tells where it
drew a unit through `window.tracegraphViewer`; every action goes through the
page as a user would take it (typing, keys, clicks at those places).
"""

from __future__ import annotations

import re
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import tracegraph
from tests import clients
from tests.conftest import ROOT
from tracegraph.sources.snapshot import dump_snapshot

sys.path.insert(0, str(ROOT / "samples"))
from generate_factory import build_inverters, snapshot

VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def plant_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("viewer")
    source = folder / "inverters.json"
    source.write_text(dump_snapshot(snapshot(build_inverters())))
    graph = tracegraph.trace(batches=["INV-2410"], source=source)
    path = folder / "inverters.html"
    path.write_bytes(tracegraph.export(graph, "html"))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with clients.browser_page() as page:
        yield page.context.browser


def open_page(browser: Any, path: Path, hash_: str = "") -> Any:
    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    page.goto(path.as_uri() + hash_)
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("document.body.dataset.ready") == "true", page.inner_text("#status")
    return page


@pytest.fixture
def page(browser: Any, plant_page: Path) -> Iterator[Any]:
    page = open_page(browser, plant_page)
    yield page
    page.close()


def search(page: Any, text: str) -> str:
    page.fill("#search", text)
    page.press("#search", "Enter")
    return str(page.inner_text("#status"))


def box(page: Any, serial: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = page.evaluate("s => tracegraphViewer.screenBox(s)", serial)
    return found


def centre_offset(page: Any, serial: str) -> tuple[float, float]:
    """How far the unit's box is from the middle of the picture, in pixels."""
    drawn = box(page, serial)
    assert drawn is not None
    area = page.eval_on_selector(
        "#viewport",
        "v => { const r = v.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }",
    )
    return (
        drawn["x"] + drawn["width"] / 2 - area[0] - area[2] / 2,
        drawn["y"] + drawn["height"] / 2 - area[1] - area[3] / 2,
    )


def click_on(page: Any, serial: str) -> None:
    drawn = box(page, serial)
    assert drawn is not None
    page.mouse.click(drawn["x"] + drawn["width"] / 2, drawn["y"] + drawn["height"] / 2)


def test_the_page_is_self_contained(plant_page: Path) -> None:
    html = plant_page.read_text()
    assert not re.search(r"<(script|img|link|iframe)[^>]*\b(src|href)=", html)
    assert "url(" not in html and "@import" not in html
    assert html.count("<script") == 2  # the data, the viewer
    assert "default-src 'none'" in html  # the browser itself refuses any load


def test_the_page_works_with_the_network_blocked(browser: Any, plant_page: Path) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    blocked: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", refuse)
    page.goto(plant_page.as_uri() + "#search=INV-5K-0007")
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("document.body.dataset.ready") == "true"
    assert page.inner_text("#status") == "INV-5K-0007: found"
    page.keyboard.press("+")
    page.keyboard.press("0")
    assert blocked == [] and asked == [plant_page.as_uri()]  # the page itself, nothing else
    page.close()


def test_the_search_finds_a_unit_on_load_ignoring_case(browser: Any, plant_page: Path) -> None:
    page = open_page(browser, plant_page, "#search=cap-100n-0123")
    # CAP-100N-0123 (its run failed) has its own box.
    assert page.inner_text("#status") == "CAP-100N-0123: found"
    assert page.evaluate("tracegraphViewer.matches()") == ["CAP-100N-0123"]
    panel = page.inner_text("#details")
    assert panel.startswith("CAP-100N-0123") and "outcome" in panel and "FAIL" in panel
    x, y = centre_offset(page, "CAP-100N-0123")
    assert abs(x) < 5 and abs(y) < 5
    assert page.get_attribute("#status", "aria-live") == "polite"
    page.close()


def test_the_search_centres_the_unit_it_finds(page: Any) -> None:
    assert search(page, "INV-5K-0007") == "INV-5K-0007: found"
    assert page.evaluate("tracegraphViewer.matches()") == ["INV-5K-0007"]
    x, y = centre_offset(page, "INV-5K-0007")
    assert abs(x) < 5 and abs(y) < 5
    drawn = box(page, "INV-5K-0007")
    assert drawn is not None and drawn["height"] > 20  # near enough to read


def test_the_search_finds_a_unit_folded_into_a_group(page: Any) -> None:
    assert search(page, "CAP-100N-0037") == "CAP-100N-0037: one of 40 × CAP-100N rev A"
    drawn = box(page, "CAP-100N-0037")
    assert drawn is not None and drawn["group"]
    assert box(page, "CAP-100N-0001") == drawn  # one band for the forty
    listed = page.eval_on_selector_all("#panel li", "es => es.map(e => e.textContent)")
    assert len(listed) == 40 and listed[36].startswith("CAP-100N-0037")
    assert page.eval_on_selector("#panel li.match", "e => e.textContent").startswith(
        "CAP-100N-0037"
    )


def test_clicking_a_folded_group_unfolds_it_in_place(page: Any) -> None:
    search(page, "CAP-100N-0037")
    band = box(page, "CAP-100N-0037")
    assert band is not None
    click_on(page, "CAP-100N-0037")
    own, first = box(page, "CAP-100N-0037"), box(page, "CAP-100N-0001")
    assert own is not None and first is not None and not own["group"] and own != first
    for member in (own, first):  # inside the band the group took
        assert (
            band["x"] - 1 <= member["x"]
            and member["x"] + member["width"] <= band["x"] + band["width"] + 1
        )
    click_on(page, "CAP-100N-0037")
    assert page.inner_text("#details").startswith("CAP-100N-0037")
    page.click("text=Fold 40 × CAP-100N rev A again")
    assert box(page, "CAP-100N-0037")["group"]  # type: ignore[index]


def test_a_serial_not_in_the_graph_marks_nothing_and_says_so(page: Any) -> None:
    assert search(page, "NO-SUCH-UNIT") == "NO-SUCH-UNIT: not found"
    assert page.evaluate("tracegraphViewer.matches()") == []
    assert page.get_attribute("#status", "class") == "missing"


def test_a_prefix_finds_every_match_and_n_steps_through_them(page: Any) -> None:
    said = search(page, "inv-5k-00")
    assert said.startswith("inv-5k-00: 12 matches (prefix), 1 of 12: INV-5K-0001")
    page.focus("#viewport")
    page.keyboard.press("n")
    assert page.inner_text("#status").endswith("2 of 12: INV-5K-0002: found")
    page.keyboard.press("Shift+N")
    page.keyboard.press("Shift+N")
    assert page.inner_text("#status").endswith("12 of 12: INV-5K-0012: found")
    said = search(page, "5K-001")
    assert said.startswith("5K-001: 3 matches (substring), 1 of 3: INV-5K-0010")


def test_keys_pan_zoom_and_fit(page: Any) -> None:
    page.focus("#viewport")
    fitted = page.evaluate("tracegraphViewer.view()")
    page.keyboard.press("+")
    nearer = page.evaluate("tracegraphViewer.view()")
    assert nearer["k"] == pytest.approx(fitted["k"] * 1.25)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    moved = page.evaluate("tracegraphViewer.view()")
    assert moved["x"] > nearer["x"] and moved["y"] > nearer["y"] and moved["k"] == nearer["k"]
    page.keyboard.press("-")
    page.keyboard.press("0")
    assert page.evaluate("tracegraphViewer.view()") == fitted


def test_clicking_a_unit_shows_its_attributes_and_its_path(page: Any) -> None:
    search(page, "PWR-300-0004")
    page.click("#fit")
    page.keyboard.press("Escape")
    search(page, "PWR-300-0004")
    click_on(page, "PWR-300-0004")
    panel = page.inner_text("#details")
    assert panel.startswith("PWR-300-0004") and "Power stage board" in panel and "PWR-B2" in panel
    path = page.inner_text("#details .path")
    assert path.startswith("INV-5K-") and path.endswith(" → PWR-300-0004")
    assert page.evaluate("tracegraphViewer.selected()") == "PWR-300-0004"


def test_a_subtree_collapses_and_expands_from_its_handle(page: Any, plant_page: Path) -> None:
    graph = tracegraph.trace(batches=["INV-2410"], source=plant_page.parent / "inverters.json")
    inverter = "INV-5K-0003"
    below = sorted(nx.descendants(graph, inverter))
    search(page, inverter)
    assert all(page.evaluate("s => tracegraphViewer.shown(s)", s) for s in below)
    handle = page.evaluate("s => tracegraphViewer.handle(s)", inverter)
    page.mouse.click(handle["x"], handle["y"])
    assert not any(page.evaluate("s => tracegraphViewer.shown(s)", s) for s in below)
    assert page.evaluate("s => tracegraphViewer.shown(s)", inverter)
    assert f"Expand the subtree ({len(below)} units)" in page.inner_text("#details")
    page.mouse.click(handle["x"], handle["y"])
    assert all(page.evaluate("s => tracegraphViewer.shown(s)", s) for s in below)


def test_a_unit_link_selects_the_unit_and_unfolds_its_group(browser: Any, plant_page: Path) -> None:
    page = open_page(browser, plant_page, "#unit=CAP-100N-0037")
    assert page.inner_text("#status") == "CAP-100N-0037: found"
    assert page.evaluate("tracegraphViewer.selected()") == "CAP-100N-0037"
    drawn = box(page, "CAP-100N-0037")
    assert drawn is not None and not drawn["group"]
    x, y = centre_offset(page, "CAP-100N-0037")
    assert abs(x) < 5 and abs(y) < 5
    page.evaluate("location.hash = '#unit=NO-SUCH-UNIT'")
    page.wait_for_function("document.getElementById('status').textContent.includes('not')")
    assert page.inner_text("#status") == "NO-SUCH-UNIT: not found"
    page.close()


def png_facts(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct pixels of an RGBA PNG (filter 0 rows, as the page writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, width, height = 8, b"", 0, 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0]
        )
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
            assert body[8:10] == b"\x08\x06"  # 8 bits, RGBA
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompress(idat)
    row = width * 4 + 1
    assert len(raw) == row * height
    pixels = {
        raw[r * row + 1 + i : r * row + 5 + i]
        for r in range(0, height, 7)
        for i in range(0, width * 4, 28)
    }
    return width, height, pixels


@pytest.mark.parametrize("scale", [1, 2])
def test_the_view_is_saved_as_a_png(page: Any, scale: int, tmp_path: Path) -> None:
    search(page, "INV-5K-0007")
    size = page.eval_on_selector("#viewport", "v => [v.clientWidth, v.clientHeight]")
    page.select_option("#png-scale", str(scale))
    with page.expect_download() as download:
        page.click("#save-png")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    width, height, pixels = png_facts(saved.read_bytes())
    assert (width, height) == (size[0] * scale, size[1] * scale)
    assert len(pixels) > 3 and b"\xff\xff\xff\xff" in pixels  # drawn boxes on white
    assert page.inner_text("#status") == f"Saved {saved.name} ({width} × {height} px)"


def test_the_data_is_compact_columns_with_each_string_once_and_the_same_bytes_each_time(
    plant_page: Path,
) -> None:
    import base64
    import gzip
    import json

    graph = tracegraph.trace(batches=["INV-2410"], source=plant_page.parent / "inverters.json")
    page = tracegraph.export(graph, "html")
    assert page == tracegraph.export(graph, "html") == plant_page.read_bytes()
    found = re.search(rb'id="genealogy-data">([^<]+)</script>', page)
    assert found is not None
    data = gzip.decompress(base64.b64decode(found[1]))
    (length,) = struct.unpack("<I", data[:4])
    header = json.loads(data[4 : 4 + length])
    strings = header["strings"]
    assert len(strings) == len(set(strings)) and set(graph) <= set(strings)
    assert header["units"] == graph.number_of_nodes() == 972
    columns = {name: (kind, length) for name, kind, _, length in header["columns"]}
    assert columns["x"] == ("f32", 972) and columns["parent"] == ("i32", 972)
    assert {g["heading"] for g in header["groups"]} <= set(range(len(strings)))
    assert any(strings[g["heading"]] == "40 × CAP-100N rev A" for g in header["groups"])
