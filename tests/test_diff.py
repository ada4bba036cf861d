"""tracegraph diff: before and after crawled through the loopback server, changes known by hand.

The factory (three e-bikes, a spare battery pack) changes between two crawls:
- rework swap: PACK-1 comes out of BIKE-1 (returned, loose), the spare PACK-S goes in;
- a unit moved to another product: MOD-21 from PACK-2 (BIKE-2) to PACK-3 (BIKE-3);
- a unit removed (CELL-315 scrapped) and one added (CELL-326 into MOD-32);
- a batch and a revision changed: CELL-211 to batch CELL-2408, MOD-22 to revision B.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tracegraph
from tests import clients
from tests.builders import Factory, bike_factory
from tests.conftest import API_KEY, needs_graphviz
from tests.running import one_error_line, read_terminal
from tests.running import tracegraph as run
from tests.tofupilot_server import TofuPilotServer
from tracegraph.diff import Changed, Side, compare
from tracegraph.export import diff_csv, diff_json, diff_summary
from tracegraph.graph import build_graph

# What changed, written by hand from the story above (whole of both sides).
EXPECTED = {
    "added": [{"serial": "CELL-326", "parent": "MOD-32"}],
    "removed": [{"serial": "CELL-315", "parent": "MOD-31"}],
    "moved": [{"serial": "MOD-21", "from_parent": "PACK-2", "to_parent": "PACK-3"}],
    "replaced": [
        {"parent": "BIKE-1", "part_number": "PACK", "removed": "PACK-1", "added": "PACK-S"}
    ],
    "changed": [
        {"serial": "CELL-211", "field": "batch", "old": "CELL-2407", "new": "CELL-2408"},
        {"serial": "MOD-22", "field": "revision", "old": "A", "new": "B"},
    ],
}
SUMMARY = """\
1 added · 1 removed · 1 moved · 1 replaced · 2 changed

+ CELL-326  added under MOD-32
\u2212 CELL-315  removed from MOD-31
~ MOD-21    moved from PACK-2 to PACK-3
⇄ PACK-1    replaced by PACK-S under BIKE-1 (part PACK)
! CELL-211  batch CELL-2407 → CELL-2408
! MOD-22    revision A → B
"""


def before() -> Factory:
    factory = bike_factory(3)
    factory.unit("PACK-S", "PACK", batch="PACK-24", name="Battery pack")
    return factory


def after() -> Factory:
    factory = before()
    factory.specs["PACK-1"].parent = None  # out of BIKE-1 for rework
    factory.specs["PACK-S"].parent = "BIKE-1"  # the spare goes in
    factory.specs["MOD-21"].parent = "PACK-3"
    del factory.specs["CELL-315"]
    factory.unit("CELL-326", "CELL", parent="MOD-32", batch="CELL-2407", name="Cell")
    factory.specs["CELL-211"].batch = "CELL-2408"
    factory.specs["MOD-22"].revision = "B"
    return factory


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """old.json and new.json: the same crawl through the same server, before and after."""
    folder = tmp_path_factory.mktemp("diff")
    with TofuPilotServer(before().snapshot(), api_key=API_KEY) as server:
        for name, data in (("old", before()), ("new", after())):
            server.replace_data(data.snapshot())
            done = run(
                "batch", "BIKE-24", "PACK-24", "--save-snapshot", str(folder / f"{name}.json"),
                "-o", str(folder / f"{name}.txt"), server=server,
            )  # fmt: skip
            assert done.code == 0, done.err
    yield folder


def in_folder(crawled: Path, *args: str) -> Any:
    return run(*(a.replace("@", str(crawled) + "/") for a in args))


def test_the_whole_of_two_snapshots_lists_every_kind_of_change(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "-o", "@whole.json")
    assert done.code == 0, done.err
    data = json.loads((crawled / "whole.json").read_text())
    assert {k: data[k] for k in EXPECTED} == EXPECTED
    assert list(data) == ["format", "version", "from", "to", *EXPECTED]
    assert data["format"] == "tracegraph-diff" and data["version"] == 1
    assert data["from"]["name"].endswith("old.json") and data["to"]["name"].endswith("new.json")
    assert data["from"]["source"] == data["to"]["source"].rstrip("/") != ""
    assert data["from"]["captured_at"] and data["to"]["captured_at"]
    assert done.out.endswith(SUMMARY)  # the summary goes to stdout all the same
    assert "Changes from " in done.out and "every unit of both sides" in done.out


def test_a_rework_swap_is_one_replacement_not_two_moves(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "BIKE-1", "-o", "@bike1.json")
    data = json.loads((crawled / "bike1.json").read_text())
    assert data["replaced"] == EXPECTED["replaced"]
    assert data["moved"] == data["added"] == data["removed"] == data["changed"] == []
    assert data["from"]["asked"] == "unit BIKE-1" and data["from"]["units"] == 14
    assert data["to"]["units"] == 2  # BIKE-1 and the spare it holds now
    assert "⇄ PACK-1  replaced by PACK-S under BIKE-1 (part PACK)" in done.out


def test_a_unit_moved_to_another_product_is_seen_from_the_product_it_left(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "BIKE-2", "-o", "@bike2.json")
    data = json.loads((crawled / "bike2.json").read_text())
    assert data["moved"] == EXPECTED["moved"]  # not removed: it is in BIKE-3 now
    assert data["changed"] == EXPECTED["changed"]
    assert data["added"] == data["removed"] == data["replaced"] == []
    assert done.code == 0


def test_scope_and_depth_bound_what_is_compared(crawled: Path) -> None:
    # Down from PACK-2 one level: its modules only; MOD-21 left it, MOD-22 changed revision.
    in_folder(crawled, "diff", "@old.json", "@new.json", "PACK-2", "--scope", "down",
              "--depth", "1", "-o", "@pack2.json")  # fmt: skip
    data = json.loads((crawled / "pack2.json").read_text())
    assert data["moved"] == EXPECTED["moved"]
    assert data["changed"] == [EXPECTED["changed"][1]]
    assert data["from"]["scope"] == "down" and data["from"]["depth"] == 1


def test_a_batch_compares_the_genealogies_of_its_units(crawled: Path) -> None:
    in_folder(crawled, "diff", "@old.json", "@new.json", "--batch", "PACK-24", "-o", "@b.json")
    data = json.loads((crawled / "b.json").read_text())
    assert {k: data[k] for k in EXPECTED} == EXPECTED
    assert data["to"]["asked"] == "batch PACK-24"


def test_no_change_is_said_and_exits_0_even_with_fail_if_changed(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@old.json", "--fail-if-changed")
    assert done.code == 0 and "No changes." in done.out


def test_fail_if_changed_exits_3_when_anything_changed(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "BIKE-3", "--fail-if-changed")
    assert done.code == 3
    assert "+ CELL-326  added under MOD-32" in done.out


def test_csv_has_a_row_per_change_after_both_sides(crawled: Path) -> None:
    in_folder(crawled, "diff", "@old.json", "@new.json", "-o", "@whole.csv")
    text = (crawled / "whole.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["kind"] for r in rows] == ["from", "to", "added", "removed", "moved", "replaced",
                                         "changed", "changed"]  # fmt: skip
    assert rows[0]["note"].startswith("snapshot ") and "old.json" in rows[0]["note"]
    assert (rows[2]["serial"], rows[2]["parent"]) == ("CELL-326", "MOD-32")
    assert (rows[4]["from_parent"], rows[4]["to_parent"]) == ("PACK-2", "PACK-3")
    assert (rows[5]["removed"], rows[5]["added"], rows[5]["parent"]) == ("PACK-1", "PACK-S",
                                                                         "BIKE-1")  # fmt: skip
    assert (rows[6]["field"], rows[6]["old"], rows[6]["new"]) == ("batch", "CELL-2407", "CELL-2408")


def test_xlsx_has_a_summary_and_a_sheet_per_kind_in_openpyxl(crawled: Path) -> None:
    openpyxl = clients.module("openpyxl", "pip install openpyxl")
    in_folder(crawled, "diff", "@old.json", "@new.json", "-o", "@whole.xlsx")
    book = openpyxl.load_workbook(crawled / "whole.xlsx")
    assert book.sheetnames == ["summary", "added", "removed", "moved", "replaced", "changed"]

    def rows(name: str) -> list[list[object]]:
        return [list(r) for r in book[name].iter_rows(values_only=True)]

    summary = rows("summary")
    counts = [["added", 1], ["removed", 1], ["moved", 1], ["replaced", 1], ["changed", 2]]
    assert [r[:2] for r in summary[:6]] == [["kind", "count"], *counts]
    facts = {r[3]: r[4] for r in summary if r[3]}
    assert "old.json" in str(facts["from"]) and "new.json" in str(facts["to"])
    assert facts["units compared"] == 44
    for kind, expected in EXPECTED.items():
        header, *body = rows(kind)
        assert [dict(zip(header, r, strict=True)) for r in body] == expected


def test_every_output_is_the_same_bytes_twice(crawled: Path) -> None:
    made: list[dict[str, bytes]] = []
    for turn in (1, 2):
        outputs = [f"@same{turn}.{ext}" for ext in ("json", "csv", "xlsx", "txt", "dot")]
        args = [a for path in outputs for a in ("-o", path)]
        assert in_folder(crawled, "diff", "@old.json", "@new.json", *args).code == 0
        made.append({ext: (crawled / f"same{turn}.{ext}").read_bytes() for ext in
                     ("json", "csv", "xlsx", "txt", "dot")})  # fmt: skip
    assert made[0] == made[1]
    assert made[0]["txt"].decode().endswith(SUMMARY)


def test_two_api_urls_are_a_warning_and_the_diff_is_made(crawled: Path, tmp_path: Path) -> None:
    other = json.loads((crawled / "new.json").read_text())
    other["source"] = "https://other.example/api"
    (tmp_path / "other.json").write_text(json.dumps(other))
    done = run("diff", str(crawled / "old.json"), str(tmp_path / "other.json"), "BIKE-1")
    assert done.code == 0
    assert "Warning: the two sides come from different API URLs" in done.err
    assert "https://other.example/api" in done.err and "replaced by PACK-S" in done.out


def test_a_serial_in_neither_side_is_an_error_and_writes_nothing(crawled: Path) -> None:
    kept = crawled / "kept.json"
    kept.write_text("before")
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "NOPE-1", "-o", "@kept.json")
    assert "unit 'NOPE-1' is in neither" in one_error_line(done)
    assert kept.read_text() == "before"


def test_a_serial_on_one_side_only_is_added_or_removed(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "CELL-326", "-o", "@one.json")
    data = json.loads((crawled / "one.json").read_text())
    assert data["added"] == [{"serial": "CELL-326", "parent": "MOD-32"}] and done.code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "something-else"}', "is not a tracegraph snapshot"),
        ("not json", "is not valid JSON"),
        (None, "cannot read snapshot"),
    ],
)
def test_a_file_that_is_not_a_snapshot_is_an_error(
    crawled: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "out.json"
    done = run("diff", str(crawled / "old.json"), str(bad), "-o", str(out))
    assert message in one_error_line(done)
    assert not out.exists()


def test_an_output_cannot_overwrite_a_side(crawled: Path, tmp_path: Path) -> None:
    shutil.copy(crawled / "new.json", tmp_path / "new.json")
    done = run("diff", str(crawled / "old.json"), str(tmp_path / "new.json"),
               "-o", str(tmp_path / "new.json"))  # fmt: skip
    assert "a snapshot being compared" in one_error_line(done, 1)
    assert (tmp_path / "new.json").read_bytes() == (crawled / "new.json").read_bytes()


def test_an_output_format_diff_does_not_write_is_a_usage_error(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "-o", "@x.graphml")
    assert done.code == 2 and "diff cannot write" in done.err


def test_the_summary_is_coloured_on_a_terminal_unless_no_color(crawled: Path) -> None:
    changes = tracegraph.diff(crawled / "old.json", crawled / "new.json")
    coloured = diff_summary(changes, colour=True)
    assert "\x1b[32m+\x1b[0m CELL-326" in coloured and "\x1b[31m\u2212\x1b[0m CELL-315" in coloured
    assert "\x1b[" not in diff_summary(changes)
    shown = {}
    for no_color in ("", "1"):
        leader, follower = pty.openpty()
        environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        environment.update({"NO_COLOR": no_color} if no_color else {})
        done = subprocess.run(
            [sys.executable, "-m", "tracegraph", "diff", str(crawled / "old.json"),
             str(crawled / "new.json")],
            stdout=follower, stderr=subprocess.DEVNULL, env=environment, timeout=60, check=False,
        )  # fmt: skip
        os.close(follower)
        assert done.returncode == 0
        shown[no_color] = read_terminal(leader)
    assert b"\x1b[32m+\x1b[0m CELL-326" in shown[""]
    assert b"\x1b[" not in shown["1"] and b"+ CELL-326" in shown["1"]


def test_the_library_diff_matches_the_command(crawled: Path) -> None:
    changes = tracegraph.diff(crawled / "old.json", crawled / "new.json", "BIKE-2")
    assert [c.serial for c in changes.moved] == ["MOD-21"]
    assert changes.counts == {"added": 0, "removed": 0, "moved": 1, "replaced": 0, "changed": 2}
    assert changes.anything_changed and changes.graph is not None
    assert changes.new.kind == "snapshot"


def test_first_seen_from_a_store_lookup_lands_in_every_report() -> None:
    old = build_graph_of(before())
    new = build_graph_of(after())

    def first_seen(change: Any) -> Any:
        return tracegraph.SeenBetween("2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")

    sides = Side("store.db", kind="store", as_of="2026-11-21T00:00:00Z"), Side("store.db")
    dated = compare(old, new, *sides, first_seen=first_seen)
    data = json.loads(diff_json(dated))
    assert data["from"]["as_of"] == "2026-11-21T00:00:00Z" and "as_of" not in data["to"]
    assert data["changed"][0]["first_seen"] == {
        "after": "2026-11-21T00:00:00Z",
        "at": "2026-11-22T00:00:00Z",
    }
    plain = compare(old, new, *sides)
    assert "first_seen" not in json.dumps(json.loads(diff_json(plain)))
    assert "first seen between the syncs of" in diff_summary(dated)
    assert "first_seen_at" in diff_csv(dated).splitlines()[0]


def build_graph_of(factory: Factory) -> Any:
    from tracegraph.genealogy import Genealogy

    snapshot = factory.snapshot()
    genealogy = Genealogy(
        units=snapshot["units"],
        missing={},
        seeds=tuple(snapshot["units"]),
        depths={},
        source_url=snapshot["source"],
    )
    return build_graph(genealogy, seeds_label="every unit")


def test_compare_is_the_one_definition() -> None:
    old, new = build_graph_of(before()), build_graph_of(after())
    found = compare(old, new, Side("a"), Side("b"))
    assert [c.serial for c in found.added] == ["CELL-326"]
    assert [c.serial for c in found.removed] == ["CELL-315"]
    assert [(c.removed, c.added) for c in found.replaced] == [("PACK-1", "PACK-S")]
    assert found.changed == (
        Changed("CELL-211", "batch", "CELL-2407", "CELL-2408"),
        Changed("MOD-22", "revision", "A", "B"),
    )
    # A swap each way between two parents: two replacements, no move.
    f = Factory()
    f.unit("P1", "P").unit("P2", "P").unit("A", "X", parent="P1").unit("B", "X", parent="P2")
    g = Factory()
    g.unit("P1", "P").unit("P2", "P").unit("A", "X", parent="P2").unit("B", "X", parent="P1")
    swapped = compare(build_graph_of(f), build_graph_of(g), Side("a"), Side("b"))
    assert [(r.parent, r.removed, r.added) for r in swapped.replaced] == [
        ("P1", "A", "B"),
        ("P2", "B", "A"),
    ]
    assert swapped.moved == ()


def test_last_run_fields_are_compared_when_both_sides_have_them() -> None:
    old, new = build_graph_of(before()), build_graph_of(after())
    old.nodes["BIKE-1"].update(last_run_outcome="PASS", last_run_at="2026-11-01T00:00:00Z")
    new.nodes["BIKE-1"].update(last_run_outcome="FAIL", last_run_at="2026-11-02T00:00:00Z")
    new.nodes["BIKE-2"].update(last_run_outcome="FAIL")  # one side only: not compared
    new.nodes["BIKE-3"].update(outcome="FAIL")
    new.nodes["PACK-2"].update(outcome="")  # read in list form: no outcome known, no change
    found = compare(old, new, Side("a"), Side("b"))
    assert [(c.serial, c.field, c.new) for c in found.changed] == [
        ("BIKE-1", "last_run_outcome", "FAIL"),
        ("BIKE-1", "last_run_at", "2026-11-02T00:00:00Z"),
        ("BIKE-3", "outcome", "FAIL"),
        ("CELL-211", "batch", "CELL-2408"),
        ("MOD-22", "revision", "B"),
    ]


@needs_graphviz
def test_the_picture_draws_new_with_the_changes_in_chromium(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "BIKE-1", "BIKE-2",
                     "-o", "@picture.svg", "-o", "@picture.html")  # fmt: skip
    assert done.code == 0, done.err
    with clients.browser_page() as page:
        page.goto((crawled / "picture.svg").as_uri())
        assert page.title().startswith("Changes from ")
        texts = page.eval_on_selector_all("g.node text", "ts => ts.map(t => t.textContent)")
        key = page.eval_on_selector_all(
            "g#graph0 > g > text, text", "ts => ts.map(t => t.textContent)"
        )
        page.goto((crawled / "picture.html").as_uri() + "#search=PACK-1")
        page.wait_for_selector("body[data-ready=true]")
        viewer = page.evaluate(
            "[tracegraphViewer.units, document.getElementById('status').textContent]"
        )
        panel = page.inner_text("#details")
    assert viewer == [29, "PACK-1: found"]  # NEW's units and OLD's departed ones, one box each
    assert "departed" in panel and "true" in panel
    assert {"REPLACES PACK-1", "REPLACED by PACK-S", "MOVED to PACK-3", "CHANGED"} <= set(texts)
    assert "revision A → B" in texts and "batch CELL-2407 → CELL-2408" in texts
    joined = " ".join(key)
    assert "from snapshot " in joined and "old.json" in joined and "new.json" in joined
    assert "swapped out: dashed where it was" in joined
    svg = (crawled / "picture.svg").read_text()
    assert svg.count('stroke-dasharray="5,2"') >= 14  # OLD's places: PACK-1 and below, MOD-21


def test_json_on_stdout_takes_the_place_of_the_summary(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "-o", "-", "-f", "json")
    data = json.loads(done.out)
    assert {k: data[k] for k in EXPECTED} == EXPECTED


def test_one_snapshot_is_a_usage_error(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json")
    assert done.code == 2 and "name two snapshots to compare" in done.err


@needs_graphviz
def test_the_picture_as_png_and_pdf(crawled: Path) -> None:
    done = in_folder(crawled, "diff", "@old.json", "@new.json", "BIKE-1", "-o", "@p.png",
                     "-o", "@p.pdf")  # fmt: skip
    assert done.code == 0, done.err
    assert (crawled / "p.png").read_bytes().startswith(b"\x89PNG")
    info = subprocess.run([clients.pdfinfo(), str(crawled / "p.pdf")], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert re.search(r"^Pages:\s+1$", info, re.M)


class StoreLike:
    """A Source with what a store adds (kind, name, as_of, its units listed asynchronously),
    over a snapshot: the seam `diff --store` plugs into, exercised without a store."""

    kind = "store"
    name = "tracegraph.db"

    def __init__(self, snapshot: Path, as_of: str) -> None:
        from tracegraph.sources.snapshot import SnapshotSource

        self.inner = SnapshotSource.from_file(snapshot)
        self.as_of = as_of
        self.url = self.inner.url
        self.captured_at = "2026-11-30T00:00:00Z"  # the sync the as-of time falls in
        self.get_unit = self.inner.get_unit
        self.get_batch = self.inner.get_batch
        self.find_units = self.inner.find_units
        self.list_batches = self.inner.list_batches

    async def unit_serials(self) -> tuple[str, ...]:
        return self.inner.unit_serials()


def test_a_store_plugs_in_as_two_sources_and_a_first_seen_lookup(crawled: Path) -> None:
    seen = tracegraph.SeenBetween("2026-11-20T09:00:00Z", "2026-11-21T09:00:00Z")
    asked: list[str] = []

    def first_seen(change: Any) -> Any:
        asked.append(change.kind)
        return seen if change.kind == "replaced" else None

    changes = tracegraph.diff(
        StoreLike(crawled / "old.json", "2026-11-20T12:00:00Z"),
        StoreLike(crawled / "new.json", "2026-12-01T00:00:00Z"),
        first_seen=first_seen,
    )
    data = json.loads(diff_json(changes))
    assert {k: [{n: v for n, v in c.items() if n != "first_seen"} for c in data[k]]
            for k in EXPECTED} == EXPECTED  # fmt: skip
    assert data["from"]["kind"] == "store" and data["from"]["name"] == "tracegraph.db"
    assert data["from"]["as_of"] == "2026-11-20T12:00:00Z"
    assert data["replaced"][0]["first_seen"] == seen.as_dict()
    assert "first_seen" not in data["moved"][0]
    assert sorted(set(asked)) == ["added", "changed", "moved", "removed", "replaced"]
    assert "store tracegraph.db · source " in diff_summary(changes)
    assert "synced 2026-11-30T00:00:00Z · as of 2026-11-20T12:00:00Z" in diff_summary(changes)


@needs_graphviz
def test_hostile_serials_in_a_swap_stay_exact_in_every_output(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ElementTree

    from tests.builders import HOSTILE_SERIALS

    f = Factory()
    f.unit("=ROOT", "TOP")
    for serial in HOSTILE_SERIALS[:24]:
        f.unit(serial, "PART", parent="=ROOT")
    (tmp_path / "old.json").write_text(json.dumps(f.snapshot()))
    gone, came = HOSTILE_SERIALS[20], "x<y>&z;\x1b[31m"
    del f.specs[gone]
    f.unit(came, "PART", parent="=ROOT")
    (tmp_path / "new.json").write_text(json.dumps(f.snapshot()))
    outputs = [
        a for ext in ("json", "csv", "svg", "txt") for a in ("-o", str(tmp_path / f"d.{ext}"))
    ]
    done = run("diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), *outputs)
    assert done.code == 0, done.err
    assert "\x1b[31m" not in done.out and "x<y>&z;\\x1b[31m" in done.out
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["replaced"] == [{"parent": "=ROOT", "part_number": "PART", "removed": gone,
                                 "added": came}]  # fmt: skip
    rows = list(csv.reader(io.StringIO((tmp_path / "d.csv").read_text(encoding="utf-8-sig"))))
    assert rows[3][:8] == ["replaced", "", "'=ROOT", "", "", "PART", gone, came]
    ElementTree.parse(tmp_path / "d.svg")  # well-formed XML, whatever the serials
