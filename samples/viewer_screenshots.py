"""Screenshots of the HTML viewer on a 100,000-unit genealogy, for the README.

    .venv/bin/python samples/viewer_screenshots.py   (needs Chromium and Playwright)

90 products of 1,111 units each (10 sub-assemblies, 10 boards each, 10 parts
each: 99,990 units) are written with `--collapse none` as HTML, opened in
the system's Chromium, and shot four times: zoomed out (everything), zoomed
in, on a search result, and with a subtree collapsed. The PNGs go beside
this script as viewer-*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import tracegraph  # noqa: E402
from bench.synthetic import snapshot_of  # noqa: E402
from tests.clients import CHROMIUM_ARGS, chromium  # noqa: E402

SIZE = {"width": 1100, "height": 640}


def main() -> None:
    products = 90
    snapshot = snapshot_of(products, (10, 10, 10))
    seeds = [f"P{p:04}" for p in range(products)]
    graph = tracegraph.trace(*seeds, source=tracegraph.SnapshotSource(snapshot))
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "genealogy.html"
        html.write_bytes(tracegraph.export(graph, "html", collapse="none"))
        print(f"{graph.number_of_nodes():,} units: {html.stat().st_size / 1e6:.1f} MB of HTML")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=SIZE)

            def shot(hash_: str = "") -> None:
                page.goto(html.as_uri() + hash_)
                page.wait_for_selector("body[data-ready=true]")
                page.wait_for_timeout(300)

            def save(name: str) -> None:
                page.wait_for_timeout(400)  # tiles drawn over a few frames
                page.screenshot(path=HERE / f"viewer-{name}.png")
                print(f"  viewer-{name}.png: {page.inner_text('#status') or 'no search'}")

            shot()
            save("zoomed-out")
            page.focus("#viewport")
            while page.evaluate("tracegraphViewer.view().k") < 0.9:  # until the text shows
                page.keyboard.press("+")
            save("zoomed-in")
            shot("#search=P0042.7.3")
            save("search")
            shot("#search=P0042.7")
            handle = page.evaluate("tracegraphViewer.handle('P0042.7')")
            page.mouse.click(handle["x"], handle["y"])
            page.focus("#viewport")
            for _ in range(4):
                page.keyboard.press("-")
            save("collapsed")
            browser.close()


if __name__ == "__main__":
    main()
