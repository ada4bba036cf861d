"""SVG, PNG and PDF: Graphviz's `dot` program drawing the genealogy's DOT."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess

import networkx as nx

from tracegraph.errors import ExportError
from tracegraph.export.dot import to_drawing
from tracegraph.export.options import ExportOptions
from tracegraph.export.svg import retitle

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install "
    "graphviz; Windows: winget install graphviz) — DOT, GraphML and JSON work without it"
)


def find_dot() -> str:
    """The path of Graphviz's `dot`, or an `ExportError` that says how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise ExportError(f"Graphviz's 'dot' program is not on PATH: {INSTALL_HINT}")
    return path


def render(graph: nx.DiGraph, fmt: str, options: ExportOptions) -> bytes:
    """Draw the genealogy with Graphviz as `fmt` (svg, png or pdf)."""
    dot = find_dot()
    drawing = to_drawing(graph)
    try:
        result = subprocess.run(
            [dot, f"-T{fmt}"],
            input=drawing.dot.encode("utf-8"),
            capture_output=True,
            timeout=options.layout_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExportError(
            f"Graphviz took longer than {options.layout_timeout:g} s to lay out "
            f"{graph.number_of_nodes()} units; narrow the genealogy (--scope, --depth), raise "
            "--layout-timeout, or export DOT/GraphML/JSON instead"
        ) from None
    except OSError as error:
        raise ExportError(f"cannot run Graphviz's 'dot': {error.strerror}") from None
    if result.returncode != 0 or not result.stdout:
        raise ExportError(f"Graphviz could not draw the {fmt.upper()}: {_failure(result)}")
    if fmt == "svg":
        return retitle(result.stdout, drawing)
    if fmt == "pdf":
        return _dated(result.stdout, str(graph.graph.get("generated_at", "")))
    return result.stdout


def _failure(result: subprocess.CompletedProcess[bytes]) -> str:
    """What went wrong in Graphviz, in one line."""
    if result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = f"signal {-result.returncode}"
        return f"'dot' crashed ({name})"
    message = result.stderr.decode("utf-8", "replace").strip().splitlines()
    if message:
        return message[-1].removeprefix("Error: ")
    if result.returncode:
        return f"'dot' exited with status {result.returncode}"
    return "'dot' wrote nothing"


def _dated(pdf: bytes, generated_at: str) -> bytes:
    """The PDF with the genealogy's time as its creation date (cairo 1.16 writes now).

    The date keeps its length, so the cross-reference offsets stay right.
    """
    digits = re.sub(r"\D", "", generated_at)[:14].encode()
    if len(digits) != 14:
        return pdf
    return re.sub(rb"(/CreationDate \(D:)\d{14}", lambda m: m[1] + digits, pdf, count=1)


def to_svg(graph: nx.DiGraph, options: ExportOptions | None = None) -> bytes:
    return render(graph, "svg", options or ExportOptions())


def to_png(graph: nx.DiGraph, options: ExportOptions | None = None) -> bytes:
    return render(graph, "png", options or ExportOptions())


def to_pdf(graph: nx.DiGraph, options: ExportOptions | None = None) -> bytes:
    return render(graph, "pdf", options or ExportOptions())
