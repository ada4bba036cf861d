"""Export speed and memory for large genealogies.

    .venv/bin/python bench/export_bench.py [--sizes 1000,10000,50000] [--svg-max 1000]

Builds each graph in memory (no files), times `--redact`'s transformation of it
(`redact`), then times every exporter and prints the
peak memory Python allocated while exporting (tracemalloc, measured in a second
run so that it does not slow the timed one).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import snapshot_of
from tracegraph import Redactor, SnapshotSource, build_graph, crawl_genealogy, export


def graph_of(units: int) -> nx.DiGraph:
    """A forest of products (1 + 5 + 25 + 125 units each), crawled from an in-memory snapshot."""
    snapshot = snapshot_of(max(1, units // 156), (5, 5, 5))
    started = time.perf_counter()
    source = SnapshotSource(snapshot)
    seeds = [s for s in snapshot["units"] if "." not in s]
    genealogy = asyncio.run(crawl_genealogy(source, seeds, max_units=10**7))
    graph = build_graph(genealogy, seeds_label="bench")
    elapsed = time.perf_counter() - started
    print(f"{graph.number_of_nodes():>7} {'crawl':<8}{elapsed:>9.2f}  (snapshot source + graph)")
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--svg-max", type=int, default=1000, help="largest graph to draw as SVG")
    args = parser.parse_args()
    print(f"{'units':>7} {'format':<8}{'seconds':>9}{'MB out':>9}{'peak MB':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        graph = graph_of(size)
        started = time.perf_counter()
        Redactor(b"bench key of sixteen bytes").redact_graph(graph)
        print(f"{graph.number_of_nodes():>7} {'redact':<8}{time.perf_counter() - started:>9.2f}")
        formats = ["dot", "json", "graphml", "txt", "epcis"]
        if graph.number_of_nodes() <= args.svg_max:
            formats.append("svg")
        for fmt in formats:
            started = time.perf_counter()
            data = export(graph, fmt)
            elapsed = time.perf_counter() - started
            # A second run under tracemalloc, which slows Python down, for the memory peak.
            tracemalloc.start()
            export(graph, fmt)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            print(
                f"{graph.number_of_nodes():>7} {fmt:<8}{elapsed:>9.2f}"
                f"{len(data) / 1e6:>9.2f}{peak:>9.1f}"
            )


if __name__ == "__main__":
    main()
