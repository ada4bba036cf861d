"""Crawl speed against a loopback API with injected latency: in pages and one unit at a time.

    .venv/bin/python bench/crawl_bench.py [--latency 0.05] [--concurrency 16]

Prints, for each genealogy, units, requests, wall time and the client's CPU
time, crawled in pages of the list endpoint (the default) and one unit at a
time (`bulk=False`, the crawl before issue 16): a 10,000-unit tree (fan-out 4)
from its top, 30 typed cells up to their bikes, and the inverter batch of the
sample plant (`samples/generate_factory.py --inverters`), then the latency
bound of the fan-out trees. The server runs in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))

from bench.synthetic import snapshot_of
from tests.builders import Factory, bike_factory
from tests.tofupilot_server import TofuPilotServer
from tracegraph import ApiSource, crawl_genealogy
from tracegraph.crawl import Scope, resolve_batches
from tracegraph.source import BatchFilters

SHAPES = [(2, 2, 2, 2), (4, 4, 4, 4), (2, 3, 4, 5, 2), (6, 6, 6, 6)]


def _serve(snapshot: dict[str, Any], latency: float, urls: Any, stop: Any) -> None:
    with TofuPilotServer(snapshot, api_key="bench-key", latency=latency) as server:
        urls.put(server.url)
        stop.wait()


@contextmanager
def server_process(snapshot: dict[str, Any], latency: float) -> Iterator[str]:
    """The loopback API in its own process, so that it does not share the client's GIL."""
    urls: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(snapshot, latency, urls, stop))
    process.start()
    try:
        yield urls.get(timeout=30)
    finally:
        stop.set()
        process.join(10)


def tree_of(units: int, fan_out: int = 4) -> dict[str, Any]:
    """One tree of exactly `units` units, filled level by level, `fan_out` children each."""
    factory = Factory()
    for i in range(units):
        parent = f"T000-{(i - 1) // fan_out:04}" if i else None
        factory.unit(f"T000-{i:04}", f"PART-{min(i, 9)}", parent=parent, batch="B-1")
    return factory.snapshot()


async def crawl_once(
    url: str,
    seeds: Sequence[str],
    concurrency: int,
    *,
    batch: str | None = None,
    scope: Scope = Scope.TREE,
    bulk: bool = True,
) -> tuple[int, int, float, float]:
    async with ApiSource(url, "bench-key", concurrency=concurrency) as source:
        started, cpu = time.perf_counter(), time.process_time()
        optional: tuple[str, ...] = ()
        if batch is not None:
            found = await resolve_batches(source, [batch], BatchFilters())
            optional = found.serials
        genealogy = await crawl_genealogy(
            source, seeds, optional_seeds=optional, scope=scope, concurrency=concurrency, bulk=bulk
        )
        elapsed = time.perf_counter() - started
        return len(genealogy.units), source.requests_sent, elapsed, time.process_time() - cpu


def inverter_plant() -> dict[str, Any]:
    import json
    import tempfile

    import generate_factory

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inverters.json"
        generate_factory.main([str(path), "--inverters"])
        snapshot: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request (> 0)")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
    bikes = bike_factory().snapshot()
    cells = sorted(u["serial_number"] for u in bikes["batches"]["CELL-2407"]["units"])
    cases: list[tuple[str, dict[str, Any], list[str], dict[str, Any]]] = [
        ("10k tree, unit T000-0000", tree_of(10_000), ["T000-0000"], {}),
        ("30 typed cells --scope up", bikes, cells, {"scope": Scope.UP}),
        ("batch INV-2410", inverter_plant(), [], {"batch": "INV-2410"}),
    ]
    header = ("genealogy", "crawl", "units", "requests", "seconds", "CPU s")
    print("{:<28}{:<14}{:>7}{:>10}{:>9}{:>7}".format(*header))
    for name, snapshot, seeds, options in cases:
        with server_process(snapshot, args.latency) as url:
            for way, bulk in (("in pages", True), ("unit by unit", False)):
                units, requests, elapsed, cpu = asyncio.run(
                    crawl_once(url, seeds, args.concurrency, bulk=bulk, **options)
                )
                row = (name, way, units, requests, elapsed, cpu)
                print("{:<28}{:<14}{:>7}{:>10}{:>9.2f}{:>7.2f}".format(*row))
    print()
    header2 = ("fan-out", "units", "requests", "seconds", "bound s", "ratio", "CPU s")
    print("{:<16}{:>7}{:>10}{:>9}{:>9}{:>7}{:>7}".format(*header2))
    for fan_out in SHAPES:
        snapshot = snapshot_of(1, fan_out)
        with server_process(snapshot, args.latency) as url:
            units, requests, elapsed, cpu = asyncio.run(
                crawl_once(url, ["P0000"], args.concurrency)
            )
        name = "x".join(map(str, fan_out))
        levels = len(fan_out) + 1
        bound = levels * args.latency  # a level a round trip, in pages
        row2 = (name, units, requests, elapsed, bound, elapsed / bound, cpu)
        print("{:<16}{:>7}{:>10}{:>9.2f}{:>9.2f}{:>7.2f}{:>7.2f}".format(*row2))


if __name__ == "__main__":
    main()
