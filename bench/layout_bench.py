"""Where `--layout auto` switches from Graphviz's `dot` to the tree layout.

    .venv/bin/python bench/layout_bench.py

`dot` lays out each tree of a forest on its own, so what counts is the size
of the biggest tree. For single trees of growing size (a product of 10
sub-assemblies of 10 boards of N parts), and for forests of many small trees,
the SVG is exported in this process with `--collapse none` and `--layout dot`,
then `--layout tree`; each once, after a warm-up. It prints figures and
asserts nothing.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tracegraph
from bench.synthetic import snapshot_of

TREES = [(5, 8, 4), (10, 10, 5), (10, 10, 10), (10, 10, 15), (10, 10, 20), (10, 10, 30)]
FORESTS = [10, 25, 50]  # products of (5, 8, 4): 206 units each


def genealogy(products: int, fan_out: tuple[int, ...]) -> nx.DiGraph:
    source = tracegraph.SnapshotSource(snapshot_of(products, fan_out))
    return tracegraph.trace(batches=["B-PRODUCT"], source=source)


def timed(graph: nx.DiGraph, layout: str) -> float:
    started = time.perf_counter()
    tracegraph.export(graph, "svg", collapse="none", layout=layout)
    return time.perf_counter() - started


def row(what: str, graph: nx.DiGraph) -> None:
    dot, tree = timed(graph, "dot"), timed(graph, "tree")
    print(f"{what:<22}{graph.number_of_nodes():>7}{dot:>8.2f} s{tree:>8.2f} s", flush=True)


def main() -> None:
    print(f"{platform.node()}: {platform.machine()}, Python {platform.python_version()}")
    timed(genealogy(1, (3, 3)), "dot")
    print(f"{'':<22}{'boxes':>7}{'dot':>10}{'tree':>10}")
    for fan_out in TREES:
        row(f"one tree {fan_out}", genealogy(1, fan_out))
    for products in FORESTS:
        row(f"{products} trees (5, 8, 4)", genealogy(products, (5, 8, 4)))


if __name__ == "__main__":
    main()
