"""The command line against a real loopback HTTP server: in-process with CliRunner,
and a handful of real subprocess runs for what needs a process (signals, a terminal)."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import pytest

from tests.builders import bike_factory, drone_factory
from tests.conftest import API_KEY, SAMPLE, assert_sdk_accepts, needs_graphviz
from tests.running import one_error_line, read_terminal, tracegraph, tracegraph_process
from tests.tofupilot_server import TofuPilotServer
from tracegraph.cli import main


def drones_file(folder: Path) -> Path:
    path = folder / "drones.json"
    path.write_text(json.dumps(drone_factory().snapshot()))
    return path


# --- end to end, as real processes ---------------------------------------------------


@needs_graphviz
def test_unit_crawl_writes_every_output_from_one_crawl(
    server: TofuPilotServer, tmp_path: Path
) -> None:
    outputs = [tmp_path / f"g.{ext}" for ext in ("svg", "json", "dot", "graphml", "txt")]
    args = [a for o in outputs for a in ("-o", str(o))]
    run = tracegraph_process("unit", "CAP-1", *args, server=server)
    assert run.code == 0, run.err
    # Four levels of the tree from CAP-1, each one page of the list endpoint; nobody alone.
    assert [r for r in server.requests if r.startswith("/api/v2/units/")] == []
    assert len([r for r in server.requests if r.startswith("/api/v2/units?")]) == 4
    data = json.loads(outputs[1].read_text())
    assert {n["id"] for n in data["nodes"]} == {"DRN-1", "FC-1", "PCB-1", "CAP-1", "CAP-2", "RES-1"}
    assert data["graph"]["source"] == server.url
    ET.fromstring(outputs[0].read_bytes())
    assert "DRN-1" in outputs[4].read_text()
    for output in outputs:
        assert API_KEY not in output.read_text()


@needs_graphviz
def test_a_snapshot_rerenders_byte_identical_output(
    server: TofuPilotServer, tmp_path: Path
) -> None:
    live = [tmp_path / f"live.{e}" for e in ("svg", "json", "dot", "pdf", "xlsx")]
    offline = [tmp_path / f"offline.{e}" for e in ("svg", "json", "dot", "pdf", "xlsx")]
    snapshot = tmp_path / "evidence.json"
    args = ["batch", "C1", "--save-snapshot", str(snapshot)]
    outputs = [a for o in live for a in ("-o", str(o))]
    assert tracegraph_process(*args, *outputs, server=server).code == 0
    args = ["batch", "C1", "--source", str(snapshot)]
    assert tracegraph(*args, *[a for o in offline for a in ("-o", str(o))]).code == 0
    for a, b in zip(live, offline, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    recorded = json.loads(snapshot.read_text())
    assert recorded["source"] == server.url and API_KEY not in snapshot.read_text()


def test_python_dash_m_runs_the_command() -> None:
    from importlib.metadata import version

    from tracegraph import __version__

    assert tracegraph_process("--version").out.strip() == f"tracegraph, version {__version__}"
    assert version("tracegraph") == __version__  # pyproject.toml reads it from one place


def test_progress_is_shown_on_a_terminal_and_not_in_a_pipe(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    args = [sys.executable, "-m", "tracegraph", "batch", "CAP-2407", "--source", str(SAMPLE)]
    args += ["-o", str(tmp_path / "g.json")]
    done = subprocess.run(args, stderr=follower, stdout=subprocess.PIPE, timeout=60)
    os.close(follower)
    shown = read_terminal(leader)
    assert done.returncode == 0
    assert b"fetched " in shown and b"in flight" in shown
    piped = tracegraph("batch", "CAP-2407", "--source", str(SAMPLE), "-o", str(tmp_path / "h.json"))
    assert piped.err == ""


@pytest.mark.parametrize(
    ("signum", "code", "words"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_ctrl_c_or_sigterm_mid_crawl_exits_and_writes_nothing(
    signum: int, code: int, words: str, drones: dict[str, Any], tmp_path: Path
) -> None:
    output = tmp_path / "g.json"
    output.write_text("previous")
    with TofuPilotServer(drones, api_key=API_KEY, latency=0.5) as server:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TOFUPILOT_")}
        environment.update(TOFUPILOT_API_URL=server.url, TOFUPILOT_API_KEY=API_KEY)
        process = subprocess.Popen(
            [sys.executable, "-m", "tracegraph", "unit", "DRN-1", "-o", str(output)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    assert process.returncode == code
    assert err == f"Error: {words}; nothing was written\n"
    assert output.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [output]


# --- in-process ----------------------------------------------------------------------


def test_text_tree_is_printed_when_no_output_is_given(server: TofuPilotServer) -> None:
    run = tracegraph("unit", "FC-2", "--scope", "down", server=server)
    assert run.code == 0
    assert run.out.splitlines()[5:] == [
        "FC-2  FC rev A  Flight controller  *",
        "└── PCB-2  PCB rev A  Main board  [batch P1]",
        "    ├── CAP-3  CAP rev A  Capacitor  [batch C1]",
        "    └── CAP-4  CAP rev B  Capacitor  [batch C2]",
    ]


def test_batch_selected_by_filters_follows_pagination(drones: dict[str, Any]) -> None:
    with TofuPilotServer(drones, api_key=API_KEY, page_size=1) as server:
        run = tracegraph(
            "batch", "--part-number", "CAP", "--scope", "up", "-o", "-", "-f", "json", server=server
        )
        assert_sdk_accepts(server.served)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    seeds = {n["id"] for n in data["nodes"] if n["seed"]}
    assert seeds == {"CAP-1", "CAP-2", "CAP-3", "CAP-4", "CAP-5", "CAP-6"}
    assert data["graph"]["seeds"] == "batches C1, C2 (matching part-number=CAP)"
    pages = [r for r in server.requests if r.startswith("/api/v2/batches?")]
    assert len(pages) == 2 and "cursor=1" in pages[1]


def test_thirty_cells_of_one_batch_reach_their_bikes_in_a_few_requests() -> None:
    with TofuPilotServer(bike_factory().snapshot(), api_key=API_KEY) as server:
        run = tracegraph(
            "batch", "CELL-2407", "--scope", "up", "-f", "json", "-o", "-", server=server
        )
        assert_sdk_accepts(server.served)
        bulk = len(server.requests)
    assert run.code == 0, run.err
    assert len(json.loads(run.out)["nodes"]) == 30 + 6 + 3 + 3
    # The batch, four levels in bulk (cells, modules, packs, bikes), the three bikes in full.
    assert bulk == 1 + 4 + 3
    with TofuPilotServer(bike_factory().snapshot(), api_key=API_KEY) as server:
        tree = tracegraph("batch", "CELL-2407", "--scope", "tree", "-q", server=server)
        tree_url = server.url
        # The whole tree in pages too: the batch, then cells, modules, packs, bikes.
        assert len(server.requests) == 1 + 4
    with TofuPilotServer(bike_factory().snapshot(), api_key=API_KEY) as server:
        full = tracegraph(
            "batch", "CELL-2407", "--scope", "tree", "--full-records", "-q", server=server
        )
        assert len(server.requests) == 1 + 4 + 30 + 6 + 3 + 3  # and every unit in full
        full_url = server.url
    assert tree.out.replace(tree_url, "") == full.out.replace(full_url, "")  # the same tree


def test_batches_lists_matching_batches_as_a_table_and_as_json(server: TofuPilotServer) -> None:
    run = tracegraph("batches", "--search", "c", server=server)
    assert run.out.splitlines() == [
        "BATCH  CREATED               UNITS",
        "C1     2024-07-01T08:00:00Z      4",
        "C2     2024-07-01T08:00:00Z      2",
        "2 batches",
    ]
    run = tracegraph("batches", "--part-number", "RES", "--json", server=server)
    assert json.loads(run.out) == [
        {"number": "R1", "created_at": "2024-07-01T08:00:00Z", "unit_count": 1}
    ]


def test_retries_ride_out_429_and_503(server: TofuPilotServer) -> None:
    server.fail_next("/api/v2/units/CAP-1", 429, 1, retry_after="0")
    server.fail_next("/api/v2/units/PCB-1", 503, 2, retry_after="0")
    run = tracegraph("unit", "CAP-1", "-f", "json", "-o", "-", server=server)
    assert run.code == 0, run.err
    assert len(json.loads(run.out)["nodes"]) == 6


def test_dangling_child_is_marked_missing_and_strict_exits_3(
    drones: dict[str, Any], tmp_path: Path
) -> None:
    drones["units"]["PCB-2"]["children"].append({"id": "x", "serial_number": "GHOST", "part": None})
    output = tmp_path / "g.json"
    with TofuPilotServer(drones, api_key=API_KEY) as server:
        run = tracegraph("unit", "CAP-3", "-o", str(output), server=server)
        assert run.code == 0
        assert "Warning: unit 'GHOST' is referenced by 'PCB-2' but does not exist (404)" in run.err
        nodes = {n["id"]: n for n in json.loads(output.read_text())["nodes"]}
        assert nodes["GHOST"]["status"] == "missing"
        assert tracegraph("unit", "CAP-3", "--strict", "-q", server=server).code == 3


def test_unknown_serial_fails_and_leaves_the_output_untouched(
    server: TofuPilotServer, tmp_path: Path
) -> None:
    output = tmp_path / "g.json"
    output.write_text("previous audit")
    run = tracegraph("unit", "NOPE-1", "-o", str(output), server=server)
    assert one_error_line(run) == f"Error: unit 'NOPE-1' not found in {server.url}"
    assert output.read_text() == "previous audit"


def test_verbose_prints_the_traceback_before_the_error_line(server: TofuPilotServer) -> None:
    run = tracegraph("unit", "NOPE-1", "-v", server=server)
    assert run.code == 1
    assert run.err.startswith("Traceback (most recent call last):")
    assert "NotFoundError" in run.err
    assert run.err.strip().splitlines()[-1] == f"Error: unit 'NOPE-1' not found in {server.url}"


def test_refused_key_fails_without_printing_it(server: TofuPilotServer, tmp_path: Path) -> None:
    output = tmp_path / "g.dot"
    run = tracegraph(
        "unit", "CAP-1", "-o", str(output), server=server, TOFUPILOT_API_KEY="wrong-key-123"
    )
    line = one_error_line(run)
    assert "refused the API key" in line and "wrong-key-123" not in line
    assert not output.exists()


def test_missing_key_is_an_error() -> None:
    line = one_error_line(tracegraph("unit", "X", "--api-url", "http://127.0.0.1:9/api"))
    assert "no API key" in line


def test_unreachable_server_fails_after_retries() -> None:
    run = tracegraph(
        "unit", "CAP-1", "--api-url", "http://127.0.0.1:9/api", "--retries", "1",
        TOFUPILOT_API_KEY=API_KEY,
    )  # fmt: skip
    assert "failed after 2 attempts: network error" in one_error_line(run)


def test_unreadable_snapshot_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert "not valid JSON" in one_error_line(tracegraph("unit", "X", "--source", str(bad)))
    missing = tmp_path / "absent.json"
    assert "cannot read snapshot" in one_error_line(
        tracegraph("unit", "X", "--source", str(missing))
    )


def test_unwritable_output_fails_before_crawling(server: TofuPilotServer, tmp_path: Path) -> None:
    line = one_error_line(
        tracegraph("unit", "CAP-1", "-o", str(tmp_path / "no" / "such" / "g.svg"), server=server)
    )
    assert "does not exist" in line
    assert server.requests == []


def test_a_file_that_cannot_be_made_fails_and_keeps_the_others(tmp_path: Path) -> None:
    # A name too long for the file system once tracegraph adds its temporary
    # prefix and suffix: a failure root gets too (unlike a read-only folder).
    keep = tmp_path / "keep.json"
    keep.write_text("previous")
    too_long = tmp_path / ("g" * 245 + ".json")
    run = tracegraph(
        "unit", "FC-1", "--source", str(drones_file(tmp_path)), "-o", str(keep), "-o", str(too_long)
    )
    assert one_error_line(run).startswith(f"Error: cannot write {str(too_long)!r}")
    assert keep.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drones.json", "keep.json"]


def test_output_where_no_file_can_be_made_fails(tmp_path: Path) -> None:
    keep = tmp_path / "keep.json"
    keep.write_text("previous")
    run = tracegraph(
        "unit", "DRN-X1-0001", "--source", str(SAMPLE), "-o", str(keep), "-o", "/proc/g.json"
    )
    assert one_error_line(run).startswith("Error: cannot write '/proc/g.json'")
    assert keep.read_text() == "previous"
    assert not list(Path("/proc").glob(".g.json.*"))


def test_a_pipe_output_is_written_not_replaced(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    run = tracegraph(
        "unit", "FC-1", "--source", str(drones_file(tmp_path)), "-o", str(pipe), "-f", "txt"
    )
    reader.join(10)
    assert run.code == 0, run.err
    assert b"FC-1  FC rev A  Flight controller  *" in received[0]
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still the pipe, not a file put in its place


def test_a_failing_second_output_leaves_the_first_untouched(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text("previous")
    blocker = tmp_path / "b.json"
    blocker.mkdir()
    run = tracegraph(
        "unit", "DRN-X1-0001", "--source", str(SAMPLE), "-o", str(first), "-o", str(blocker)
    )
    assert "is a folder" in one_error_line(run)
    assert first.read_text() == "previous"


def test_max_units_stops_and_writes_nothing(server: TofuPilotServer, tmp_path: Path) -> None:
    output = tmp_path / "g.json"
    run = tracegraph("unit", "DRN-1", "--max-units", "3", "-o", str(output), server=server)
    assert "--max-units 3" in one_error_line(run)
    assert not output.exists()


def test_svg_without_graphviz_says_how_to_install_it(tmp_path: Path) -> None:
    args = ["unit", "DRN-X1-0001", "--source", str(SAMPLE)]
    run = tracegraph(*args, "-o", str(tmp_path / "g.svg"), PATH=str(tmp_path))
    assert "apt-get install graphviz" in one_error_line(run)
    run = tracegraph(*args, "-o", str(tmp_path / "g.dot"), PATH=str(tmp_path))
    assert run.code == 0 and (tmp_path / "g.dot").exists()


def test_usage_errors_exit_2() -> None:
    assert tracegraph("unit", "X", "--scope", "sideways").code == 2
    assert tracegraph("batch").code == 2
    assert tracegraph("batch", "--created-after", "yesterday").code == 2
    assert tracegraph("impact").code == 2


def test_every_command_has_help_with_an_example() -> None:
    assert isinstance(main, click.Group)
    for name in main.commands:
        run = tracegraph(name, "-h")
        assert run.code == 0 and "Example:" in run.out, name
    # The key comes from the environment in every example: an option shows in `ps`.
    assert "--api-key $" not in tracegraph("unit", "-h").out


def test_sample_factory_bodies_pass_the_official_sdk(sample: dict[str, Any]) -> None:
    served = [("unit", u) for u in sample["units"].values()]
    served += [("batch", b) for b in sample["batches"].values()]
    assert len(served) > 150
    assert_sdk_accepts(served)


def test_factory_builder_bodies_pass_the_official_sdk() -> None:
    for factory in (drone_factory(), bike_factory()):
        assert_sdk_accepts([("unit", u) for u in factory.snapshot()["units"].values()])


def test_inverter_plant_bodies_pass_the_official_sdk() -> None:
    sys.path.insert(0, str(SAMPLE.parent))
    from generate_factory import build_inverters, snapshot

    plant = snapshot(build_inverters())
    served = [("unit", u) for u in plant["units"].values()]
    served += [("batch", b) for b in plant["batches"].values()]
    assert len(served) > 972
    assert_sdk_accepts(served)


@needs_graphviz
def test_collapse_and_layout_options_shape_the_picture(tmp_path: Path) -> None:
    source = str(SAMPLE)
    pictures = {}
    for name, options in {
        "auto": [],
        "folded": ["--collapse", "siblings"],
        "tree": ["--collapse", "none", "--layout", "tree"],
    }.items():
        out = tmp_path / f"{name}.svg"
        run = tracegraph("batch", "CAP-2407", "--source", source, "-q", *options, "-o", str(out))
        assert run.code == 0, run.err
        pictures[name] = out.read_text()
    assert "· 140 units" in pictures["auto"] and "drawn in groups" not in pictures["auto"]
    assert "140 units (80 drawn in groups)" in pictures["folded"]
    assert pictures["folded"].count('class="node"') == 140 - 80 + 22  # 22 groups
    assert pictures["tree"].count('class="node"') == 140

    def square_edges(svg: str) -> bool:  # the tree layout's edges run level or plumb
        paths = re.findall(r'class="edge">\n<title>[^<]*</title>\n<path [^>]* d="M([^"]+)"', svg)
        routes = [
            [tuple(map(float, p.split(","))) for p in d.replace("C", " ").split()] for d in paths
        ]
        return len(paths) > 100 and all(
            a[0] == b[0] or a[1] == b[1] for route in routes for a, b in itertools.pairwise(route)
        )

    assert square_edges(pictures["tree"]) and not square_edges(pictures["auto"])


def test_collapse_layout_and_timeout_mistakes_are_usage_errors() -> None:
    for option, value in [
        ("--collapse", "some"),
        ("--layout", "radial"),
        ("--layout-timeout", "0"),
        ("--layout-timeout", "soon"),
    ]:
        run = tracegraph("unit", "X", "--source", str(SAMPLE), option, value, "-o", "x.svg")
        assert run.code == 2 and option in run.err, (option, value, run.err)


def test_outputs_never_overwrite_the_source_snapshot(tmp_path: Path) -> None:
    source = drones_file(tmp_path)
    before = source.read_bytes()
    run = tracegraph("unit", "FC-1", "--source", str(source), "--save-snapshot", str(source))
    assert "it is the --source snapshot" in one_error_line(run)
    run = tracegraph("unit", "FC-1", "--source", str(source), "-o", str(source))
    assert "it is the --source snapshot" in one_error_line(run)
    assert source.read_bytes() == before


def test_snapshot_folder_is_checked_before_the_crawl(
    server: TofuPilotServer, tmp_path: Path
) -> None:
    run = tracegraph(
        "unit", "FC-1", "--save-snapshot", str(tmp_path / "no" / "s.json"), server=server
    )
    assert "does not exist" in one_error_line(run)
    assert server.requests == []


def test_format_mistakes_are_usage_errors(tmp_path: Path) -> None:
    source = str(drones_file(tmp_path))
    assert tracegraph("unit", "FC-1", "--source", source, "-o", "x.docx").code == 2
    assert tracegraph("unit", "FC-1", "--source", source, "-o", "-", "-f", "bmp").code == 2
    picture = tmp_path / "pic.svg"
    run = tracegraph("unit", "FC-1", "--source", source, "-o", str(picture), "-f", "csv")
    assert run.code == 2 and "another format than its extension" in run.err
    assert not picture.exists()


def test_a_folder_as_source_is_an_unreadable_snapshot(tmp_path: Path) -> None:
    assert "cannot read snapshot" in one_error_line(
        tracegraph("unit", "X", "--source", str(tmp_path))
    )


def test_verbose_says_when_it_retries(server: TofuPilotServer) -> None:
    server.fail_next("/api/v2/units", 503, 1, retry_after="0")
    run = tracegraph("unit", "FC-1", "-v", server=server)
    assert run.code == 0
    # Retry-After: 0 still backs off a little
    assert "Retrying: GET /v2/units: HTTP 503; retry 1 of 5 in 0.2 s" in run.err
    # Three levels in pages: FC-1; DRN-1, PCB-1, CAP-1; CAP-2, RES-1.
    assert "crawled 6 units with 3 unit lookups" in run.err
