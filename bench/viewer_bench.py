"""The HTML viewer in headless Chromium at 10k, 100k and 1M units.

    .venv/bin/python bench/viewer_bench.py [--units 10000 100000 1000000] [--frames 60]

For each size, a forest of trees with fan-out 4 (six levels under each
top-level unit: 5,461 units a tree) is traced from an in-memory snapshot and
written with `--collapse none` as HTML. The page is opened in the system's
Chromium (driven by Playwright, 1400 × 900, frame-rate limit and vsync off,
so that a frame takes as long as its work) and the bench prints:

- the HTML file's size and the seconds Python took to write it;
- the seconds from navigation until the viewer says it is ready;
- a search for the last unit (form submit until the next frame is drawn);
- the median and 95th-percentile frame time over `--frames` wheel-zoom steps
  (in, then out, about the middle of the picture) and as many arrow-key pans.

It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import snapshot_of

TREE = 5461  # units in a tree of fan-out 4 with six levels below the top
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Frames as fast as their work allows: what a frame costs, not the display's 60 Hz.
    "--disable-frame-rate-limit",
    "--disable-gpu-vsync",
]

# Frame times in the page: each animation frame sends the next event and notes the time.
FRAMES = """
async ([kind, count]) => {
  const viewport = document.getElementById("viewport");
  const box = viewport.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const times = [];
  const next = () => new Promise((done) => requestAnimationFrame(done));
  let last = await next();
  for (let i = 0; i < count; i += 1) {
    if (kind === "zoom") {
      const deltaY = i < count / 2 ? -120 : 120;
      viewport.dispatchEvent(new WheelEvent("wheel", {
        deltaY, clientX: x, clientY: y, bubbles: true, cancelable: true }));
    } else {
      const key = ["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"][Math.floor(i / 5) % 4];
      document.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
    }
    const now = await next();
    times.push(now - last);
    last = now;
  }
  return times;
}
"""

SEARCH = """
async (serial) => {
  const input = document.getElementById("search");
  const status = document.getElementById("status");
  status.textContent = "";
  input.value = serial;
  const started = performance.now();
  document.getElementById("find").requestSubmit();
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return [performance.now() - started, status.textContent];
}
"""


def genealogy(units: int) -> Any:
    """The traced graph of about `units` units, and the serial of its last unit."""
    import tracegraph

    trees = max(1, round(units / TREE))
    snapshot = snapshot_of(trees, (4,) * 6)
    seeds = [f"P{p:04}" for p in range(trees)]
    graph = tracegraph.trace(*seeds, source=tracegraph.SnapshotSource(snapshot), max_units=10**7)
    return graph, max(graph, key=lambda s: (s.count("."), s))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def in_chromium(html: Path, serial: str, frames: int, timeout: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.perf_counter()
            page.goto(html.as_uri(), timeout=timeout * 1000)
            page.wait_for_selector("body[data-ready=true]", timeout=timeout * 1000)
            ready = time.perf_counter() - started
            print(f"  ready in Chromium   {ready:8.2f} s")
            search, said = page.evaluate(SEARCH, serial)
            print(f"  search              {search:8.1f} ms  ({said})")
            for kind in ("zoom", "pan"):
                times = page.evaluate(FRAMES, [kind, frames])
                print(
                    f"  {kind} frames         {statistics.median(times):8.1f} ms median, "
                    f"{percentile(times, 0.95):.1f} ms p95 ({len(times)} frames)"
                )
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--frames", type=int, default=60, help="zoom steps, and as many pans")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for ready")
    args = parser.parse_args()
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    import tracegraph

    for units in args.units:
        graph, serial = genealogy(units)
        print(f"\n{graph.number_of_nodes():,} units (fan-out 4), --collapse none")
        with tempfile.TemporaryDirectory() as folder:
            html = Path(folder) / "genealogy.html"
            started = time.perf_counter()
            html.write_bytes(tracegraph.export(graph, "html", collapse="none"))
            written = time.perf_counter() - started
            print(f"  HTML file           {html.stat().st_size / 1e6:8.1f} MB, written in "
                  f"{written:.1f} s")  # fmt: skip
            del graph
            in_chromium(html, serial, args.frames, args.timeout)


if __name__ == "__main__":
    main()
