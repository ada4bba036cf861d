"""SVG, PNG and PDF: the genealogy's picture, drawn by Graphviz or, when placed, written here.

Graphviz lays the picture out with `dot`, or, when the tree layout placed the
boxes already, only renders it (`-Kneato -n2`): a PNG, or a PDF on a page.
A placed SVG, or PDF without a page, is written by tracegraph (`placed.py`),
and Graphviz draws only its title block and key. A PNG is laid out first and
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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import networkx as nx

from tracegraph.errors import ExportError, TracegraphWarning
from tracegraph.picture import legend, pdf, placed, style, svg
from tracegraph.picture.drawing import (
    BOUNDING_BOX,
    GRAPH_NAME,
    STAND_IN,
    Drawing,
    Plan,
    placed_plan,
    sketch_of,
    to_drawing,
)
from tracegraph.picture.metrics import metrics_for
from tracegraph.picture.options import PictureOptions, page_size
from tracegraph.picture.scene import write_dot
from tracegraph.picture.svg import placed_svg, retitle

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install "
    "graphviz; Windows: winget install graphviz) — DOT, GraphML and JSON work without it"
)
PNG_MAX_PIXELS = 32_767  # across or down: what Graphviz's PNG writer takes
PNG_DPI = 96
SMALLEST_TEXT = 9  # points: the smallest label text
READABLE_PIXELS = 6  # below this many pixels tall, text is a smudge
PAD = 8.0  # points Graphviz adds around a picture (4 each side)
MARGIN = 36.0  # points of white around a picture on a page (half an inch)
SMALLEST_ON_PAGE = 5  # points: box text scaled below this cannot be read on paper
PAGE_DPI = 150  # a PNG of a page: sharp enough to print


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

    def __init__(self, graph: nx.DiGraph, options: PictureOptions) -> None:
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

    def run_side_by_side(
        self,
        arguments: list[str],
        texts: Sequence[bytes | str],
        what: str,
    ) -> list[bytes]:
        """`run` on each text, as many at once as the machine has cores."""

        def one(text: bytes | str) -> bytes:
            data = text.encode("utf-8") if isinstance(text, str) else text
            return self.run(arguments, data, what)

        if len(texts) == 1:
            return [one(texts[0])]
        workers = min(len(texts), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, texts))


def _size(laid_out: bytes) -> tuple[float, float, float, float]:
    """The left, bottom, right and top of a laid-out picture, in points."""
    found = BOUNDING_BOX.search(laid_out)
    if found is None:
        raise ExportError("Graphviz laid the picture out without a bounding box")
    left, bottom, right, top = map(float, found.groups())
    return left, bottom, right, top


def _labelled(laid_out: bytes, label: str, extra: str = "") -> bytes:
    """Laid-out DOT with the graph's label (and `extra` statements), for `neato -n2`.

    Its bounding box goes, so that Graphviz makes room for the label above it.
    """
    text = re.sub(BOUNDING_BOX.pattern + rb",?\s*", b"", laid_out, count=1)
    at = text.index(b"{") + 1
    end = text.rindex(b"}")
    head = f"\n\tgraph [label={label}];".encode()
    return text[:at] + head + text[at:end] + extra.encode("utf-8") + text[end:]


def _png_dpi(width: float, height: float) -> int:
    """The PNG's resolution: 96 dpi, or less to stay within Graphviz's PNG size."""
    size = max(width, height)
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
            stacklevel=3,
        )
    return dpi


def _on_page(
    graphviz: GraphvizRuns,
    labelled: bytes,
    picture: tuple[float, float, float, float],
    page: str,
    label: str,
    laid_out: bytes,
) -> tuple[bytes, list[str]]:
    """The picture fitted to one page: scaled down if need be, with margins.

    Two invisible corners make the picture's frame the shape of the page's
    room inside the margins, so that Graphviz scales it, margins and all, by
    exactly the factor that fits.
    """
    page_width, page_height = page_size(page)
    room = (page_width - 2 * MARGIN, page_height - 2 * MARGIN)
    measured = graphviz.run(["-Kneato", "-n2", "-Tdot"], labelled, "lay out the page")
    left, bottom, right, top = _size(measured)
    width, height = right - left, top - bottom
    scale = min(1.0, room[0] / width, room[1] / height)
    if SMALLEST_TEXT * scale < SMALLEST_ON_PAGE:
        raise ExportError(
            f"the picture is {width:,.0f} × {height:,.0f} pt; on {page} its text would shrink "
            f"to {SMALLEST_TEXT * scale:.1f} pt (smallest readable: {SMALLEST_ON_PAGE} pt): fold "
            "repeated parts (--collapse siblings), take a bigger page (--page A3-landscape), "
            "or write SVG or HTML, which have no page"
        )
    x0, y0, _, y1 = picture
    label_height = height - (y1 - y0)
    frame_width, frame_height = room[0] / scale, room[1] / scale - label_height
    corners = (
        f'\n\tcorner0 [{STAND_IN}, pos="{x0:.2f},{y1 - frame_height:.2f}!"];'
        f'\n\tcorner1 [{STAND_IN}, pos="{x0 + frame_width:.2f},{y1:.2f}!"];'
    )
    text = _labelled(laid_out, label, corners)
    # Graphviz scales the padding with the picture: the page, padded, shrinks to the page.
    fit = [
        f"-Gsize={page_width / 72:.4f},{page_height / 72:.4f}",
        f"-Gpad={MARGIN / scale / 72:.4f}",
        "-Gmargin=0",  # the PDF writer's own margin, on top of the padding
    ]
    return text, fit


_GRID = re.compile(r'packmode="array_u(\d+)"')
GRID_TRIES = 8  # column counts tried for a forest on a page


def _laid_out(graphviz: GraphvizRuns, drawing: Drawing, fmt: str, options: PictureOptions) -> bytes:
    """The picture laid out by `dot`; on a page, packed in the grid that fits it best.

    The grid `dot` packs a forest into is chosen from estimated tree sizes. For a
    page, where the picture's shape decides how small its text gets, every column
    count up to `GRID_TRIES` is laid out (side by side) and the one that needs
    the least shrinking wins.
    """
    what = f"draw the {fmt.upper()}"
    text = drawing.dot
    grid = _GRID.search(text)
    if options.page is None or grid is None:
        return graphviz.run(["-Tdot"], text.encode("utf-8"), what)
    trees = nx.number_weakly_connected_components(drawing.view)
    tries = [text.replace(grid[0], f'packmode="array_u{n}"') for n in range(1, trees + 1)]
    tries = tries[:GRID_TRIES] if int(grid[1]) <= GRID_TRIES else [text, *tries[:GRID_TRIES]]
    laid = graphviz.run_side_by_side(["-Tdot"], [t.encode("utf-8") for t in tries], what)
    page_width, page_height = page_size(options.page)
    metrics = metrics_for(graphviz, [legend.label_lines(drawing.heading)])

    def scale(laid_out: bytes) -> float:
        left, bottom, right, top = _size(laid_out)
        size = (right - left, top - bottom)
        arrangement = legend.best_arrangement(drawing.heading, size, metrics)
        width, height = legend.label_size(drawing.heading, arrangement, metrics)
        across, down = max(size[0], width), size[1] + height
        return min((page_width - 2 * MARGIN) / across, (page_height - 2 * MARGIN) / down)

    return max(laid, key=scale)


def _heading(graphviz: GraphvizRuns, plan: Plan, label: str) -> bytes:
    """Graphviz's SVG of the title block and key alone, framed like the placed picture.

    Two invisible corners at the picture's frame make Graphviz place the label,
    and translate the drawing, exactly as it would with every box drawn.
    """
    assert plan.frame is not None
    left, bottom, right, top = plan.frame
    text = (
        f"digraph {GRAPH_NAME} {{\n"
        f'  graph [labelloc=t, labeljust=l, fontname="{style.FONT}", fontsize=14, label={label}];\n'
        f'  corner0 [{STAND_IN}, pos="{left:.2f},{bottom:.2f}!"];\n'
        f'  corner1 [{STAND_IN}, pos="{right:.2f},{top:.2f}!"];\n}}\n'
    )
    return graphviz.run(["-Kneato", "-n2", "-Tsvg"], text.encode("utf-8"), "draw the title block")


def _drawn_here(
    graphviz: GraphvizRuns, graph: nx.DiGraph, sketch: Plan, fmt: str, options: PictureOptions
) -> bytes | None:
    """A placed picture as SVG or PDF, its boxes and edges written here (`placed.py`).

    A big one's boxes are prepared by a fork while they are placed (`forked.py`).
    None: a PDF whose text the standard PDF fonts cannot show (Graphviz draws that one).
    """
    assert sketch.metrics is not None
    if fmt == "pdf":
        texts = [line.text for lines, _ in sketch.labels.values() for line in lines]
        if not pdf.writable([*texts, *(line.text for line in legend.label_lines(sketch.heading))]):
            return None  # before any work: Graphviz draws it, with a font that has every character
    faces = placed.Faces(sketch.view, sketch.labels, sketch.fills, sketch.metrics)
    with (svg.ahead if fmt == "svg" else pdf.ahead)(faces) as ahead:
        plan = placed_plan(graphviz, sketch, options)
        assert plan.frame is not None and plan.placement is not None and plan.sizes is not None
        left, bottom, right, top = plan.frame
        arrangement = legend.best_arrangement(
            plan.heading, (right - left, top - bottom), sketch.metrics
        )
        heading = _heading(graphviz, plan, legend.label(plan.heading, arrangement))
        shapes = placed.Shapes(faces, plan.sizes, plan.placement, plan.frame, plan.title)
        if fmt == "svg":
            return placed_svg(heading, shapes, ahead)
        generated_at = str(graph.graph.get("generated_at", ""))
        return pdf.placed_pdf(heading, shapes, generated_at, sketch.metrics, ahead)


def draw(graph: nx.DiGraph, fmt: str, options: PictureOptions, here: bool = True) -> bytes:
    """Draw the genealogy as `fmt` (svg, png or pdf): by Graphviz, or placed and written here.

    The picture is laid out first (by `dot`, or placed by the tree layout), so
    that its size is known: the title block and key are arranged to suit it,
    and a PNG or a page is sized before it is drawn. A placed SVG, or PDF
    without a page, is written here unless `here` is false (Graphviz renders
    it then: what the tests hold the writing here to).
    """
    graphviz = GraphvizRuns(graph, options)
    sketch = sketch_of(graphviz, graph, options)
    placed_here = fmt == "svg" or (fmt == "pdf" and not options.page)
    if here and sketch.metrics is not None and placed_here:
        drawn_here = _drawn_here(graphviz, graph, sketch, fmt, options)
        if drawn_here is not None:
            return drawn_here
    plan = placed_plan(graphviz, sketch, options)
    drawing = to_drawing(graphviz, graph, options, plan)
    laid_out: bytes | None = None
    if drawing.frame is None:
        laid_out = _laid_out(graphviz, drawing, fmt, options)
        frame = _size(laid_out)
    else:
        frame = drawing.frame
    left, bottom, right, top = frame
    metrics = metrics_for(graphviz, [legend.label_lines(drawing.heading)])
    arrangement = legend.best_arrangement(drawing.heading, (right - left, top - bottom), metrics)
    label = legend.label(drawing.heading, arrangement)
    what, engine = f"draw the {fmt.upper()}", ["-Kneato", "-n2"]
    if laid_out is None:  # placed: the whole picture in one DOT text, for one run
        laid_out = write_dot(drawing.picture, drawing.numbers.__getitem__).encode("utf-8")
    if fmt == "svg":
        return retitle(graphviz.run([*engine, "-Tsvg"], _labelled(laid_out, label), what), drawing)
    text, fit = _labelled(laid_out, label), list[str]()
    if options.page:
        text, fit = _on_page(graphviz, text, frame, options.page, label, laid_out)
    if fmt == "png":
        if options.page:
            dpi = PAGE_DPI
        else:
            width, height = legend.label_size(drawing.heading, arrangement, metrics)
            dpi = _png_dpi(max(right - left, width), top - bottom + height)
        return graphviz.run([*engine, *fit, f"-Gdpi={dpi}", "-Tpng"], text, what)
    drawn = graphviz.run([*engine, *fit, "-Tpdf"], text, what)
    return _dated(drawn, str(graph.graph.get("generated_at", "")))


def render(graph: nx.DiGraph, fmt: str, options: PictureOptions) -> bytes:
    """Draw the genealogy with Graphviz as `fmt` (svg, png or pdf)."""
    return draw(graph, fmt, options)


def _dated(pdf: bytes, generated_at: str) -> bytes:
    """The PDF with the genealogy's time as its creation date (cairo 1.16 writes now).

    The date keeps its length, so the cross-reference offsets stay right.
    """
    digits = re.sub(r"\D", "", generated_at)[:14].encode()
    if len(digits) != 14:
        return pdf
    return re.sub(rb"(/CreationDate \(D:)\d{14}", lambda m: m[1] + digits, pdf, count=1)


def to_svg(graph: nx.DiGraph, options: PictureOptions | None = None) -> bytes:
    return render(graph, "svg", options or PictureOptions())


def to_png(graph: nx.DiGraph, options: PictureOptions | None = None) -> bytes:
    return render(graph, "png", options or PictureOptions())


def to_pdf(graph: nx.DiGraph, options: PictureOptions | None = None) -> bytes:
    return render(graph, "pdf", options or PictureOptions())
