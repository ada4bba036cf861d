"""The store: sync over a latency-injected loopback API, re-sync, and offline queries.

    .venv/bin/python bench/store_bench.py [--engine sqlite|postgresql|both]
        [--units 100000] [--big 1000000] [--latency 0.02] [--concurrency 16]

Prints, for each engine:
- a sync of ~100k units (97 products of 1,031: 5 boards, 25 modules, 125 stacks,
  875 cells; the cells of each product one batch) through the loopback API at 20 ms:
  requests, seconds, the bound pages / concurrency x RTT, peak memory of the
  `tracegraph sync` process, store size and bytes a unit version;
- a re-sync after 1,000 new and 50 moved units;
- whole-command times (`tracegraph ... --store`, a process each, best of 3) for one
  product's genealogy, one batch's impact (1,000 suspect cells) and the same
  with `--as-of`, on that store and on a store of ~1M units written straight
  into the database (`Store.bulk_load`);
- for comparison, the same two questions answered from a 100k-unit snapshot.
PostgreSQL needs TRACEGRAPH_TEST_POSTGRES (eval "$(scripts/postgres start)").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.crawl_bench import server_process
from tests.builders import Factory
from tracegraph.sources.store import Store, SyncRecord, UnitRow
from tracegraph.syncing import unit_row

KEY = "bench-key"


PER_PRODUCT = 1 + 5 + 25 + 125 + 875  # 1,031 units


def plant(products: int, start: int = 0) -> Factory:
    """`products` products of 1,031 units (5, 5, 5 and 7 children a level, none listing 10,
    so no unit needs its full record to be read whole); the 875 cells of product p
    are batch CELL-p."""
    factory = Factory()
    for p in range(start, start + products):
        top = f"P{p:04}"
        factory.unit(top, "PRODUCT", batch="B-PRODUCT", created_at="2025-01-01T00:00:00Z")
        for a in range(5):
            board = f"{top}.{a}"
            factory.unit(board, "BOARD", parent=top, batch=f"BOARD-{p:04}")
            for b in range(5):
                module = f"{board}.{b}"
                factory.unit(module, "MODULE", parent=board, batch=f"MOD-{p:04}")
                for c in range(5):
                    stack = f"{module}.{c}"
                    factory.unit(stack, "STACK", parent=module, batch=f"STACK-{p:04}")
                    for d in range(7):
                        factory.unit(f"{stack}.{d}", "CELL", parent=stack, batch=f"CELL-{p:04}")
    return factory


def tracegraph(*args: str) -> tuple[float, float, str]:
    """A whole command as a process: seconds, its own peak RSS (MB, GNU time), stdout."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak-kb %M", sys.executable, "-m", "tracegraph", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TOFUPILOT_API_KEY": KEY},
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tracegraph {' '.join(args)} failed: {done.stderr.strip()}")
    peak = int(done.stderr.rsplit("peak-kb ", 1)[1].split()[0]) / 1024
    return elapsed, peak, done.stdout


def bare_pages(url: str, units: int, concurrency: int) -> float:
    """Seconds a bare httpx client takes to read the same pages: what the loopback
    server itself allows, the floor for any sync through it."""
    import asyncio

    import httpx

    async def read() -> float:
        limits = httpx.Limits(max_connections=concurrency)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(headers=headers, limits=limits) as client:
            slots = asyncio.Semaphore(concurrency)

            async def page(offset: int) -> None:
                async with slots:
                    params = {"limit": 100, "cursor": offset, "sort_by": "created_at",
                              "sort_order": "asc"}  # fmt: skip
                    (await client.get(url + "/v2/units", params=params)).json()

            started = time.perf_counter()
            await asyncio.gather(*(page(o) for o in range(0, units + 100, 100)))
            return time.perf_counter() - started

    return asyncio.run(read())


def best(*args: str, runs: int = 3) -> float:
    return min(tracegraph(*args)[0] for _ in range(runs))


@contextmanager
def new_store(engine: str, folder: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield str(folder / f"{uuid.uuid4().hex[:8]}.db")
        return
    import psycopg

    admin = os.environ["TRACEGRAPH_TEST_POSTGRES"]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def queries(store: str, label: str, as_of: str) -> None:
    product = best("unit", "P0001", "--store", store, "-f", "json", "-o", os.devnull, "-q")
    recall = best(
        "impact", "CELL-0001", "--store", store, "-f", "impact-json", "-o", os.devnull, "-q"
    )
    recall_then = best("impact", "CELL-0001", "--store", store, "--as-of", as_of, "-f",
                       "impact-json", "-o", os.devnull, "-q")  # fmt: skip
    product_then = best("unit", "P0001", "--store", store, "--as-of", as_of, "-f", "json", "-o",
                        os.devnull, "-q")  # fmt: skip
    print(
        f"  {label}: one product {product:.2f} s (as-of {product_then:.2f} s); "
        f"one batch's impact {recall:.2f} s (as-of {recall_then:.2f} s)"
    )


def rows_of(factory: Factory) -> Iterator[tuple[str, UnitRow]]:
    index = factory.children_index()
    for serial in factory.specs:
        body = factory.body(serial, index)
        yield serial, unit_row({**body, "last_run": None})


def bulk_store(store: str, products: int) -> int:
    """A store of `products` products written straight into the database, as one sync."""
    opened = Store.open(store, create=True)
    count = 0
    with opened:
        for start in range(0, products, 100):
            chunk = plant(min(100, products - start), start)
            rows = list(rows_of(chunk))
            links = [(s, spec.parent) for s, spec in chunk.specs.items() if spec.parent]
            count += len(rows)
            sync = SyncRecord(
                start // 100 + 1, "2026-01-01T00:00:00Z", f"2026-01-01T00:00:{start // 100:02d}Z",
                "http://bench/api", "{}", len(rows), len(rows), 0, 0, len(links), 0, 0.0,
            )  # fmt: skip
            opened.bulk_load(sync, rows, links)
    return count


def engine_figures(engine: str, args: argparse.Namespace, folder: Path) -> None:
    print(f"{engine}:")
    products = max(1, args.units // PER_PRODUCT)
    factory = plant(products)
    snapshot = factory.snapshot()
    with new_store(engine, folder) as store, server_process(snapshot, args.latency) as url:
        seconds, peak, out = tracegraph(
            "sync", "--store", store, "--api-url", url, "--concurrency", str(args.concurrency), "-q"
        )
        units = len(snapshot["units"])
        requests = int(out.split(" requests")[0].rsplit("; ", 1)[1])
        bound = units / 100 / args.concurrency * args.latency
        bare = bare_pages(url, units, args.concurrency)
        size = Store.open(store, create=False).size_bytes()
        print(
            f"  sync {units:,} units: {requests:,} requests, {seconds:.2f} s (bound "
            f"{bound:.2f} s, ratio {seconds / bound:.2f}; a bare client reads the same pages "
            f"from this server in {bare:.2f} s), peak {peak:.0f} MB, store "
            f"{size / 2**20:.1f} MB = {size / units:.0f} bytes a unit version"
        )
        first_sync = json.loads(
            tracegraph("unit", "P0000", "--store", store, "-f", "json", "-o", "-", "-q")[2]
        )["graph"]["store_sync"].split(" of ")[1]
        queries(store, f"{units:,}-unit store", first_sync)
    # The re-sync: 1,000 new units (a product less 31) and 50 moved stacks.
    grown = plant(products)
    extra = plant(1, products)
    for serial in list(extra.specs)[:1000]:
        grown.specs[serial] = extra.specs[serial]
    for m in range(50):
        grown.specs[f"P0000.{m % 5}.{m // 10 % 5}.{m % 5}"].parent = f"P0002.{m % 5}.{m // 25}"
    with new_store(engine, folder) as store:
        with server_process(snapshot, args.latency) as url:
            tracegraph("sync", "--store", store, "--api-url", url, "-q")
        with server_process(grown.snapshot(), args.latency) as url:
            seconds, peak, out = tracegraph("sync", "--store", store, "--api-url", url, "-q")
        print(f"  re-sync after 1,000 new and 50 moved: {out.strip()}; peak {peak:.0f} MB")
    if args.big:
        with new_store(engine, folder) as store:
            started = time.perf_counter()
            count = bulk_store(store, max(1, args.big // PER_PRODUCT))
            size = Store.open(store, create=False).size_bytes()
            print(
                f"  {count:,}-unit store written in {time.perf_counter() - started:.1f} s, "
                f"{size / 2**20:.0f} MB"
            )
            queries(store, f"{count:,}-unit store", "2026-01-01T00:00:00Z")


def snapshot_figures(units: int, folder: Path) -> None:
    path = folder / "snapshot.json"
    path.write_text(json.dumps(plant(max(1, units // PER_PRODUCT)).snapshot()), encoding="utf-8")
    product, peak, _ = tracegraph("unit", "P0001", "--source", str(path), "-f", "json", "-o",
                                  os.devnull, "-q")  # fmt: skip
    recall, _, _ = tracegraph("impact", "CELL-0001", "--source", str(path), "-f", "impact-json",
                              "-o", os.devnull, "-q")  # fmt: skip
    print(
        f"snapshot of {units:,} units ({path.stat().st_size / 2**20:.0f} MB): one product "
        f"{product:.2f} s ({peak:.0f} MB), one batch's impact {recall:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0: no big store")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for engine in engines:
            if engine == "postgresql" and not os.environ.get("TRACEGRAPH_TEST_POSTGRES"):
                print('postgresql: skipped (eval "$(scripts/postgres start)" first)')
                continue
            engine_figures(engine, args, folder)
        snapshot_figures(args.units, folder)


if __name__ == "__main__":
    main()
