"""Recall trace: bulk walk up (`walk_up`) against one request per unit, over loopback.

    .venv/bin/python bench/impact_bench.py [--latency 0.05] [--concurrency 16]

A suspect batch of capacitors spread over products (product > board > 4
capacitors); prints requests and seconds for both ways of walking up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.crawl_bench import server_process
from tests.builders import Factory
from tracegraph import ApiSource
from tracegraph.crawl import Genealogy, Scope, crawl_genealogy


def recall_snapshot(products: int) -> tuple[dict[str, Any], list[str]]:
    factory = Factory()
    suspects = []
    for p in range(products):
        factory.unit(f"P{p:04}", "PRODUCT")
        factory.unit(f"B{p:04}", "BOARD", parent=f"P{p:04}")
        for c in range(4):
            serial = f"C{p:04}-{c}"
            factory.unit(serial, "CAP", parent=f"B{p:04}", batch="SUSPECT")
            suspects.append(serial)
    return factory.snapshot(), suspects


async def walk(
    url: str, suspects: list[str], bulk: bool, concurrency: int
) -> tuple[int, int, float]:
    async with ApiSource(url, "bench-key", concurrency=concurrency) as source:
        started = time.perf_counter()
        genealogy: Genealogy = await crawl_genealogy(
            source, suspects, scope=Scope.UP, concurrency=concurrency, bulk=bulk
        )
        return len(genealogy.units), source.requests_sent, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
    print("{:>9}{:>7}  {:<12}{:>9}{:>9}".format("suspects", "units", "walk", "requests", "seconds"))
    for products in (25, 250):
        snapshot, suspects = recall_snapshot(products)
        with server_process(snapshot, args.latency) as url:
            for bulk in (False, True):
                units, requests, seconds = asyncio.run(walk(url, suspects, bulk, args.concurrency))
                name = "bulk" if bulk else "one by one"
                print(f"{len(suspects):>9}{units:>7}  {name:<12}{requests:>9}{seconds:>9.2f}")


if __name__ == "__main__":
    main()
