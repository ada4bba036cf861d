"""SVG and PDF of big genealogies: the whole command's wall time and peak memory.

    .venv/bin/python bench/picture_bench.py [--units 10000 100000] [--formats svg pdf]

A forest of trees with fan-out 4 (5,461 units a tree, as in viewer_bench.py)
is written as a snapshot; `tracegraph batch B-PRODUCT --collapse none -o x.FMT`
runs on it as a process of its own, under `/usr/bin/time` for its peak RSS.
The same command with `-o x.dot` gives the part that is not the picture
(loading, crawl, graph). Then, in a process of its own, the genealogy is
traced once and each picture made from it (`tracegraph.export`), timed
alone: the picture's own seconds, the process's peak RSS, and the peak of
the fork that writes part of a big picture (`picture/forked.py`), if one ran.
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import snapshot_of

TREE = 5461
# The picture alone: trace once, then time each export (run as a process of its own).
STAGE = """
import resource, sys, time
import tracegraph
graph = tracegraph.trace(batches=["B-PRODUCT"], source=sys.argv[1], max_units=10**7)
print(f"traced {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)
for fmt in sys.argv[2:]:
    started = time.perf_counter()
    data = tracegraph.export(graph, fmt, collapse="none")
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fork = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  {fmt:<5} {seconds:7.2f} s {own:7.0f} MB peak, fork or Graphviz {fork:5.0f} MB"
          f"  ({len(data) / 1e6:.1f} MB)", flush=True)
    del data
"""


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command run as a process of its own."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=["svg", "pdf"])
    args = parser.parse_args()
    for units in args.units:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            snapshot = snapshot_of(max(1, round(units / TREE)), (4,) * 6)
            path = work / "forest.json"
            path.write_text(json.dumps(snapshot))
            print(f"\n{len(snapshot['units']):,} units (fan-out 4), --collapse none")
            base = [sys.executable, "-m", "tracegraph", "batch", "B-PRODUCT", "--source",
                    str(path), "-q", "--max-units", "10000000", "--collapse", "none"]  # fmt: skip
            for fmt in ["dot", *args.formats]:
                out = work / f"x.{fmt}"
                seconds, peak = timed([*base, "-o", str(out)])
                size = out.stat().st_size / 1e6
                print(f"  -o x.{fmt:<5} {seconds:7.2f} s {peak:7.0f} MB peak  ({size:.1f} MB)")
            print("  the picture alone, in one process:", end=" ", flush=True)
            subprocess.run([sys.executable, "-c", STAGE, str(path), *args.formats], check=True)


if __name__ == "__main__":
    main()
