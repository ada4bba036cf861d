"""--redact: keyed tokens instead of serials, unit ids, user and station names, in every output."""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import networkx as nx
import pytest
from click.testing import CliRunner

from tests import clients
from tests.builders import HOSTILE_SERIALS, Factory
from tests.conftest import API_KEY, SAMPLE, needs_graphviz
from tests.tofupilot_server import TofuPilotServer
from tracegraph.cli import main
from tracegraph.crawl import crawl_genealogy
from tracegraph.errors import TracegraphError
from tracegraph.graph import build_graph
from tracegraph.redact import Redactor
from tracegraph.sources.snapshot import SnapshotSource, dump_snapshot
from tracegraph.tracing import run_sync

KEY = "correct horse battery staple"  # 28 bytes
OTHER_KEY = "another key of enough bytes"
TOKEN = re.compile(r"R-[A-Z2-7]{13}")
GRAPH_FORMATS = ("dot", "svg", "html", "pdf", "graphml", "json", "txt", "csv", "mmd", "xlsx")


def run(*args: str, key: str | None = KEY, **env: str) -> Any:
    environment = {"SOURCE_DATE_EPOCH": "1795000000", **env}
    if key is not None:
        environment["TRACEGRAPH_REDACT_KEY"] = key
    return CliRunner().invoke(main, list(args), env=environment)


def outputs(folder: Path, stem: str, formats: tuple[str, ...]) -> list[str]:
    return [a for f in formats for a in ("-o", str(folder / f"{stem}.{f}"))]


def readable(path: Path) -> str:
    """All the text a file holds, as the format stores it and decoded from each escape
    it may use: XML and HTML entities, Mermaid's `#35;`, percent-encoding, JSON `\\u`."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            raw = "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    elif path.suffix == ".pdf":
        pdftotext = clients.need("poppler's pdftotext", shutil.which("pdftotext"), "poppler-utils")
        raw = subprocess.run(
            [pdftotext, str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        raw += path.read_bytes().decode("latin-1")
    else:
        raw = path.read_bytes().decode("utf-8", "replace")
    forms = [raw, html.unescape(raw), unquote(raw)]
    forms.append(re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), raw))
    forms.append(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw))
    return "\n".join(forms)


def encodings(value: str) -> set[str]:
    """A value as each format may write it."""
    from urllib.parse import quote

    return {
        value,
        html.escape(value),
        quote(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        value.replace("\\", "\\\\").replace('"', '\\"'),
    }


# --- Every format, no original left -------------------------------------------------------


def secret_snapshot() -> dict[str, Any]:
    """Hostile serials, each marked SECRET, with SECRET users, stations and a 404 child."""
    factory = Factory().unit("SECRET-ROOT", "TOP", batch="KEEP-1", name="Top")
    for i, hostile in enumerate(HOSTILE_SERIALS):
        factory.unit(f"SECRET{i}{hostile}", f"P{i}", parent="SECRET-ROOT", batch="KEEP-2")
    snapshot = factory.snapshot()
    for body in snapshot["units"].values():
        body["created_by_user"]["name"] = 'SECRETUSER <Ada> & "Bob"'
        body["created_by_station"]["name"] = "SECRETSTATION/ü#1;"
    snapshot["units"]["SECRET-ROOT"]["children"].append(
        {"id": "unit-SECRET-GONE", "serial_number": "SECRET-GONE", "part": None}
    )
    return snapshot


@needs_graphviz
def test_every_format_with_redact_holds_no_original_in_any_encoding(tmp_path: Path) -> None:
    source = tmp_path / "secret.json"
    source.write_text(dump_snapshot(secret_snapshot()))
    made = outputs(tmp_path, "unit", (*GRAPH_FORMATS, "png", "jsonld"))
    done = run("unit", "SECRET-ROOT", "--source", str(source), "--redact", *made)
    assert done.exit_code == 0, done.output
    shown = run("unit", "SECRET-ROOT", "--source", str(source), "--redact")
    impact = run(
        "impact", "--serial", "SECRET0node", "--source", str(source), "--redact",
        *outputs(tmp_path, "impact", ("csv", "json", "xlsx", "txt", "jsonld", "svg")),
    )  # fmt: skip
    assert impact.exit_code == 0, impact.output
    files = sorted(p for p in tmp_path.iterdir() if p.name != "secret.json")
    assert len(files) == 18
    texts = {p.name: readable(p) for p in files if p.suffix != ".png"}
    texts["stdout"] = shown.output
    texts["impact stdout"] = impact.output
    for name, text in texts.items():
        assert "SECRET" not in text.upper(), name
        assert TOKEN.search(text), name
    assert "KEEP-1" in texts["unit.json"] and "KEEP-2" in texts["unit.csv"]  # batches are kept
    for name in ("unit.jsonld", "impact.jsonld"):
        assert not clients.epcis_errors(json.loads((tmp_path / name).read_text())), name
    # The redacted files still open in their clients (the tokens are plain text).
    from lxml import etree

    clients.graphml_schema().assertValid(etree.parse(str(tmp_path / "unit.graphml")))
    etree.parse(str(tmp_path / "impact.svg")), etree.parse(str(tmp_path / "unit.svg"))
    names = subprocess.run(
        [clients.graphviz(), "-Tjson0", str(tmp_path / "unit.dot")],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    assert len(TOKEN.findall(names)) >= len(HOSTILE_SERIALS)
    read = nx.node_link_graph(json.loads((tmp_path / "unit.json").read_text()), edges="edges")
    assert read.number_of_nodes() == len(HOSTILE_SERIALS) + 2  # the root and the 404 child
    assert "1 warning" in shown.output  # the 404 child's warning, redacted too


@needs_graphviz
def test_samples_with_redact_name_no_serial_unit_id_user_or_station(tmp_path: Path) -> None:
    made = outputs(tmp_path, "unit", (*GRAPH_FORMATS, "jsonld"))
    done = run("unit", "DRN-X1-0001", "--source", str(SAMPLE), "--redact", *made)
    assert done.exit_code == 0, done.output
    graph = json.loads((tmp_path / "unit.json").read_text())
    plain = run_sync(_sample_graph())
    originals = set(plain) | {a["unit_id"] for _, a in plain.nodes(data=True)}
    originals |= {a[k] for _, a in plain.nodes(data=True) for k in ("created_by", "station")}
    assert len(originals) > 60
    for path in sorted(tmp_path.iterdir()):
        text = readable(path)
        leaks = {v for v in originals for form in encodings(v) if form in text}
        assert not leaks, (path.name, sorted(leaks)[:5])
    assert not clients.epcis_errors(json.loads((tmp_path / "unit.jsonld").read_text()))
    assert {n["part_number"] for n in graph["nodes"]} == {
        a["part_number"] for _, a in plain.nodes(data=True)
    }


async def _sample_graph() -> nx.DiGraph:
    genealogy = await crawl_genealogy(SnapshotSource.from_file(SAMPLE), ["DRN-X1-0001"])
    return build_graph(genealogy, seeds_label="unit DRN-X1-0001")


# --- Same structure, same tokens ----------------------------------------------------------


def read_map(path: Path) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["kind", "value", "token"]
    return {value: token for kind, value, token in rows[1:]}


@needs_graphviz
def test_structure_counts_and_colours_are_unchanged(tmp_path: Path) -> None:
    plain, redacted = tmp_path / "plain", tmp_path / "redacted"
    plain.mkdir(), redacted.mkdir()
    formats = ("json", "svg", "txt")
    args = ("unit", "DRN-X1-0001", "--source", str(SAMPLE))
    assert run(*args, *outputs(plain, "g", formats)).exit_code == 0
    done = run(*args, "--redact", "--redact-map", str(tmp_path / "map.csv"),
               *outputs(redacted, "g", formats))  # fmt: skip
    assert done.exit_code == 0, done.output
    tokens = read_map(tmp_path / "map.csv")
    before = json.loads((plain / "g.json").read_text())
    after = json.loads((redacted / "g.json").read_text())
    assert {(tokens[e["source"]], tokens[e["target"]]) for e in before["edges"]} == {
        (e["source"], e["target"]) for e in after["edges"]
    }
    kept = ("part_number", "part_name", "revision", "batch", "outcome", "created_at", "depth")
    assert sorted(tuple(n[k] for k in kept) for n in before["nodes"]) == sorted(
        tuple(n[k] for k in kept) for n in after["nodes"]
    )

    def fills(svg: Path) -> list[str]:
        return sorted(re.findall(r'fill="(#[0-9a-f]{6})"', svg.read_text()))

    assert fills(plain / "g.svg") == fills(redacted / "g.svg")
    assert len((plain / "g.txt").read_text().splitlines()) == len(
        (redacted / "g.txt").read_text().splitlines()
    )


def test_same_serial_same_token_across_formats_and_runs_other_key_other_tokens(
    tmp_path: Path,
) -> None:
    args = ("unit", "DRN-X1-0001", "--source", str(SAMPLE), "--redact")
    for name, key in (("a", KEY), ("b", KEY), ("c", OTHER_KEY)):
        made = outputs(tmp_path, name, ("json", "csv", "jsonld", "txt"))
        done = run(*args, "--redact-map", str(tmp_path / f"{name}.map.csv"), *made, key=key)
        assert done.exit_code == 0, done.output
    first, again, other = (read_map(tmp_path / f"{n}.map.csv") for n in "abc")
    assert first == again
    assert not set(first.values()) & set(other.values())
    token = first["DRN-X1-0001"]
    assert TOKEN.fullmatch(token)
    for suffix in ("json", "csv", "jsonld", "txt"):
        assert token in (tmp_path / f"a.{suffix}").read_text(encoding="utf-8-sig"), suffix
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert f"urn:tracegraph:unit:{token}" in (tmp_path / "a.jsonld").read_text()
    for name in "abc":
        assert not clients.epcis_errors(json.loads((tmp_path / f"{name}.jsonld").read_text()))


def test_redacted_epcis_passes_gs1_schema(tmp_path: Path) -> None:
    out = tmp_path / "g.jsonld"
    done = run("impact", "CAP-2407", "--source", str(SAMPLE), "-q", "--redact", "-o", str(out))
    assert done.exit_code == 0, done.output
    errors = clients.epcis_errors(json.loads(out.read_text()))
    assert not errors, errors[:5]


def test_redact_batches_replaces_batch_numbers_but_keeps_part_numbers(tmp_path: Path) -> None:
    out = tmp_path / "g.json"
    done = run("batch", "CAP-2407", "--source", str(SAMPLE), "--redact", "--redact-batches",
               "--redact-map", str(tmp_path / "m.csv"), "-o", str(out))  # fmt: skip
    assert done.exit_code == 0, done.output
    text = out.read_text()
    assert "CAP-2407" not in text and "CAP-10" in text
    data = json.loads(text)
    assert TOKEN.fullmatch(data["graph"]["seeds"].removeprefix("batch "))
    assert data["graph"]["redacted"] == "serials, unit ids, users, stations, batches"
    kinds = {row[0] for row in csv.reader(io.StringIO((tmp_path / "m.csv").read_text()))}
    assert {"batch", "serial", "unit id", "user", "station"} <= kinds


def test_saved_snapshot_is_never_redacted_and_stderr_says_so(tmp_path: Path) -> None:
    snapshot = tmp_path / "evidence.json"
    done = run("unit", "DRN-X1-0001", "--source", str(SAMPLE), "--redact",
               "--save-snapshot", str(snapshot), "-o", str(tmp_path / "g.json"))  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "is not redacted: it is the evidence" in done.output
    assert "DRN-X1-0001" in snapshot.read_text()
    assert "DRN-X1-0001" not in (tmp_path / "g.json").read_text()


def test_title_given_by_the_user_is_redacted_like_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "g.txt"
    done = run("unit", "DRN-X1-0001", "--source", str(SAMPLE), "--redact",
               "--title", "Drone DRN-X1-0001 for ACME", "-o", str(out), "-f", "txt")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "DRN-X1-0001" not in out.read_text()


# --- Bad input: one Error: line each --------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ((), None, "--redact needs a key: set TRACEGRAPH_REDACT_KEY"),
        ((), "short key", "the redaction key has 9 bytes; it needs at least 16"),
        (("--redact-key-file", "/nonexistent/key"), None, "cannot read --redact-key-file"),
    ],
    ids=["no-key", "short-key", "unreadable-file"],
)
def test_redact_without_a_good_key_is_one_error_line(
    extra: tuple[str, ...], key: str | None, message: str, tmp_path: Path
) -> None:
    out = tmp_path / "g.json"
    done = run("unit", "DRN-X1-0001", "--source", str(SAMPLE), "--redact", *extra,
               "-o", str(out), key=key)  # fmt: skip
    assert done.exit_code == 2
    errors = [line for line in done.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], done.output
    assert not out.exists()


@pytest.mark.parametrize("option", ["--redact-batches", "--redact-map=m.csv"])
def test_redact_options_without_redact_are_an_error(option: str) -> None:
    done = run("unit", "DRN-X1-0001", "--source", str(SAMPLE), option)
    assert done.exit_code == 2 and "needs --redact" in done.output


def test_key_file_with_a_trailing_line_break_is_the_same_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY.encode() + b"\n")
    maps = []
    from_file = ("--redact-key-file", str(key_file))
    for name, extra, key in (("env", (), KEY), ("file", from_file, None)):
        done = run("unit", "DRN-X1-0001", "--source", str(SAMPLE), "--redact", *extra,
                   "--redact-map", str(tmp_path / f"{name}.csv"), "-q", key=key)  # fmt: skip
        assert done.exit_code == 0, done.output
        maps.append(read_map(tmp_path / f"{name}.csv"))
    assert maps[0] == maps[1]


# --- The Redactor itself ----------------------------------------------------------------------


def test_token_hides_prefix_and_length_and_depends_on_the_key() -> None:
    redactor = Redactor(KEY.encode())
    short, long = redactor.token("A"), redactor.token("SN-" + "0" * 200)
    assert TOKEN.fullmatch(short) and TOKEN.fullmatch(long)
    neighbours = [redactor.token(f"SN-{i:04d}") for i in range(200)]
    assert len(set(neighbours)) == 200
    # Serials sharing a prefix share no more of their tokens than chance would give.
    shared = sum(a[2] == b[2] for a, b in itertools.pairwise(neighbours))
    assert shared < 30
    assert Redactor(KEY.encode()).token("A") == short != Redactor(OTHER_KEY.encode()).token("A")
    assert redactor.token("") == ""
    assert KEY not in repr(redactor)


def test_key_shorter_than_16_bytes_is_refused() -> None:
    with pytest.raises(TracegraphError, match="at least 16"):
        Redactor(b"fifteen bytes..")
    Redactor(b"sixteen bytes..!")


def test_text_replaces_quoted_and_bare_serials_but_not_parts_of_words() -> None:
    redactor = Redactor(KEY.encode())
    token_a, token_tab = redactor.token("a"), redactor.token("tab\there")
    said = redactor.text("unit 'a' has a parent; units a, 'tab\\there'")
    assert said == f"unit '{token_a}' has {token_a} parent; units {token_a}, '{token_tab}'"


def test_removed_links_are_redacted_with_the_same_tokens() -> None:
    redactor = Redactor(KEY.encode())
    (link,) = redactor.redact_links([("P-1", "C-1", "2024-08-01T00:00:00Z")])
    assert link == (redactor.token("P-1"), redactor.token("C-1"), "2024-08-01T00:00:00Z")


def test_warnings_naming_units_outside_the_graph_are_redacted() -> None:
    factory = Factory().unit("TOP").unit("MID", parent="TOP").unit("LOW", parent="MID")
    snapshot = factory.snapshot()
    snapshot["units"]["TOP"]["children"].append({"id": "unit-GHOST", "serial_number": "GHOST"})
    genealogy = run_sync(crawl_genealogy(SnapshotSource(snapshot), ["TOP"], max_depth=1))
    graph = build_graph(genealogy, seeds_label="unit TOP")
    redacted = Redactor(KEY.encode()).redact_graph(graph, genealogy)
    text = json.dumps([redacted.graph, list(redacted.nodes(data=True))])
    assert not any(s in text for s in ("TOP", "MID", "LOW", "GHOST", "unit-"))
    assert nx.is_isomorphic(graph, redacted)


def test_a_crawl_of_the_api_in_pages_with_redact_names_no_unit(
    server: TofuPilotServer, drones: dict[str, Any], tmp_path: Path
) -> None:
    made = outputs(tmp_path, "g", ("json", "jsonld", "csv"))
    done = run("batch", "C1", "--redact", *made,
               TOFUPILOT_API_URL=server.url, TOFUPILOT_API_KEY=API_KEY)  # fmt: skip
    assert done.exit_code == 0, done.output
    originals = set(drones["units"]) | {u["id"] for u in drones["units"].values()}
    originals |= {"Ada Operator", "Line-1"}
    for path in sorted(tmp_path.iterdir()):
        text = readable(path)
        assert not {v for v in originals if v in text}, path.name
    graph = json.loads((tmp_path / "g.json").read_text())
    assert "list" in {n["record"] for n in graph["nodes"]}  # read in pages, not unit by unit
    assert not clients.epcis_errors(json.loads((tmp_path / "g.jsonld").read_text()))


def test_a_unit_named_only_in_a_warning_is_redacted_too() -> None:
    # The API answers for CHILD with the record of OTHER: the warning names OTHER,
    # of which the crawl keeps no record.
    snapshot = Factory().unit("TOP", batch="B-1").unit("CHILD", parent="TOP").snapshot()
    other = dict(snapshot["units"]["CHILD"], serial_number="OTHER", id="unit-OTHER")
    snapshot["units"]["CHILD"] = other
    genealogy = run_sync(crawl_genealogy(SnapshotSource(snapshot), ["TOP"]))
    graph = build_graph(genealogy, seeds_label="unit TOP")
    assert any("'OTHER'" in w for w in graph.graph["warnings"])
    redactor = Redactor(KEY.encode())
    warnings = redactor.redact_graph(graph, genealogy).graph["warnings"]
    assert not any(s in w for w in warnings for s in ("OTHER", "CHILD", "TOP"))
    assert any(repr(redactor.token("OTHER")) in w for w in warnings)
