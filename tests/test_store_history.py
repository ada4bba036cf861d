"""The store over time, on both engines: `diff --store --since` and `unit --history`.

The factory of tests/test_diff.py goes through the loopback server into a
store, sync by sync, and is crawled into snapshots at the same two states:
- sync 1: before (three e-bikes, a spare pack); sync 2: the same again;
- sync 3: after: the rework swap (PACK-1 out of BIKE-1, PACK-S in), MOD-21
  moved from BIKE-2's pack to BIKE-3's, CELL-315 scrapped, CELL-326 added,
  CELL-211 to another batch, MOD-22 to revision B;
- sync 4: CELL-112 to revision B as well.
The store between syncs 1 and 3 must give the changes the two snapshots give,
each first seen between syncs 2 and 3; the expected histories are by hand.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import clients
from tests.conftest import API_KEY
from tests.running import one_error_line, tracegraph
from tests.test_diff import EXPECTED, after, before
from tests.test_epcis import checked, decoded_links, events
from tests.test_store import ENGINES, new_store
from tests.tofupilot_server import TofuPilotServer
from tracegraph.export.epcis import DEFAULT_EPC_URI
from tracegraph.sources.store import Store


@dataclass(frozen=True)
class Timeline:
    store: str
    shown: str  # the store as outputs name it (no password)
    times: tuple[str, ...]  # finish time of syncs 1 to 4
    folder: Path  # old.json and new.json: snapshots of the states of syncs 1 and 3
    source: str


def later() -> Any:
    factory = after()
    factory.specs["CELL-112"].revision = "B"
    return factory


@pytest.fixture(scope="module", params=ENGINES)
def timeline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Timeline]:  # fmt: skip
    folder = tmp_path_factory.mktemp("timeline")
    with (
        new_store(request.param, folder) as store,
        TofuPilotServer(before().snapshot(), api_key=API_KEY) as server,
    ):
        for state, snapshot in ((before, "old"), (before, ""), (after, "new"), (later, "")):
            server.replace_data(state().snapshot())
            done = tracegraph("sync", "--store", store, server=server)
            assert done.code == 0, done.err
            if snapshot:
                saved = str(folder / f"{snapshot}.json")
                crawl = tracegraph("batch", "BIKE-24", "PACK-24", "--save-snapshot", saved,
                                   "-o", "-", server=server)  # fmt: skip
                assert crawl.code == 0, crawl.err
            time.sleep(0.01)  # syncs a millisecond apart at least: each its own time
        with Store.open(store, create=False) as opened:
            times = tuple(sync.finished_at for sync in opened.syncs())
        assert len(times) == 4
        yield Timeline(store, store.replace(":tracegraph-test@", "@"), times, folder, server.url)


def diff_json(*args: str) -> dict[str, Any]:
    done = tracegraph("diff", *args, "-f", "json", "-o", "-")
    assert done.code == 0, done.err
    data: dict[str, Any] = json.loads(done.out)
    return data


def changes(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The changes without their dates."""
    return {
        kind: [{k: v for k, v in c.items() if k != "first_seen"} for c in data[kind]]
        for kind in EXPECTED
    }


def dates(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    """Each change's first-seen sync times, by kind and first field."""
    return {
        (kind, next(iter(c.values()))): c["first_seen"] for kind in EXPECTED for c in data[kind]
    }


@pytest.mark.parametrize(
    "asked",
    [(), ("BIKE-1",), ("BIKE-2",), ("BIKE-1", "BIKE-3"), ("--batch", "PACK-24"),
     ("PACK-2", "--scope", "down", "--depth", "1"), ("MOD-21",)],
)  # fmt: skip
def test_the_store_between_two_syncs_gives_the_changes_of_two_snapshots(
    timeline: Timeline, asked: tuple[str, ...]
) -> None:
    old, new = str(timeline.folder / "old.json"), str(timeline.folder / "new.json")
    from_snapshots = diff_json(old, new, *asked)
    t1, t2, t3, _ = timeline.times
    from_store = diff_json("--store", timeline.store, "--since", t1, "--until", t3, *asked)
    assert changes(from_store) == changes(from_snapshots)
    if not asked:
        assert changes(from_store) == EXPECTED
    # Every change happened between sync 2 and sync 3.
    found = dates(from_store)
    assert found and set(map(json.dumps, found.values())) == {json.dumps({"after": t2, "at": t3})}
    for side, sync, as_of in (("from", t1, t1), ("to", t3, t3)):
        assert from_store[side]["kind"] == "store" and from_store[side]["name"] == timeline.shown
        assert from_store[side]["captured_at"] == sync and from_store[side]["as_of"] == as_of
        assert from_store[side]["source"] == timeline.source


def test_since_alone_runs_to_the_latest_sync_and_dates_each_change(timeline: Timeline) -> None:
    t1, t2, t3, t4 = timeline.times
    data = diff_json("--store", timeline.store, "--since", t1)
    late = {"serial": "CELL-112", "field": "revision", "old": "A", "new": "B"}
    assert changes(data) == {**EXPECTED, "changed": [late, *EXPECTED["changed"]]}
    found = dates(data)
    assert found.pop(("changed", "CELL-112")) == {"after": t3, "at": t4}
    assert all(seen == {"after": t2, "at": t3} for seen in found.values())
    assert data["to"]["captured_at"] == t4 and "as_of" not in data["to"]
    # From sync 3 on, only the late revision; the text says when it was first seen.
    done = tracegraph("diff", "--store", timeline.store, "--since", t3, "PACK-1", "-o",
                      str(timeline.folder / "late.csv"), "--fail-if-changed")  # fmt: skip
    assert done.code == 3, done.err
    rows = list(csv.DictReader(io.StringIO(
        (timeline.folder / "late.csv").read_text(encoding="utf-8-sig"))))  # fmt: skip
    assert [(r["kind"], r["serial"], r["first_seen_after"], r["first_seen_at"]) for r in rows] == [
        ("from", "", "", ""), ("to", "", "", ""), ("changed", "CELL-112", t3, t4)]  # fmt: skip
    assert f"! CELL-112  revision A → B  (first seen between the syncs of {t3} and {t4})" in (
        done.out
    )


def test_a_store_diff_refuses_what_it_cannot_answer_in_one_error_line(timeline: Timeline) -> None:
    t1, _, t3, _ = timeline.times
    store = timeline.store
    line = one_error_line(tracegraph("diff", "--store", store, "--since", "2001-01-01"))
    assert line == (f"Error: --since 2001-01-01T00:00:00Z is before store {timeline.shown} "
                    f"starts: its first sync finished at {t1}")  # fmt: skip
    line = one_error_line(tracegraph("diff", "--store", store, "--since", t3, "--until", t1))
    assert line == f"Error: --since {t3} is after --until {t1}"
    line = one_error_line(tracegraph("diff", "--store", store, "--since", t1, "NOPE-1"))
    assert line == f"Error: unit 'NOPE-1' is in neither {timeline.shown} at either time"
    written = timeline.folder / "never.json"
    failed = tracegraph("diff", "--store", store, "--since", t1, "NOPE-1", "-o", str(written))
    assert failed.code == 1 and not written.exists()
    old = str(timeline.folder / "old.json")
    usage = tracegraph("diff", "--store", store, "--since", t1, old, "BIKE-1")
    assert usage.code == 2 and "takes serial numbers, not snapshots" in usage.err
    usage = tracegraph("diff", old, str(timeline.folder / "new.json"), "--since", t1)
    assert usage.code == 2 and "give --store too" in usage.err
    usage = tracegraph("diff", "--store", store, "BIKE-1")
    assert usage.code == 2 and "--store needs --since" in usage.err


def bike_links(bike: int, pack: int | None = None) -> list[tuple[str, str]]:
    """The links of bike `bike` as built: bike -> pack -> two modules -> five cells each."""
    pack_name = f"PACK-{pack or bike}"
    links = [(f"BIKE-{bike}", pack_name)]
    for module in (1, 2):
        links.append((pack_name, f"MOD-{bike}{module}"))
        links += [(f"MOD-{bike}{module}", f"CELL-{bike}{module}{cell}") for cell in range(1, 6)]
    return links


def test_history_lists_each_link_of_a_genealogy_as_it_came_and_went(timeline: Timeline) -> None:
    t1, _, t3, t4 = timeline.times
    done = tracegraph("unit", "BIKE-1", "--store", timeline.store, "--history")
    assert done.code == 0, done.err
    first = sorted(bike_links(1))
    expected = [
        f"History of unit BIKE-1 in store {timeline.shown}",
        f"  source {timeline.source} · syncs 1 ({t1}) to 4 ({t4})",
        "",
        "14 links added · 1 removed",
        "",
        *(f"sync 1  {t1}  + {parent} → {child}" for parent, child in first),
        f"sync 3  {t3}  \u2212 BIKE-1 → PACK-1",
        f"sync 3  {t3}  + BIKE-1 → PACK-S",
    ]
    assert done.out.splitlines() == expected
    # BIKE-3 took MOD-21 (with its cells, linked to it since sync 1) and lost a scrapped cell.
    path = timeline.folder / "bike3.json"
    assert tracegraph("unit", "BIKE-3", "--store", timeline.store, "--history",
                      "-o", str(path)).code == 0  # fmt: skip
    data = json.loads(path.read_text())
    assert [data[k] for k in ("format", "version", "unit", "store", "source")] == [
        "tracegraph-history", 1, "BIKE-3", timeline.shown, timeline.source]  # fmt: skip
    assert data["syncs"] == [{"sync": n, "at": t} for n, t in enumerate(timeline.times, 1)]

    def event(sync: int, action: str, parent: str, child: str) -> dict[str, object]:
        at = timeline.times[sync - 1]
        return {"sync": sync, "at": at, "action": action, "parent": parent, "child": child}

    moved_cells = [("MOD-21", f"CELL-21{n}") for n in range(1, 6)]
    assert data["events"] == [
        *(event(1, "added", p, c) for p, c in sorted(bike_links(3) + moved_cells)),
        event(3, "removed", "MOD-31", "CELL-315"),
        event(3, "added", "MOD-32", "CELL-326"),
        event(3, "added", "PACK-3", "MOD-21"),
    ]
    # The CSV holds the same events; BIKE-2 lost MOD-21.
    path = timeline.folder / "bike2.csv"
    assert tracegraph("unit", "BIKE-2", "--store", timeline.store, "--history",
                      "-o", str(path)).code == 0  # fmt: skip
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["sync", "at", "action", "parent", "child"]
    assert rows[1:] == [
        *(["1", t1, "added", p, c] for p, c in sorted(bike_links(2))),
        ["3", t3, "removed", "PACK-2", "MOD-21"],
    ]


def test_history_as_epcis_passes_gs1_schema_and_decodes_into_the_links(timeline: Timeline) -> None:
    clients.epcis_validator()  # under CI a missing validator fails here
    t1, _, t3, _ = timeline.times
    path = timeline.folder / "bike1.jsonld"
    done = tracegraph("unit", "BIKE-1", "--store", timeline.store, "--history", "-o", str(path))
    assert done.code == 0, done.err
    document = checked(path.read_bytes())
    found = events(document)
    assert {e["type"] for e in found} == {"AssociationEvent"}
    assert [(e["eventTime"], e["action"], e["bizStep"]) for e in found] == [
        *((t1, "ADD", "assembling") for _ in range(4)),  # one event per parent at sync 1
        (t3, "DELETE", "removing"),
        (t3, "ADD", "assembling"),
    ]
    uri = DEFAULT_EPC_URI.replace("{serial}", "")
    standing = {(uri + p, uri + c) for p, c in bike_links(1)}
    standing = standing - {(uri + "BIKE-1", uri + "PACK-1")} | {(uri + "BIKE-1", uri + "PACK-S")}
    assert decoded_links(document) == standing
    assert found[-2]["childEPCs"] == [uri + "PACK-1"] and found[-1]["childEPCs"] == [uri + "PACK-S"]
    # The same bytes twice.
    again = timeline.folder / "again.jsonld"
    tracegraph("unit", "BIKE-1", "--store", timeline.store, "--history", "-o", str(again))
    assert again.read_bytes() == path.read_bytes()


def test_history_refuses_what_it_is_not(timeline: Timeline) -> None:
    usage = tracegraph("unit", "BIKE-1", "--history")
    assert usage.code == 2 and "--history reads a store's versions: give --store too" in usage.err
    usage = tracegraph("unit", "BIKE-1", "--store", timeline.store, "--history", "-o", "x.svg")
    assert usage.code == 2 and "cannot write 'x.svg'" in usage.err
    usage = tracegraph("unit", "BIKE-1", "BIKE-2", "--store", timeline.store, "--history")
    assert usage.code == 2 and "one serial number" in usage.err
    line = one_error_line(tracegraph("unit", "NOPE-1", "--store", timeline.store, "--history"))
    assert line == f"Error: unit 'NOPE-1' not found in store {timeline.shown}"


def links_of(factory: Any) -> set[tuple[str, str]]:
    uri = DEFAULT_EPC_URI.replace("{serial}", "")
    return {(uri + spec.parent, uri + s) for s, spec in factory.specs.items() if spec.parent}


def test_a_diff_as_epcis_takes_old_links_to_new_ones_in_time_order(timeline: Timeline) -> None:
    clients.epcis_validator()  # under CI a missing validator fails here
    t1, _, t3, _ = timeline.times
    old, new = str(timeline.folder / "old.json"), str(timeline.folder / "new.json")
    for name, args in (("store", ("--store", timeline.store, "--since", t1, "--until", t3)),
                       ("snapshots", (old, new))):  # fmt: skip
        path = timeline.folder / f"{name}-diff.jsonld"
        done = tracegraph("diff", *args, "-o", str(path))
        assert done.code == 0, done.err
        found = events(checked(path.read_bytes()))
        assert {(e["type"], e["action"], e["bizStep"]) for e in found} == {
            ("AssociationEvent", "DELETE", "removing"),
            ("AssociationEvent", "ADD", "assembling"),
        }
        # Every DELETE before the ADDs of the same time: the old pack out, the spare in.
        actions = [e["action"] for e in found]
        assert actions == sorted(actions, key=lambda a: a == "ADD")
        links = links_of(before())
        for event in found:
            pairs = {(event["parentID"], child) for child in event["childEPCs"]}
            assert (pairs <= links) if event["action"] == "DELETE" else not (pairs & links)
            links = links | pairs if event["action"] == "ADD" else links - pairs
        assert links == links_of(after())
        when = {e["eventTime"] for e in found}
        if name == "store":
            assert when == {t3}  # the sync that first saw them
        else:
            captured = json.loads(Path(new).read_text())["captured_at"]
            assert len(when) == 1 and when.pop()[:19] == captured[:19]
