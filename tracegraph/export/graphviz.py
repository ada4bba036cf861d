"""SVG, PNG and PDF: Graphviz drawing the genealogy's picture.

Graphviz lays the picture out with `dot`, or, when the tree layout placed the
boxes already, only renders it (`-Kneato -n2`). A PNG is laid out first and
rendered second, so that its size is known before it is made: Graphviz cannot
write a PNG over 32,767 pixels across, and a picture bigger than that is
scaled down to fit, with a warning, as long as its smallest text stays
readable; otherwise it is an error that says what to use instead.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import networkx as nx

from tracegraph.errors import ExportError, TracegraphWarning
from tracegraph.export.drawing import BOUNDING_BOX, Drawing, to_drawing
from tracegraph.export.options import ExportOptions
from tracegraph.export.svg import join_pieces, retitle

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install "
    "graphviz; Windows: winget install graphviz) — DOT, GraphML and JSON work without it"
)
PNG_MAX_PIXELS = 32_767  # across or down: what Graphviz's PNG writer takes
PNG_DPI = 96
SMALLEST_TEXT = 9  # points: the smallest label text
READABLE_PIXELS = 6  # below this many pixels tall, text is a smudge
PAD = 8.0  # points Graphviz adds around a picture (4 each side)


def find_dot() -> str:
    """The path of Graphviz's `dot`, or an `ExportError` that says how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise ExportError(f"Graphviz's 'dot' program is not on PATH: {INSTALL_HINT}")
    return path


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


class GraphvizRuns:
    """Runs of Graphviz for one picture, all within one deadline."""

    def __init__(self, graph: nx.DiGraph, options: ExportOptions) -> None:
        self.dot = find_dot()
        self.units = graph.number_of_nodes()
        self.timeout = options.layout_timeout
        self.deadline = time.monotonic() + options.layout_timeout

    def run(self, arguments: list[str], text: bytes, what: str) -> bytes:
        left = self.deadline - time.monotonic()
        try:
            if left <= 0:
                raise subprocess.TimeoutExpired(self.dot, self.timeout)
            result = subprocess.run(
                [self.dot, *arguments], input=text, capture_output=True, timeout=left, check=False
            )
        except subprocess.TimeoutExpired:
            raise ExportError(
                f"Graphviz took longer than {self.timeout:g} s to lay out {self.units} units; "
                "try --layout tree (linear time), --collapse siblings, or narrow the genealogy "
                "(--scope, --depth); or raise --layout-timeout"
            ) from None
        except OSError as error:
            raise ExportError(f"cannot run Graphviz's 'dot': {error.strerror}") from None
        if result.returncode != 0 or not result.stdout:
            raise ExportError(f"Graphviz could not {what}: {_failure(result)}")
        return result.stdout

    def run_side_by_side(self, arguments: list[str], texts: list[bytes], what: str) -> list[bytes]:
        """`run` on each text, as many at once as the machine has cores."""
        if len(texts) == 1:
            return [self.run(arguments, texts[0], what)]
        workers = min(len(texts), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda text: self.run(arguments, text, what), texts))


def _png(graphviz: GraphvizRuns, drawing: Drawing) -> bytes:
    """Lay out, then render at a resolution that fits a PNG (or say why it cannot)."""
    laid_out = graphviz.run([*drawing.engine, "-Tdot"], drawing.dot.encode("utf-8"), "draw the PNG")
    found = BOUNDING_BOX.search(laid_out)
    size = max(float(found[3]) - float(found[1]), float(found[4]) - float(found[2])) if found else 0
    dpi = PNG_DPI
    pixels = (size + PAD) * dpi / 72
    if pixels > PNG_MAX_PIXELS:
        dpi = math.floor((PNG_MAX_PIXELS - 1) * 72 / (size + PAD))
        text = SMALLEST_TEXT * dpi / 72
        if text < READABLE_PIXELS:
            raise ExportError(
                f"the picture is {pixels:,.0f} pixels across, and a PNG holds at most "
                f"{PNG_MAX_PIXELS:,}: scaled down to fit, its text would be {text:.1f} pixels "
                "tall; write SVG or HTML (any size), or fold repeated parts (--collapse siblings)"
            )
        warnings.warn(
            TracegraphWarning(
                f"the PNG is drawn at {dpi} dpi instead of {PNG_DPI} to stay within "
                f"{PNG_MAX_PIXELS:,} pixels ({pixels:,.0f} at {PNG_DPI} dpi); SVG and HTML "
                "keep every detail"
            ),
            stacklevel=2,
        )
    return graphviz.run(["-Kneato", "-n2", f"-Gdpi={dpi}", "-Tpng"], laid_out, "draw the PNG")


def draw(graph: nx.DiGraph, fmt: str, options: ExportOptions) -> tuple[bytes, Drawing]:
    """Draw the genealogy with Graphviz as `fmt` (svg, png or pdf), and say what is where."""
    graphviz = GraphvizRuns(graph, options)
    drawing = to_drawing(graphviz, graph, options)
    if fmt == "png":
        return _png(graphviz, drawing), drawing
    arguments, what = [*drawing.engine, f"-T{fmt}"], f"draw the {fmt.upper()}"
    if fmt == "svg":
        pieces = [piece.encode("utf-8") for piece in drawing.pieces()]
        drawn = join_pieces(graphviz.run_side_by_side(arguments, pieces, what))
        return retitle(drawn, drawing), drawing
    drawn = graphviz.run(arguments, drawing.dot.encode("utf-8"), what)
    return _dated(drawn, str(graph.graph.get("generated_at", ""))), drawing


def render(graph: nx.DiGraph, fmt: str, options: ExportOptions) -> bytes:
    """Draw the genealogy with Graphviz as `fmt` (svg, png or pdf)."""
    return draw(graph, fmt, options)[0]


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
