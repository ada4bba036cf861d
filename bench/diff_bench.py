"""`tracegraph diff` on two big snapshots: the whole of each side compared.

    .venv/bin/python bench/diff_bench.py [--units 100000]

OLD is a forest of trees of 11,111 units (10 children a unit, four levels)
plus 50 spare level-1 units; NEW is OLD after a day of changes: 50 rework
swaps (a spare takes a level-1 unit's place), 100 level-3 units moved to
another level-2 parent, 100 leaves scrapped, 100 new leaves fitted, 200
leaves moved to another batch. The command runs as a process (wall time,
peak RSS), once for the JSON report and once for JSON, CSV and XLSX; then
its stages run in this process. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.big_bench import TRACEGRAPH, peak_mb, timed_process
from bench.synthetic import product_forest
from tests.builders import Factory

SWAPS, MOVES, SCRAPPED, FITTED, REBATCHED = 50, 100, 100, 100, 200


def sides(trees: int) -> tuple[Factory, dict[str, object], dict[str, object]]:
    factory = product_forest(trees, (10, 10, 10, 10))
    for n in range(SWAPS):
        factory.unit(f"SPARE-{n:03}", "PART-L1", batch="B-SPARE")
    old = factory.snapshot()
    level = {d: sorted(s for s, spec in factory.specs.items() if spec.part == f"PART-L{d}")
             for d in (1, 2, 3, 4)}  # fmt: skip
    ones = [s for s in level[1] if not s.startswith("SPARE")]
    for n in range(min(SWAPS, len(ones))):
        gone, spare = ones[n], f"SPARE-{n:03}"
        factory.specs[spare].parent = factory.specs[gone].parent
        factory.specs[gone].parent = None
    twos = level[2]
    for n, serial in enumerate(level[3][7 : 7 + 97 * MOVES : 97]):
        factory.specs[serial].parent = twos[(n * 31 + 5) % len(twos)]
    leaves = level[4]
    for serial in leaves[3 : 3 + 89 * SCRAPPED : 89]:
        del factory.specs[serial]
    for n in range(FITTED):
        factory.unit(f"NEW-{n:03}", "PART-L4", parent=level[3][n * 11], batch="B-L4")
    for serial in leaves[5 : 5 + 41 * REBATCHED : 41]:
        if serial in factory.specs:
            factory.specs[serial].batch = "B-L4-REWORK"
    new = factory.snapshot()
    new["captured_at"] = "2026-11-21T09:00:00Z"
    return factory, old, new


def stages(old: Path, new: Path) -> None:
    """The diff's stages in this process: seconds and the peak RSS reached."""
    import asyncio

    from tracegraph.comparing import Question, diff_sources
    from tracegraph.export import diff_csv, diff_json, diff_xlsx
    from tracegraph.genealogy import Scope
    from tracegraph.sources.snapshot import SnapshotSource

    def report(stage: str, started: float) -> float:
        now = time.perf_counter()
        print(f"  {stage:<22}{now - started:>8.2f} s{peak_mb():>9.0f} MB peak")
        return now

    started = time.perf_counter()
    sources = SnapshotSource.from_file(old), SnapshotSource.from_file(new)
    started = report("load both", started)
    question = Question((), (), Scope.TREE, None, 10**7, 16, None)
    found = asyncio.run(diff_sources(*sources, question, names=(str(old), str(new))))
    started = report("crawl both, compare", started)
    print(f"  ({', '.join(f'{n} {kind}' for kind, n in found.counts.items())})")
    for name, exporter in (("json", diff_json), ("csv", diff_csv), ("xlsx", diff_xlsx)):
        exporter(found)
        started = report(name, started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--stages", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages:
        stages(*args.stages)
        return
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        _, old, new = sides(max(1, round(args.units / 11_111)))
        (work / "old.json").write_text(json.dumps(old))
        (work / "new.json").write_text(json.dumps(new))
        print(f"\nOLD {len(old['units'])} units, NEW {len(new['units'])} units")  # type: ignore[arg-type]
        base = [*TRACEGRAPH, "diff", str(work / "old.json"), str(work / "new.json"), "-q",
                "--max-units", "10000000"]  # fmt: skip
        seconds, peak = timed_process([*base, "-o", str(work / "d.json")])
        print(f"  tracegraph diff OLD NEW -o d.json: {seconds:.2f} s, {peak:.0f} MB peak")
        outputs = [a for f in ("json", "csv", "xlsx") for a in ("-o", str(work / f"e.{f}"))]
        seconds, peak = timed_process([*base, *outputs])
        print(f"  ... -o d.json -o d.csv -o d.xlsx: {seconds:.2f} s, {peak:.0f} MB peak")
        print("  by stage, in one process:")
        import subprocess

        subprocess.run(
            [sys.executable, __file__, "--stages", str(work / "old.json"), str(work / "new.json")],
            check=True,
        )


if __name__ == "__main__":
    main()
