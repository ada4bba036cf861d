"""Where `--layout auto` switches from Graphviz's `dot` to the tree layout.

    .venv/bin/python bench/layout_bench.py [--sizes 250,500,1000,1500,2000,3000]

For genealogies of growing size (products of 5 sub-assemblies of 8 parts of 4,
roughly a factory's shape), the SVG is exported in this process with
`--collapse none` and `--layout dot`, then `--layout tree`; each is timed
once after a warm-up. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tracegraph
from bench.synthetic import snapshot_of
from tracegraph.export import export

FAN_OUT = (5, 8, 4)  # 1 + 5 + 40 + 160 = 206 units a product


def graph_of(units: int) -> object:
    products = max(1, round(units / 206))
    source = tracegraph.SnapshotSource(snapshot_of(products, FAN_OUT))
    return tracegraph.trace(batches=["B-PRODUCT"], source=source)


def timed(graph: object, layout: str) -> float:
    started = time.perf_counter()
    export(graph, "svg", collapse="none", layout=layout)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="250,500,1000,1500,2000,3000")
    args = parser.parse_args()
    print(f"{platform.node()}: {platform.machine()}, Python {platform.python_version()}")
    timed(graph_of(50), "dot")
    print(f"{'units':>7}{'dot':>9}{'tree':>9}")
    for units in (int(size) for size in args.sizes.split(",")):
        graph = graph_of(units)
        nodes = graph.number_of_nodes()  # type: ignore[attr-defined]
        print(f"{nodes:>7}{timed(graph, 'dot'):>8.2f}s{timed(graph, 'tree'):>8.2f}s", flush=True)


if __name__ == "__main__":
    main()
