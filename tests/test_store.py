"""The store on both engines: SQLite in a temporary file, PostgreSQL on a real server.

Every case runs on both. PostgreSQL is the server `scripts/postgres start`
runs (`.ci/run` starts it and sets TRACEGRAPH_TEST_POSTGRES); each test gets a
database of its own. Without it the PostgreSQL cases skip, and under CI fail.
Data reaches the store as users' does: `tracegraph sync` against the loopback
API server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import Factory, bike_factory, drone_factory
from tests.conftest import API_KEY, assert_sdk_accepts
from tests.running import one_error_line, tracegraph
from tests.tofupilot_server import TofuPilotServer

ENGINES = ["sqlite", "postgresql"]
PROVENANCE = ("generated_at", "source", "captured_at", "store", "store_sync", "store_as_of")


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store target that does not exist yet: a SQLite path, or a new PostgreSQL database."""
    with new_store(request.param, tmp_path) as target:
        yield target


@contextlib.contextmanager
def new_store(engine: str, folder: Path) -> Iterator[str]:
    """A store target on `engine` that does not exist yet, dropped afterwards (PostgreSQL)."""
    if engine == "sqlite":
        yield str(folder / "genealogy.db")
        return
    admin = os.environ.get("TRACEGRAPH_TEST_POSTGRES")
    if not admin:
        message = 'PostgreSQL is not running (eval "$(scripts/postgres start)")'
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the store's tests on PostgreSQL", pytrace=False)
        pytest.skip(message)
    import psycopg

    name = f"tg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def workshop() -> Factory:
    """Two drones and a spare board, with runs: what the rework scenarios change."""
    f = drone_factory()
    f.unit("PCB-9", "PCB", batch="P2", name="Spare board", created_at="2024-07-02T08:00:00Z")
    return f


def without_provenance(graph_json: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(graph_json)
    for key in PROVENANCE:
        data["graph"].pop(key, None)
    return data


def sync(store: str, server: TofuPilotServer, *args: str) -> str:
    run = tracegraph("sync", "--store", store, *args, server=server)
    assert run.code == 0, run.err
    assert_sdk_accepts(server.served)
    return run.out


def test_a_sync_answers_every_scope_as_a_live_crawl_does(store: str) -> None:
    snapshot = bike_factory().snapshot()
    with TofuPilotServer(snapshot, api_key=API_KEY) as server:
        summary = sync(store, server)
        pages = [r for r in server.requests if r.startswith("/api/v2/units?")]
        assert "42 units seen, 42 added, 0 changed, 0 gone" in summary
        assert all("sort_by=created_at" in r for r in pages if "serial_numbers" not in r)
        for args in (
            ("unit", "CELL-111"),
            ("unit", "CELL-111", "--scope", "up"),
            ("unit", "PACK-2", "--scope", "down"),
            ("unit", "MOD-21", "--scope", "lineage", "--depth", "1"),
            ("batch", "CELL-2407", "--scope", "up"),
        ):
            live = tracegraph(*args, "-f", "json", "-o", "-", server=server)
            offline = tracegraph(*args, "--store", store, "-f", "json", "-o", "-")
            assert offline.code == live.code == 0, offline.err
            assert without_provenance(offline.out) == without_provenance(live.out), args
        live_impact = tracegraph(
            "impact", "CELL-2407", "-f", "impact-json", "-o", "-", server=server
        )
        url = server.url
    stored_impact = tracegraph(
        "impact", "CELL-2407", "--store", store, "-f", "impact-json", "-o", "-"
    )
    assert json.loads(stored_impact.out)["affected"] == json.loads(live_impact.out)["affected"]
    graph = json.loads(tracegraph("unit", "BIKE-1", "--store", store, "-f", "json", "-o", "-").out)
    shown = store.replace(":tracegraph-test@", "@")  # a password is never recorded
    assert graph["graph"]["store"] == shown
    assert graph["graph"]["store_sync"].startswith("1 of ")
    assert graph["graph"]["source"] == url
    # The text tree's title names the store and its sync.
    text = tracegraph("unit", "BIKE-1", "--store", store).out
    assert f"store {shown}, sync 1 of " in text and "tracegraph-test" not in text


def test_a_second_sync_writes_only_what_changed_and_as_of_answers_the_past(store: str) -> None:
    factory = workshop()
    snapshot = factory.snapshot()
    with TofuPilotServer(snapshot, api_key=API_KEY) as server:
        sync(store, server)
        again = sync(store, server)
    assert "0 added, 0 changed, 0 gone, 0 links changed" in again
    first = json.loads(tracegraph("unit", "DRN-1", "--store", store, "-f", "json", "-o", "-").out)
    first_sync = first["graph"]["store_sync"].split(" of ")[1]
    # Rework: PCB-1 leaves FC-1 for the spare PCB-9; CAP-3 is deleted; a new cap arrives
    # under PCB-9; CAP-1 changes batch.
    factory.specs["PCB-1"].parent = None
    factory.specs["PCB-9"].parent = "FC-1"
    del factory.specs["CAP-3"]
    factory.unit("CAP-7", "CAP", parent="PCB-9", batch="C3", created_at="2024-07-03T08:00:00Z")
    factory.specs["CAP-1"].batch = "C9"
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        changed = sync(store, server)
    # CAP-7 added; CAP-1 (batch) and PCB-1 (now a top, read in full) changed; CAP-3 gone;
    # links: PCB-1 and CAP-3 lost theirs, PCB-9 and CAP-7 gained one.
    assert "1 added, 2 changed, 1 gone, 4 links changed" in changed
    now = json.loads(tracegraph("unit", "DRN-1", "--store", store, "-f", "json", "-o", "-").out)
    then = tracegraph(
        "unit", "DRN-1", "--store", store, "--as-of", first_sync, "-f", "json", "-o", "-"
    )
    before = json.loads(then.out)
    edges_now = {(e["source"], e["target"]) for e in now["edges"]}
    edges_then = {(e["source"], e["target"]) for e in before["edges"]}
    assert ("FC-1", "PCB-9") in edges_now and ("FC-1", "PCB-1") not in edges_now
    assert ("FC-1", "PCB-1") in edges_then and ("FC-1", "PCB-9") not in edges_then
    assert ("PCB-9", "CAP-7") in edges_now
    nodes_then = {n["id"]: n for n in before["nodes"]}
    assert nodes_then["CAP-1"]["batch"] == "C1"
    assert before["graph"]["store_as_of"] == first_sync.replace(".", ".")[:19] + "Z"
    # The deleted unit is gone now, and was there then.
    drone_two_now = tracegraph("unit", "DRN-2", "--store", store, "-f", "json", "-o", "-").out
    drone_two_then = tracegraph(
        "unit", "DRN-2", "--store", store, "--as-of", first_sync, "-f", "json", "-o", "-"
    ).out
    assert "CAP-3" not in {n["id"] for n in json.loads(drone_two_now)["nodes"]}
    assert "CAP-3" in {n["id"] for n in json.loads(drone_two_then)["nodes"]}


def test_a_filtered_sync_reads_only_its_units_and_their_neighbours(store: str) -> None:
    with TofuPilotServer(drone_factory().snapshot(), api_key=API_KEY) as server:
        summary = sync(store, server, "--part-number", "CAP")
        listed = [r for r in server.requests if "part_numbers=CAP" in r]
    assert listed and "4 units seen" not in summary
    cap = json.loads(tracegraph("unit", "CAP-1", "--store", store, "--scope", "up", "-f", "json",
                                "-o", "-").out)  # fmt: skip
    assert {n["id"] for n in cap["nodes"]} >= {"CAP-1", "PCB-1"}  # the parent came along


def test_a_store_refuses_what_it_cannot_answer_in_one_error_line(
    store: str, tmp_path: Path
) -> None:
    missing_folder = str(tmp_path / "nowhere" / "g.db")
    line = one_error_line(tracegraph("sync", "--store", missing_folder, "--source", "x.json"))
    assert "does not exist" in line
    if store.endswith(".db"):
        line = one_error_line(tracegraph("unit", "X", "--store", store))
        assert "no store at" in line
    with TofuPilotServer(drone_factory().snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    line = one_error_line(tracegraph("unit", "DRN-1", "--store", store, "--as-of", "2001-01-01"))
    assert "before store" in line and "first sync finished at 20" in line
    line = one_error_line(tracegraph("unit", "DRN-1", "--store", store, "--source", "x.json"))
    assert "--store and --source" in line
    line = one_error_line(tracegraph("unit", "NOPE", "--store", store))
    assert "NOPE" in line


def test_the_api_key_is_never_written_to_the_store(store: str) -> None:
    with TofuPilotServer(drone_factory().snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    assert API_KEY not in _everything_in(store)


def _everything_in(store: str) -> str:
    if store.endswith(".db"):
        connection = sqlite3.connect(store)
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        text = "".join(repr(connection.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)
        connection.close()
        return text + Path(store).read_bytes().decode("latin-1")
    import psycopg

    with psycopg.connect(store) as connection:
        tables = ["tracegraph_meta", "syncs", "units", "links"]
        return "".join(repr(connection.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)


def test_a_newer_schema_is_refused(store: str) -> None:
    with TofuPilotServer(drone_factory().snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    _set_schema_version(store, "99")
    line = one_error_line(tracegraph("unit", "DRN-1", "--store", store))
    assert "schema version 99" in line and "newer tracegraph" in line


def _set_schema_version(store: str, version: str) -> None:
    statement = "UPDATE tracegraph_meta SET value = '{}' WHERE name = 'schema_version'"
    if store.endswith(".db"):
        connection = sqlite3.connect(store)
        connection.execute(statement.format(version))
        connection.commit()
        connection.close()
        return
    import psycopg

    with psycopg.connect(store, autocommit=True) as connection:
        connection.execute(statement.format(version))


def test_a_failed_write_leaves_the_last_sync_standing(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracegraph.errors import StoreError
    from tracegraph.sources import store as store_module

    factory = workshop()
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    before = tracegraph("unit", "DRN-1", "--store", store, "-f", "json", "-o", "-").out
    factory.specs["PCB-1"].parent = None

    def broken(self: Any, *args: Any) -> None:
        raise StoreError("the disk went away")

    original = store_module.Store._insert
    monkeypatch.setattr(store_module.Store, "_insert", broken)
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        run = tracegraph("sync", "--store", store, server=server)
    assert "the disk went away" in one_error_line(run)
    monkeypatch.setattr(store_module.Store, "_insert", original)
    after = tracegraph("unit", "DRN-1", "--store", store, "-f", "json", "-o", "-").out
    assert after == before  # nothing of the failed sync: not its row, not its versions
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        assert "sync 2:" in sync(store, server)


def _sync_process(store: str, server: TofuPilotServer) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOFUPILOT_")}
    environment.update(TOFUPILOT_API_URL=server.url, TOFUPILOT_API_KEY=API_KEY)
    return subprocess.Popen(
        [sys.executable, "-m", "tracegraph", "sync", "--store", store, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def _forest(trees: int) -> Factory:
    f = Factory()
    for t in range(trees):
        f.unit(f"TOP-{t:03}", "TOP", batch="T1")
        for c in range(5):
            f.unit(f"SUB-{t:03}-{c}", "SUB", parent=f"TOP-{t:03}", batch="S1")
    return f


def test_a_sync_killed_midway_leaves_the_last_complete_one_and_the_next_completes(
    store: str,
) -> None:
    factory = _forest(60)
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    before = tracegraph("unit", "TOP-000", "--store", store, "-f", "json", "-o", "-").out
    factory.specs["SUB-000-0"].parent = "TOP-001"
    killed = 0
    for delay in (0.3, 0.8, 1.5):  # while reading pages, fetching tops, or writing
        with TofuPilotServer(factory.snapshot(), api_key=API_KEY, latency=0.02) as server:
            process = _sync_process(store, server)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        killed += process.returncode == -signal.SIGKILL
        after = tracegraph("unit", "TOP-000", "--store", store, "-f", "json", "-o", "-")
        assert after.code == 0, after.err
        # The store stands as one sync or the other, never between: with the old link
        # exactly as before, or with the new one on both sides.
        if '"SUB-000-0"' in after.out:
            assert after.out == before
        else:
            top = tracegraph("unit", "TOP-001", "--store", store, "-f", "json", "-o", "-").out
            assert '"SUB-000-0"' in top
        _assert_sound(store)
    assert killed >= 1  # at least one kill came before the sync ended
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        done = sync(store, server)
    assert "units seen" in done
    moved = json.loads(tracegraph("unit", "TOP-001", "--store", store, "-f", "json", "-o", "-").out)
    assert "SUB-000-0" in {n["id"] for n in moved["nodes"]}


def _assert_sound(store: str) -> None:
    if store.endswith(".db"):
        connection = sqlite3.connect(store)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        connection.close()


def test_two_syncs_at_once_both_complete_one_after_the_other(store: str) -> None:
    with TofuPilotServer(_forest(40).snapshot(), api_key=API_KEY, latency=0.01) as server:
        first, second = _sync_process(store, server), _sync_process(store, server)
        results = [p.communicate(timeout=120) for p in (first, second)]
        # A reader reads while they write.
        reader = tracegraph("batches", "--store", store) if Path(store).exists() else None
    assert first.returncode == 0 and second.returncode == 0, results
    outs = sorted(out for out, _ in results)
    assert outs[0].startswith("sync 1: 240 units seen, 240 added")
    assert outs[1].startswith("sync 2: 240 units seen, 0 added, 0 changed, 0 gone")
    if reader is not None:
        assert reader.code in (0, 1)


def test_batches_and_a_saved_snapshot_come_from_the_store(store: str, tmp_path: Path) -> None:
    with TofuPilotServer(drone_factory().snapshot(), api_key=API_KEY) as server:
        sync(store, server)
        live = tracegraph("batches", server=server).out
    assert tracegraph("batches", "--store", store).out == live
    saved = tmp_path / "from-store.json"
    stored = tracegraph("unit", "FC-1", "--store", store, "--save-snapshot", str(saved), "-f",
                        "json", "-o", "-")  # fmt: skip
    assert stored.code == 0, stored.err
    replay = tracegraph("unit", "FC-1", "--source", str(saved), "-f", "json", "-o", "-")
    assert without_provenance(replay.out) == without_provenance(stored.out)


def test_a_wrong_postgresql_url_or_password_is_one_error_line_without_the_password() -> None:
    admin = os.environ.get("TRACEGRAPH_TEST_POSTGRES")
    if not admin:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not running; CI must run the store's tests on it")
        pytest.skip("PostgreSQL is not running")
    wrong = admin.replace(":tracegraph-test@", ":not-the-password@")
    line = one_error_line(tracegraph("unit", "X", "--store", wrong))
    assert "password authentication failed" in line and "not-the-password" not in line
    closed = "postgresql://postgres:secret@127.0.0.1:1/postgres"
    line = one_error_line(tracegraph("sync", "--store", closed, "--source", "samples/factory.json"))
    assert "cannot connect to PostgreSQL store postgresql://postgres@127.0.0.1:1/postgres" in line
    assert "secret" not in line


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)  # SQLite has no connection
def test_a_connection_lost_mid_sync_is_one_error_line_and_changes_nothing(store: str) -> None:
    import threading

    import psycopg

    factory = _forest(30)
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    before = tracegraph("unit", "TOP-000", "--store", store, "-f", "json", "-o", "-").out
    factory.specs["SUB-000-0"].parent = "TOP-001"
    database = store.rsplit("/", 1)[1]

    def cut() -> None:
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)  # the sync reads pages, its store connection open and idle
        with psycopg.connect(store, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )

    with TofuPilotServer(factory.snapshot(), api_key=API_KEY, latency=0.2) as server:
        cutter = threading.Thread(target=cut)
        cutter.start()
        run = tracegraph("sync", "--store", store, "--concurrency", "2", server=server)
        cutter.join()
    line = one_error_line(run)
    assert "cannot" in line and store.split("@")[1] in line
    assert tracegraph("unit", "TOP-000", "--store", store, "-f", "json", "-o", "-").out == before


def test_the_library_syncs_and_reads_a_store_and_mends_text_that_is_not_unicode(
    store: str,
) -> None:
    import tracegraph

    snapshot = drone_factory().snapshot()
    snapshot["units"]["CAP-1"]["part"]["name"] = "Cap\ud800"  # legal JSON, no Unicode text
    result = tracegraph.sync(store, source=tracegraph.SnapshotSource(snapshot))
    assert callable(tracegraph.sync)  # the module that syncs never hides the function
    assert result.sync.id == 1 and result.sync.added == len(snapshot["units"])
    assert any("'CAP-1' holds text that is not Unicode" in w for w in result.warnings)
    graph = tracegraph.trace("CAP-1", store=store)
    assert graph.nodes["CAP-1"]["part_name"] == "Cap\ufffd"
    assert graph.graph["store_sync"].startswith("1 of ")


def test_readers_read_while_a_sync_writes(store: str) -> None:
    with TofuPilotServer(drone_factory().snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    before = tracegraph("unit", "DRN-1", "--store", store, "-f", "json", "-o", "-").out
    # A writer in the middle of its transaction, holding the write lock, not committed.
    if store.endswith(".db"):
        writer: Any = sqlite3.connect(store, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        writer = psycopg.connect(store)
    writer.execute("UPDATE links SET valid_to = 1 WHERE valid_to IS NULL")
    try:
        during = tracegraph("unit", "DRN-1", "--store", store, "-f", "json", "-o", "-")
        assert during.code == 0, during.err
        assert during.out == before  # the committed state, not the writer's
    finally:
        writer.rollback() if not store.endswith(".db") else writer.execute("ROLLBACK")
        writer.close()


def test_a_cycle_in_the_data_ends_the_store_walk_as_it_ends_the_crawl(store: str) -> None:
    factory = Factory().chain(["A", "B", "C"])
    factory.specs["A"].parent = "C"  # C > A > B > C: no top
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
        for scope in ("tree", "up", "down"):
            live = tracegraph("unit", "B", "--scope", scope, "-f", "json", "-o", "-", server=server)
            offline = tracegraph("unit", "B", "--scope", scope, "--store", store, "-f", "json",
                                 "-o", "-")  # fmt: skip
            assert offline.code == live.code == 0
            assert without_provenance(offline.out) == without_provenance(live.out), scope
            assert "cycle among units 'A', 'B', 'C'" in offline.out


def test_a_batch_of_thousands_of_units_is_answered_from_the_store(store: str) -> None:
    factory = Factory()
    for t in range(40):
        factory.unit(f"BOX-{t:02}", "BOX", batch="BOXES")
        for c in range(60):
            factory.unit(f"PART-{t:02}-{c:02}", "PART", parent=f"BOX-{t:02}", batch="PARTS")
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    # 2,400 seeds, read by the store's walk in chunks (a whole store's units would pass
    # the 32,766 parameters SQLite takes in one statement).
    run = tracegraph("batch", "PARTS", "--store", store, "--scope", "up", "-f", "json", "-o", "-")
    assert run.code == 0, run.err
    assert len(json.loads(run.out)["nodes"]) == 40 * 61


def test_a_server_with_small_pages_and_a_unit_that_left_a_filter_lose_no_unit(
    store: str,
) -> None:
    factory = _forest(30)  # 180 units
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY, page_size=50) as server:
        again = sync(store, server)
    assert "180 units seen, 0 added, 0 changed, 0 gone, 0 links changed" in again
    # A filtered sync: SUB-000-0 leaves batch S1 for S2; it still exists, in its new batch.
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server, "--batch", "S1")
    factory.specs["SUB-000-0"].batch = "S2"
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        moved = sync(store, server, "--batch", "S1")
    assert "0 gone" in moved and "1 changed" in moved
    unit = json.loads(tracegraph("unit", "SUB-000-0", "--store", store, "--depth", "0", "-f",
                                 "json", "-o", "-").out)  # fmt: skip
    assert unit["nodes"][0]["batch"] == "S2"


def test_a_malformed_postgresql_url_never_shows_its_password() -> None:
    line = one_error_line(
        tracegraph("unit", "X", "--store", "postgresql://al:s3cr%zzet@127.0.0.1:1/d")
    )
    assert "s3cr" not in line and "zzet" not in line and "postgresql://al@127.0.0.1:1/d" in line
    line = one_error_line(tracegraph("unit", "X", "--store", "postgresql://al:pw@127.0.0.1:abc/d"))
    assert "valid port" in line and ":pw@" not in line


def test_a_batch_is_found_ignoring_case_alike_on_both_engines(store: str) -> None:
    factory = Factory()
    for i in range(3):
        factory.unit(f"U-{i}", "PART", batch="ÄB-1")
    with TofuPilotServer(factory.snapshot(), api_key=API_KEY) as server:
        sync(store, server)
    run = tracegraph("batch", "äb-1", "--store", store, "-f", "json", "-o", "-")
    assert run.code == 0, run.err
    assert sorted(n["id"] for n in json.loads(run.out)["nodes"]) == ["U-0", "U-1", "U-2"]
