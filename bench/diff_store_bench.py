"""`tracegraph diff --store --since` on a big store: the store between two syncs compared.

    .venv/bin/python bench/diff_store_bench.py [--engine sqlite|postgresql|both]
        [--units 1000000] [--whole]

The store holds ~1M units (the products of bench/store_bench.py, 1,031 units
each) written straight into the database (`Store.bulk_load`); then one small
sync (`Store.record_sync`) changes three products: 50 rework swaps (a cell of
P0001 scrapped, a new cell in its place), 100 cells of P0001 to another batch,
50 stacks moved from P0002 to P0003, 50 new cells in P0003. The commands run
as processes (wall time best of 3, peak RSS of the last): one product's
diff, three products', one batch's, and with --whole the whole store.
PostgreSQL needs TRACEGRAPH_TEST_POSTGRES (eval "$(scripts/postgres start)").
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store_bench import PER_PRODUCT, bulk_store, new_store, plant, rows_of, tracegraph
from tracegraph.sources.store import UNIT_FIELDS, Observation, Store

SWAPS, REBATCHED, MOVED, FITTED = 50, 100, 50, 50
SINCE = "2026-01-01T12:00:00Z"  # after the bulk load's syncs, before the small one


def second_sync(store: str) -> str:
    """The small sync: what changed in P0001 to P0003, written as one sync."""
    factory = plant(3, 1)
    cells = sorted(s for s, spec in factory.specs.items() if s.startswith("P0001.")
                   and spec.part == "CELL")  # fmt: skip
    gone = cells[:SWAPS]
    changed: set[str] = set()
    for n, serial in enumerate(gone):
        factory.unit(f"NEW-{n:03}", "CELL", parent=factory.specs[serial].parent, batch="CELL-NEW")
        changed.add(f"NEW-{n:03}")
        del factory.specs[serial]
    for serial in cells[SWAPS : SWAPS + REBATCHED]:
        factory.specs[serial].batch = "CELL-REWORK"
        changed.add(serial)
    stacks = sorted(s for s, spec in factory.specs.items() if s.startswith("P0002.")
                    and spec.part == "STACK")  # fmt: skip
    for n, serial in enumerate(stacks[:MOVED]):
        factory.specs[serial].parent = f"P0003.{n % 5}.{n // 5 % 5}"
        changed.add(serial)
    for n in range(FITTED):
        serial = f"FIT-{n:03}"
        factory.unit(serial, "CELL", parent=f"P0003.{n % 5}.0.0", batch="CELL-0003")
        changed.add(serial)
    rows = dict(row for row in rows_of(factory) if row[0] in changed)
    parents = {s: factory.specs[s].parent or "" for s in changed}
    ids = {f"unit-{s}" for s in gone}
    observation = Observation(
        units=rows,
        parents={s: p for s, p in parents.items() if p},
        covers=lambda fields: fields["unit_id"] in ids,  # only the scrapped cells are gone
    )
    with Store.open(store, create=False) as opened:
        started = time.perf_counter()
        record, found = opened.record_sync(
            observation, started_at="2026-01-02T00:00:00Z", finished_at="2026-01-02T00:00:05Z",
            source="http://bench/api", filters="{}", requests=0, seconds=0.0,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    kinds = [c.kind for c in found]
    print(
        f"  small sync {record.id} written in {seconds:.1f} s: "
        + ", ".join(f"{kinds.count(k)} {k}" for k in ("added", "changed", "gone", "linked"))
    )
    return record.finished_at


def timed(label: str, store: str, *asked: str, runs: int = 3) -> dict[str, object]:
    """One diff as a process, best of `runs`: prints seconds, peak and the counts."""
    times = []
    for _ in range(runs):
        seconds, peak, out = tracegraph("diff", "--store", store, "--since", SINCE, *asked,
                                        "-f", "json", "-o", "-", "-q")  # fmt: skip
        times.append(seconds)
    data: dict[str, object] = json.loads(out)
    counts = " · ".join(
        f"{len(data[k])} {k}"  # type: ignore[arg-type]
        for k in ("added", "removed", "moved", "replaced", "changed")
    )
    compared = (data["to"], data["from"])
    units = max(int(side["units"]) for side in compared)  # type: ignore[index]
    print(f"  {label}: {min(times):.2f} s, peak {peak:.0f} MB ({units:,} units a side; {counts})")
    return data


def engine_figures(engine: str, args: argparse.Namespace, folder: Path) -> None:
    print(f"{engine}:")
    with new_store(engine, folder) as store:
        started = time.perf_counter()
        count = bulk_store(store, max(1, args.units // PER_PRODUCT))
        print(f"  {count:,}-unit store written in {time.perf_counter() - started:.1f} s")
        second_sync(store)
        timed("one product (P0001)", store, "P0001")
        timed("three products (P0001-P0003)", store, "P0001", "P0002", "P0003")
        timed("one batch's genealogies (CELL-0001)", store, "--batch", "CELL-0001")
        if args.whole:
            timed(f"the whole store ({count:,} units)", store, "--max-units", "10000000", runs=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--whole", action="store_true", help="also diff the whole store")
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    assert UNIT_FIELDS[0] == "unit_id"
    with tempfile.TemporaryDirectory() as name:
        for engine in engines:
            if engine == "postgresql" and not os.environ.get("TRACEGRAPH_TEST_POSTGRES"):
                print('postgresql: skipped (eval "$(scripts/postgres start)" first)')
                continue
            engine_figures(engine, args, Path(name))


if __name__ == "__main__":
    main()
