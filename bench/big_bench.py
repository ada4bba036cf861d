"""Big genealogies: the 100k export by stage, and the 10k picture against plain `dot`.

    .venv/bin/python bench/big_bench.py [--units 100000] [--picture 10000] [--skip-dot]

1. A snapshot of `--units` units (trees of 11,111 units: 10 children a unit,
   four levels) is written to a temporary folder. The whole command
   `tracegraph batch ... -o x.dot -o x.graphml -o x.json` runs on it as a
   process, for its wall time and peak RSS; then the same stages run in a
   process of their own one after the other, each with its seconds and the
   peak RSS so far.
2. `tracegraph unit ROOT --collapse none -o big.svg` on a `--picture`-unit tree
   (`--runs` times: each run and the median), and plain `dot -Tsvg` on
   tracegraph's own `.dot` of it, side by side.
3. The same tree as `-o big.html`, opened in headless Chromium (the system's,
   driven by Playwright): seconds until the viewer is ready, and for a search.

It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import snapshot_of

TRACEGRAPH = [sys.executable, "-m", "tracegraph"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command run as a process of its own."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def write_snapshot(path: Path, trees: int) -> int:
    snapshot = snapshot_of(trees, (10, 10, 10, 10))
    path.write_text(json.dumps(snapshot))
    return len(snapshot["units"])


def stages(path: Path) -> None:
    """The export's stages in this process: seconds and the peak RSS reached."""
    from tracegraph.crawl import crawl_genealogy
    from tracegraph.export import export
    from tracegraph.graph import build_graph
    from tracegraph.source import BatchFilters
    from tracegraph.sources.snapshot import SnapshotSource
    from tracegraph.tracing import find_seeds

    def report(stage: str, started: float) -> float:
        now = time.perf_counter()
        print(f"  {stage:<10}{now - started:>8.2f} s{peak_mb():>9.0f} MB peak")
        return now

    started = time.perf_counter()
    source = SnapshotSource.from_file(path)
    started = report("load", started)

    async def crawl(source: SnapshotSource) -> object:
        seeds = await find_seeds(source, [], ["B-PRODUCT"], BatchFilters(), 16)
        return await crawl_genealogy(source, [], optional_seeds=seeds.optional, max_units=10**7)

    genealogy = asyncio.run(crawl(source))
    started = report("crawl", started)
    graph = build_graph(genealogy, seeds_label="batch B-PRODUCT")  # type: ignore[arg-type]
    del genealogy, source
    started = report("graph", started)
    for fmt in ("dot", "graphml", "json"):
        data = export(graph, fmt)
        started = report(fmt, started)
        del data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--picture", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of the 10k SVG")
    parser.add_argument("--skip-dot", action="store_true", help="do not time plain dot")
    parser.add_argument("--stages", type=Path, help=argparse.SUPPRESS)  # the inner process
    args = parser.parse_args()
    if args.stages:
        stages(args.stages)
        return
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        snapshot = work / "big.json"
        units = write_snapshot(snapshot, max(1, round(args.units / 11_111)))
        size = snapshot.stat().st_size / 1e6
        print(f"\n{units} units, snapshot {size:.0f} MB")
        outputs = [a for f in ("dot", "graphml", "json") for a in ("-o", str(work / f"x.{f}"))]
        seconds, peak = timed_process(
            [*TRACEGRAPH, "batch", "B-PRODUCT", "--source", str(snapshot), "-q",
             "--max-units", "10000000", *outputs]
        )  # fmt: skip
        print(f"  whole command: {seconds:.2f} s, {peak:.0f} MB peak (DOT + GraphML + JSON)")
        print("  by stage, in one process:")
        subprocess.run([sys.executable, __file__, "--stages", str(snapshot)], check=True)

        tree = work / "tree.json"
        units = write_snapshot(tree, max(1, round(args.picture / 11_111)))
        print(f"\n{units}-unit tree drawn as SVG")
        svg, dot = work / "big.svg", work / "big.dot"
        base = [*TRACEGRAPH, "unit", "P0000", "--source", str(tree), "-q"]
        runs = [timed_process([*base, "--collapse", "none", "-o", str(svg)])[0]
                for _ in range(args.runs)]  # fmt: skip
        seconds = statistics.median(runs)
        each = ", ".join(f"{r:.2f}" for r in runs)
        print(f"  tracegraph --collapse none -o big.svg: {seconds:.2f} s median of {each} "
              f"({svg.stat().st_size / 1e6:.1f} MB)")  # fmt: skip
        subprocess.run([*base, "-o", str(dot)], check=True)
        if not args.skip_dot:
            dot_seconds, _ = timed_process(["dot", "-Tsvg", str(dot), "-o", str(work / "d.svg")])
            print(f"  dot -Tsvg on tracegraph's .dot: {dot_seconds:.2f} s "
                  f"({dot_seconds / seconds:.1f}x tracegraph's time)")  # fmt: skip
        html = work / "big.html"
        seconds, _ = timed_process([*base, "--collapse", "none", "-o", str(html)])
        print(f"  tracegraph --collapse none -o big.html: {seconds:.2f} s "
              f"({html.stat().st_size / 1e6:.1f} MB)")  # fmt: skip
        in_chromium(html, "P0000.9.9.9.9")


def in_chromium(html: Path, serial: str) -> None:
    """Seconds until the HTML viewer is ready in headless Chromium, and for one search."""
    from tests.clients import browser_page

    with browser_page() as page:
        started = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=120_000)
        ready = time.perf_counter() - started
        started = time.perf_counter()
        page.fill("#search", serial)
        page.press("#search", "Enter")
        page.wait_for_selector("svg .match", state="attached", timeout=60_000)
        found = time.perf_counter() - started
    print(f"  headless Chromium: ready in {ready:.2f} s, a search in {found:.2f} s")


if __name__ == "__main__":
    main()
