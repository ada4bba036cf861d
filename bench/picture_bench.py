"""SVG and PDF of big genealogies: the whole command's wall time and peak memory.

    .venv/bin/python bench/picture_bench.py [--units 10000 100000] [--formats svg pdf]

A forest of trees with fan-out 4 (5,461 units a tree, as in viewer_bench.py)
is written as a snapshot; `tracegraph batch B-PRODUCT --collapse none -o x.FMT`
runs on it as a process of its own, under `/usr/bin/time` for its peak RSS.
The same command with `-o x.dot` gives the part that is not the picture
(loading, crawl, graph). It prints figures and asserts nothing.
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


if __name__ == "__main__":
    main()
