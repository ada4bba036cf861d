"""Crawl speed against a loopback API with injected latency.

    .venv/bin/python bench/crawl_bench.py [--latency 0.05] [--concurrency 16]

Prints, per genealogy shape: units, requests, wall time, the latency bound
max(ceil(N / C), levels) x RTT that a perfect crawler would reach, their ratio,
and the client's CPU time (httpx costs about 2-3 ms of CPU a request here, so at
low latency the crawl is CPU-bound). The server runs in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import snapshot_of
from tests.tofupilot_server import TofuPilotServer
from tracegraph import ApiSource, crawl_genealogy

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


async def crawl_once(url: str, seed: str, concurrency: int) -> tuple[int, int, float, float]:
    async with ApiSource(url, "bench-key", concurrency=concurrency) as source:
        started, cpu = time.perf_counter(), time.process_time()
        genealogy = await crawl_genealogy(source, [seed], concurrency=concurrency)
        elapsed = time.perf_counter() - started
        return len(genealogy.units), source.requests_sent, elapsed, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request (> 0)")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
    header = ("fan-out", "units", "requests", "seconds", "bound s", "ratio", "CPU s")
    print("{:<16}{:>7}{:>10}{:>9}{:>9}{:>7}{:>7}".format(*header))
    for fan_out in SHAPES:
        snapshot = snapshot_of(1, fan_out)
        with server_process(snapshot, args.latency) as url:
            units, requests, elapsed, cpu = asyncio.run(crawl_once(url, "P0000", args.concurrency))
        name = "x".join(map(str, fan_out))
        levels = len(fan_out) + 1
        bound = max(math.ceil(units / args.concurrency), levels) * args.latency
        row = (name, units, requests, elapsed, bound, elapsed / bound, cpu)
        print("{:<16}{:>7}{:>10}{:>9.2f}{:>9.2f}{:>7.2f}{:>7.2f}".format(*row))


if __name__ == "__main__":
    main()
