"""A hostile or broken server through the loopback: bounded in time and memory, clear
words instead of "unexpected …", and the key kept off plain http and foreign hosts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.builders import Factory
from tests.hostile_server import (
    HostileServer,
    answer,
    drip,
    gzip_bomb,
    json_answer,
    redirect,
)
from tests.running import one_error_line, tracegraph
from tracegraph.source import public_url
from tracegraph.sources.snapshot import dump_snapshot

KEY = "tp-hostile-key"


def run_against(server: HostileServer, *args: str) -> Any:
    return tracegraph(*args, "--retries", "0", TOFUPILOT_API_URL=server.url, TOFUPILOT_API_KEY=KEY)


def unit_body(serial: str) -> dict[str, Any]:
    return {
        "id": f"u-{serial}",
        "serial_number": serial,
        "part": None,
        "batch": None,
        "parent": None,
        "children": [],
        "created_at": "2024-07-01T08:00:00Z",
    }


def test_a_gzip_bomb_stops_at_the_size_limit_with_a_clear_error() -> None:
    scenes = {"/api/v2/units/BOMB": gzip_bomb(40)}  # 40 MB decoded from about 40 KB
    with HostileServer(scenes).running() as server:
        line = one_error_line(run_against(server, "unit", "BOMB"))
        assert "more than 32 MB" in line and "--max-response-mb" in line
        ok = run_against(server, "unit", "BOMB", "--max-response-mb", "64")
        assert "more than" not in ok.err  # raised: read in full (and then not a JSON object)


def test_a_dripped_body_is_cut_by_the_whole_request_deadline() -> None:
    with HostileServer({"/api/v2/units/DRIP": drip(0.1)}).running() as server:
        started = time.monotonic()
        line = one_error_line(run_against(server, "unit", "DRIP", "--timeout", "1"))
        assert time.monotonic() - started < 60  # it ends: no hang
        assert "timed out" in line


def test_endless_pagination_stops_at_the_page_cap() -> None:
    def page(handler: Any) -> None:
        cursor = int(handler.path.rsplit("cursor=", 1)[1].split("&")[0])
        document = {"data": [], "meta": {"has_more": True, "next_cursor": cursor + 1}}
        json_answer(200, document)(handler)

    with HostileServer({"/api/v2/batches": page}).running() as server:
        line = one_error_line(run_against(server, "batches", "--max-pages", "20"))
        assert "still has more after 20 pages" in line and "--max-pages" in line
        assert len(server.requests) == 20


def test_plain_http_to_another_host_is_refused_before_any_connection() -> None:
    run = tracegraph(
        "unit", "X", TOFUPILOT_API_URL="http://tofu.example.invalid/api", TOFUPILOT_API_KEY=KEY
    )
    line = one_error_line(run)
    assert "plain http" in line and "--allow-insecure-http" in line
    allowed = tracegraph(
        "unit", "X", "--allow-insecure-http", "--retries", "0", "--timeout", "2",
        TOFUPILOT_API_URL="http://tofu.example.invalid/api", TOFUPILOT_API_KEY=KEY,
    )  # fmt: skip
    assert "plain http" not in allowed.err and allowed.code != 0  # tried: no such host


def test_a_url_with_user_info_is_refused() -> None:
    run = tracegraph(
        "unit", "X", TOFUPILOT_API_URL="https://me:pw@tofu.example/api", TOFUPILOT_API_KEY=KEY
    )
    line = one_error_line(run)
    assert "user name or password" in line and "Basic auth" in line and "pw" not in line


def test_a_cross_host_redirect_is_refused_naming_both_hosts() -> None:
    scenes = {"/api/v2/units/MOVED": redirect(lambda port: f"http://localhost:{port}/x")}
    with HostileServer(scenes).running() as server:
        line = one_error_line(run_against(server, "unit", "MOVED"))
        assert "redirected to another host" in line
        assert "127.0.0.1" in line and "localhost" in line
        # The list endpoint is not there (404): MOVED is asked for alone, once; not followed.
        assert server.requests[1:] == ["/api/v2/units/MOVED"]


def test_a_redirect_loop_says_so() -> None:
    scenes = {"/api/v2/units/LOOP": redirect(lambda port: "/api/v2/units/LOOP")}
    with HostileServer(scenes).running() as server:
        assert "redirects in a loop" in one_error_line(run_against(server, "unit", "LOOP"))


def test_deep_json_and_huge_numbers_get_their_own_words() -> None:
    scenes = {
        "/api/v2/units/DEEP": answer(200, b"[" * 100_000 + b"]" * 100_000),
        "/api/v2/units/BIG": answer(200, b'{"n": ' + b"9" * 5000 + b"}"),
    }
    with HostileServer(scenes).running() as server:
        assert "nested too deeply" in one_error_line(run_against(server, "unit", "DEEP"))
        assert "number too long" in one_error_line(run_against(server, "unit", "BIG"))


def test_server_text_cannot_drive_the_terminal() -> None:
    nasty = "no\x1b]52;c;ZXZpbA==\x07 such\x1b[2J unit\r\u202eevil"
    scenes = {"/api/v2/units/X": json_answer(500, {"message": nasty})}
    scenes["/api/v2/units/R"] = json_answer(422, {"message": nasty, "code": "BAD"})
    root = unit_body("ROOT")
    root["children"] = [{"id": "u-r", "serial_number": "R", "part": None}]
    scenes["/api/v2/units/ROOT"] = json_answer(200, root)
    batches = {
        "data": [{"id": "b", "number": "B1", "created_at": "2024\x1b]8;;http://evil\x07x"}],
        "meta": {"has_more": False},
    }
    scenes["/api/v2/batches"] = json_answer(200, batches)
    with HostileServer(scenes).running() as server:
        for run in (
            run_against(server, "unit", "X"),  # an Error: line
            run_against(server, "unit", "ROOT"),  # a Warning: line (422)
            run_against(server, "batches"),  # the created_at column
            run_against(server, "batches", "--json"),
        ):
            shown = run.out + run.err
            for control in ("\x1b", "\x07", "\r", "\u202e"):
                assert control not in shown, (control, shown)


def test_an_ipv6_api_url_keeps_its_brackets() -> None:
    assert public_url("https://[::1]:8443/api") == "https://[::1]:8443/api"
    assert json.loads(json.dumps(public_url("http://[fe80::1]/api"))) == "http://[fe80::1]/api"


@pytest.mark.parametrize("retry_after", ["0", "-5"])
def test_retry_after_zero_still_backs_off_a_little(retry_after: str) -> None:
    from tracegraph.sources.api import RetryPolicy

    assert RetryPolicy().delay(1, float(retry_after)) >= 0.25


def test_csv_guards_formulas_behind_spaces_line_breaks_and_full_width_signs() -> None:
    from tracegraph.escape import csv_cell, csv_value

    for value in (
        " =1+1",
        "\n=cmd",
        "  @SUM(A1)",
        "\uff1d1+1",
        "\uff0b1",
        "\uff0d1",
        "\uff20x",
        "-1",
    ):
        assert csv_cell(value) == "'" + value and csv_value(csv_cell(value)) == value
    for value in ("ROOT-1", " plain", "a=b"):
        assert csv_cell(value) == value


def test_the_roots_of_a_deep_chain_come_in_one_pass() -> None:
    import networkx as nx

    from tracegraph.graph import top_level, top_levels

    chain = nx.DiGraph([(f"U{i}", f"U{i + 1}") for i in range(20_000)])
    roots = top_levels(chain)  # (a walk to the top per unit took 48 s at 10,000 deep)
    assert set(roots.values()) == {"U0"} and len(roots) == 20_001
    looped = nx.DiGraph([("A", "B"), ("B", "C"), ("C", "B"), ("X", "Y")])
    assert top_levels(looped) == {s: top_level(looped, s)[0] for s in looped}


def unit_scenes(*units: dict[str, Any], **answers: dict[str, Any]) -> dict[str, Any]:
    """A unit per serial, found in any case (as the API finds it); `answers` overrides by path."""
    scenes: dict[str, Any] = {}
    for unit in units:
        serial = unit["serial_number"]
        for spelling in {serial, serial.lower(), serial.upper()}:
            scenes[f"/api/v2/units/{spelling}"] = json_answer(200, unit)
    scenes.update({f"/api/v2/units/{k}": json_answer(200, v) for k, v in answers.items()})
    return scenes


def linked(serial: str, parent: object = None, children: object = ()) -> dict[str, Any]:
    def ref(serial: str) -> dict[str, str]:
        return {"id": f"u-{serial}", "serial_number": serial}

    body = unit_body(serial)
    body["parent"] = ref(parent) if isinstance(parent, str) else parent
    body["children"] = [ref(c) for c in children] if isinstance(children, tuple) else children
    return body


def test_a_unit_answered_with_another_units_record_is_not_taken_for_it(tmp_path: Any) -> None:
    # GET /v2/units/C1 answers with C9's body: C1 must not vanish, C9 must not stand in.
    units = [linked("TOP", children=("C1", "C2")), linked("C2", "TOP"), linked("C9", "ELSEWHERE")]
    scenes = unit_scenes(*units, C1=linked("C9", "ELSEWHERE"))
    with HostileServer(scenes).running() as server:
        out = tmp_path / "g.json"
        run = run_against(server, "unit", "TOP", "-o", str(out))
        assert run.code == 0, run
        assert "'C1'" in run.err and "'C9'" in run.err and "Warning:" in run.err
        nodes = {n["id"]: n for n in json.loads(out.read_text())["nodes"]}
        assert "C9" not in nodes and nodes["C1"]["status"] == "missing"
        strict = run_against(server, "unit", "TOP", "--strict", "-o", str(out))
        assert strict.code == 3
        seed = run_against(server, "unit", "C1", "-o", str(out))
        line = one_error_line(seed)
        assert "'C1'" in line and "'C9'" in line


@pytest.mark.parametrize(
    ("field", "value"),
    [("children", "C1"), ("children", {"serial_number": "C1"}), ("parent", "TOP"),
     ("children", ["C1"]), ("parent", {"serial": "TOP"})],
)  # fmt: skip
def test_malformed_links_are_named_in_a_warning(field: str, value: object, tmp_path: Any) -> None:
    body = linked("MID")
    body[field] = value
    with HostileServer(unit_scenes(body)).running() as server:
        run = run_against(server, "unit", "MID", "--strict", "-o", str(tmp_path / "g.json"))
        assert run.code == 3, run
        warning = next(line for line in run.err.splitlines() if "'MID'" in line)
        assert f"`{field}`" in warning, warning


@pytest.mark.parametrize(
    "seed", [("brd-1",), ("MOD-1", "--depth", "1"), ("MOD-1", "--scope", "up")]
)
def test_references_in_another_case_are_the_same_unit(seed: tuple[str, ...], tmp_path: Any) -> None:
    # BRD-1 lists its child as `mod-1`, MOD-1 names its parent `brd-1`: consistent data.
    units = [linked("BRD-1", children=("mod-1",)), linked("MOD-1", "brd-1")]
    with HostileServer(unit_scenes(*units)).running() as server:
        out = tmp_path / "g.json"
        run = run_against(server, "unit", *seed, "--strict", "-o", str(out))
        assert run.code == 0 and run.err == "", run
        document = json.loads(out.read_text())
        assert sorted(n["id"] for n in document["nodes"]) == ["BRD-1", "MOD-1"]
        assert [(e["source"], e["target"]) for e in document["edges"]] == [("BRD-1", "MOD-1")]
        asked = [path.split("?")[0].rsplit("/", 1)[1].casefold() for path in server.requests]
        assert len(asked) == len(set(asked)), server.requests  # each unit asked for once


def test_a_lone_surrogate_is_mended_with_a_warning_and_replays_the_same(tmp_path: Any) -> None:
    # "\ud800" is legal JSON but no Unicode text: no encoder can write it.
    top = linked("TOP", children=("LONE\ud800",))
    top["part"] = {"id": "p", "number": "P\udfff", "name": "Board \ud800", "revision": None}
    raw = json.dumps(top).encode()  # ensure_ascii: the text holds the escape `\ud800`
    scenes = {"/api/v2/units/TOP": answer(200, raw, {"Content-Type": "application/json"})}
    with HostileServer(scenes).running() as server:
        live = tmp_path / "live"
        live.mkdir()
        outputs = [str(live / f"g.{ext}") for ext in ("json", "graphml", "dot", "csv", "txt")]
        snapshot = str(tmp_path / "snap.json")
        args = [f"-o{o}" for o in outputs]
        run = run_against(server, "unit", "TOP", *args, "--save-snapshot", snapshot)
    assert run.code == 0, run
    warning = [line for line in run.err.splitlines() if "surrogate" in line]
    assert warning == [
        "Warning: unit 'TOP' holds text that is not Unicode (a lone surrogate escape such "
        "as \\ud800 in the API's JSON); it is shown as U+FFFD"
    ], run.err
    graph = json.loads((live / "g.json").read_text(encoding="utf-8"))
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["TOP"]["part_name"] == "Board \ufffd" and "LONE\ufffd" in nodes
    lxml = pytest.importorskip("lxml.etree")
    lxml.parse(str(live / "g.graphml"))  # well-formed XML
    assert "\\ud800" in (tmp_path / "snap.json").read_text(encoding="utf-8")  # recorded as sent
    replay = tmp_path / "replay"
    replay.mkdir()
    again = tracegraph(
        "unit", "TOP", *(f"-o{o.replace('live', 'replay')}" for o in outputs), "--source", snapshot
    )
    assert again.err == run.err
    for name in ("g.json", "g.graphml", "g.dot", "g.csv", "g.txt"):
        assert (replay / name).read_bytes() == (live / name).read_bytes(), name


def test_a_lone_surrogate_in_a_batch_is_mended_with_a_warning(tmp_path: Any) -> None:
    batch = {"id": "b", "number": "B\ud800", "units": [{"id": "u", "serial_number": "S\udc00"}]}
    listing = {"data": [{"id": "b", "number": "B\ud800"}], "meta": {"has_more": False}}
    scenes = {
        "/api/v2/batches": answer(200, json.dumps(listing).encode()),
        "/api/v2/batches/B%EF%BF%BD": answer(200, json.dumps(batch).encode()),
        "/api/v2/units/S%EF%BF%BD": json_answer(200, unit_body("S\ufffd")),
    }
    with HostileServer(scenes).running() as server:
        run = run_against(server, "batch", "--search", "B", "-o", str(tmp_path / "g.json"))
        listed = run_against(server, "batches", "--json")
    assert run.code == 0, run
    assert "Warning: batch 'B\ufffd' holds text that is not Unicode" in run.err
    nodes = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["nodes"]
    assert [n["id"] for n in nodes] == ["S\ufffd"]
    assert json.loads(listed.out)[0]["number"] == "B\ud800"  # as sent, escaped


def test_snapshot_version_true_is_not_version_1_and_a_bom_is_read_past(tmp_path: Any) -> None:
    document = json.loads(Path("samples/factory.json").read_text(encoding="utf-8"))
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(document).encode())
    out = tmp_path / "g.txt"
    run = tracegraph("unit", "DRN-X1-0001", "--source", str(bom), "-o", str(out))
    assert run.code == 0 and "DRN-X1-0001" in out.read_text(encoding="utf-8"), run
    document["version"] = True
    odd = tmp_path / "true.json"
    odd.write_text(json.dumps(document), encoding="utf-8")
    line = one_error_line(tracegraph("unit", "DRN-X1-0001", "--source", str(odd)))
    assert "snapshot version true" in line


@pytest.mark.parametrize(
    "args", [("unit", "A\udcff"), ("batch", "--search", "\udcfe"), ("impact", "--serial", "\udcff")]
)
def test_typed_bytes_that_are_not_utf8_are_a_usage_error(args: tuple[str, ...]) -> None:
    run = tracegraph(*args, "--source", "samples/factory.json")
    assert run.code == 2 and "is not UTF-8 text" in run.err and "\\xf" in run.err, run


def test_a_refused_unit_is_recorded_and_replayed_byte_identically(tmp_path: Any) -> None:
    scenes = unit_scenes(linked("TOP", children=("R/1", "OK")), linked("OK", "TOP"))
    scenes["/api/v2/units/R%2F1"] = json_answer(422, {"message": "bad serial", "code": "BAD"})
    snapshot = str(tmp_path / "snap.json")
    with HostileServer(scenes).running() as server:
        live = run_against(server, "unit", "TOP", "-o", str(tmp_path / "live.json"),
                           "--save-snapshot", snapshot)  # fmt: skip
    assert "'R/1'" in live.err and "refuses" in live.err and "bad serial" in live.err, live
    replay = tracegraph("unit", "TOP", "-o", str(tmp_path / "replay.json"), "--source", snapshot)
    assert (replay.code, replay.err) == (live.code, live.err)
    assert (tmp_path / "replay.json").read_bytes() == (tmp_path / "live.json").read_bytes()


# --- outputs: special targets, signals, a reader that leaves -------------------------


def test_a_special_target_that_fails_replaces_no_output(tmp_path: Path) -> None:
    kept = tmp_path / "g.json"
    kept.write_text("previous")
    full = tmp_path / "full.txt"
    full.symlink_to("/dev/full")  # a device: written in place, and always full
    run = tracegraph(
        "unit", "DRN-X1-0001", "--source", "samples/factory.json", "-o", str(kept), "-o", str(full)
    )
    assert "No space left" in one_error_line(run)
    assert kept.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.txt", "g.json"]  # no .tmp left


@pytest.mark.parametrize(
    ("signum", "code", "words"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_during_the_final_writes_leaves_no_temporary_file(
    signum: int, code: int, words: str, tmp_path: Path
) -> None:
    kept = tmp_path / "g.json"
    kept.write_text("previous")
    fifo = tmp_path / "out.txt"
    os.mkfifo(fifo)  # nobody reads it: opening it waits, with g.json staged beside
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegraph", "unit", "DRN-X1-0001", "--source",
         "samples/factory.json", "-o", str(kept), "-o", str(fifo)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".g.json.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(tmp_path.glob(".g.json.*.tmp")), "the run never staged its output"
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert (process.returncode, err) == (code, f"Error: {words}; nothing was written\n")
    assert kept.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "out.txt"]


@pytest.mark.parametrize("unbuffered", ["0", "1"])
def test_a_reader_that_leaves_ends_the_run_quietly_and_not_as_a_success(
    unbuffered: str, tmp_path: Path
) -> None:
    factory = Factory().unit("ROOT")
    for i in range(2000):
        factory.unit(f"CHILD-{i:04}", parent="ROOT")
    snapshot = tmp_path / "big.json"
    snapshot.write_text(dump_snapshot(factory.snapshot()))
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegraph", "unit", "ROOT", "--source", str(snapshot),
         "-f", "json", "-o", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10) == b'{\n  "direc'  # what `| head -c 10` reads
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=60) == 141 and err == b""
