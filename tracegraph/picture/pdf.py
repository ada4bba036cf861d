"""PDF of a placed picture, written here: one page, the standard Helvetica fonts.

Graphviz renders a PDF of 100,000 placed boxes in minutes; the shapes of
`placed.py` are written here in seconds instead. The title block and key
come from the SVG Graphviz drew of them alone (`graphviz._heading`), read
element by element (polygons, paths, polylines, text: all Graphviz writes
for a label), so the page shows exactly what the SVG shows. Text is set in
the PDF's own Helvetica and Helvetica-Bold, which every reader has, encoded
as WinAnsi; each font's `/Widths` are the advances Graphviz measured
(`metrics.py`, from whatever font this machine gives it), so every line
spans the width its box was made for, as in Graphviz's own PDF. A picture
with a character outside WinAnsi is left to Graphviz, which embeds a font
that has it. Like Graphviz's PDF, the page has a margin of half an inch.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable, Iterable
from xml.etree import ElementTree

from tracegraph.picture import forked
from tracegraph.picture.metrics import SIZES, Line, Metrics
from tracegraph.picture.placed import (
    DEPTH,
    ROUNDED_POINTS,
    Box,
    Link,
    Point,
    Shapes,
    box3d,
    rounded_numbers,
)

_SVG = "{http://www.w3.org/2000/svg}"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_TRANSLATE = re.compile(r"translate\(([-\d.e+]+)[ ,]([-\d.e+]+)\)")
_NAMED = {"white": "#ffffff", "black": "#000000"}
_NO_PAINT = ("", "none", "transparent")
DASH = "[5 2] 0 d"  # Graphviz's dashes: 5 on, 2 off
MARGIN = 36.0  # points around the picture, as Graphviz's PDF has
# What a reader needs to stand in for Helvetica (from its AFM files), and its usual advance.
_DESCRIPTORS = {
    "Helvetica": "/Flags 32 /FontBBox [-166 -225 1000 931] /StemV 88",
    "Helvetica-Bold": "/Flags 32 /FontBBox [-170 -228 1003 962] /StemV 140",
    "Symbol": "/Flags 4 /FontBBox [-180 -293 1090 1010] /StemV 85",
}
_USUAL_ADVANCE = 556  # thousandths of the size: a digit's
# `placed.ROUNDED_POINTS` as one PDF path of its twelve numbers (`placed.rounded_numbers`).
_ACROSS, _DOWN = (0, 2, 4, 5, 6, 7), (1, 3, 8, 9, 10, 11)
_ROUNDED = (
    "{%d} {%d} m " % ROUNDED_POINTS[0]  # noqa: UP031
    + " ".join(
        " ".join("{%d} {%d}" % point for point in ROUNDED_POINTS[i : i + 3]) + " c"  # noqa: UP031
        for i in range(1, len(ROUNDED_POINTS), 3)
    )
    + " h"
)
COMPRESSION = 6  # zlib's default: about as small as 9, in half the time
# Of the boxes, written by a fork (`forked.py`) while this process writes the rest and the edges.
FORKED_SHARE = 0.7


class _Unwritable(Exception):
    """A text the standard fonts cannot show."""


# Characters the pictures use that WinAnsi lacks (`≤` of a depth, `→` of a
# change, `∅`...), by their code in the standard Symbol font, which has them.
SYMBOLS = {
    "→": 0xAE, "←": 0xAC, "↑": 0xAD, "↓": 0xAF, "↔": 0xAB, "≤": 0xA3, "≥": 0xB3,
    "≠": 0xB9, "≈": 0xBB, "∅": 0xC6, "∞": 0xA5, "√": 0xD6, "∑": 0xE5,
}  # fmt: skip


def _escaped(raw: str) -> str:
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("\r", "\\r")


def _encoded(text: str) -> str:
    """Text as a PDF string's content in WinAnsi (each byte one character), escaped."""
    try:
        raw = text.encode("cp1252").decode("latin-1")
    except UnicodeEncodeError:
        raise _Unwritable(text) from None
    return _escaped(raw)


def _runs(text: str) -> list[tuple[bool, str]]:
    """The text in runs of WinAnsi and of Symbol characters: (in Symbol, escaped content)."""
    runs: list[tuple[bool, str]] = []
    for char in text:
        symbol = char in SYMBOLS
        if not symbol:
            try:
                char.encode("cp1252")
            except UnicodeEncodeError:
                raise _Unwritable(text) from None
        if runs and runs[-1][0] == symbol:
            runs[-1] = (symbol, runs[-1][1] + char)
        else:
            runs.append((symbol, char))
    return [
        (
            symbol,
            _escaped("".join(map(chr, map(SYMBOLS.__getitem__, run)))) if symbol else _encoded(run),
        )
        for symbol, run in runs
    ]


def writable(texts: Iterable[str]) -> bool:
    """Whether the standard fonts show every character of these texts."""
    try:
        for text in texts:
            if not text.isascii():
                _runs(text)
    except _Unwritable:
        return False
    return True


class _Page:
    """The page's content stream, written with as few state changes as the shapes allow."""

    def __init__(self, height: float, dx: float, dy: float) -> None:
        self.height, self.dx, self.dy = height, dx, dy
        self.ops: list[str] = []
        self.fill = self.stroke = self.dash = self.font = ""
        self.width = 1.0

    def xy(self, point: Point) -> str:
        """A point of Graphviz's SVG (y downwards, before its translation) on the page."""
        x, y = point[0] + self.dx + MARGIN, self.height + MARGIN - point[1] - self.dy
        return "%.2f %.2f" % (x, y)  # noqa: UP031  (the fastest way, for 10^6 points)

    def pen(self, fill: str, stroke: str, width: float = 1.0, dashed: bool = False) -> None:
        ops = self.ops
        if fill and fill != self.fill:
            ops.append(f"{_rgb(fill)} rg")
            self.fill = fill
        if stroke and stroke != self.stroke:
            ops.append(f"{_rgb(stroke)} RG")
            self.stroke = stroke
        if stroke and width != self.width:
            ops.append(f"{width:g} w")
            self.width = width
        dash = DASH if dashed else "[] 0 d"
        if stroke and dash != (self.dash or "[] 0 d"):
            ops.append(dash)
            self.dash = dash

    def curves(self, points: list[Point], close: bool) -> str:
        """A path of Bézier pieces: the start, then three points a piece."""
        xy = self.xy
        ops = [f"{xy(points[0])} m"]
        for i in range(1, len(points) - 2, 3):
            ops.append(f"{xy(points[i])} {xy(points[i + 1])} {xy(points[i + 2])} c")
        return " ".join(ops) + (" h" if close else "")

    def rounded(self, left: float, top: float, right: float, bottom: float) -> str:
        """A rounded box's outline (`placed.ROUNDED_POINTS`), each of its numbers written once."""
        numbers = rounded_numbers(left, top, right, bottom)
        across, down = self.dx + MARGIN, self.height + MARGIN - self.dy
        for i in _ACROSS:
            numbers[i] += across
        for i in _DOWN:
            numbers[i] = down - numbers[i]
        return _ROUNDED.format(*["%.2f" % n for n in numbers])  # noqa: UP031

    def lines(self, points: Iterable[Point], close: bool) -> str:
        it = iter(points)
        ops = [f"{self.xy(next(it))} m", *(f"{self.xy(p)} l" for p in it)]
        return " ".join(ops) + (" h" if close else "")

    def paint(self, path: str, fill: str, stroke: str, width: float, dashed: bool) -> None:
        fill = _paint(fill)
        stroke = _paint(stroke)
        if not fill and not stroke:
            return
        self.pen(fill, stroke, width, dashed)
        self.ops.append(f"{path} {'B' if fill and stroke else 'f' if fill else 'S'}")

    def texts(self, texts: Iterable[tuple[Point, str, float, bool, str]]) -> None:
        """Lines of text: each its baseline's start, text, size, boldness and colour."""
        ops = self.ops
        ops.append("BT")
        for point, text, size, bold, colour in texts:
            font = f"{_font_name(size, bold)} {size:g} Tf"
            if font != self.font:
                ops.append(font)
                self.font = font
            colour = _paint(colour) or "#000000"
            if colour != self.fill:
                ops.append(f"{_rgb(colour)} rg")
                self.fill = colour
            try:
                ops.append(f"1 0 0 1 {self.xy(point)} Tm ({_encoded(text)}) Tj")
            except _Unwritable:  # a run in Symbol, and back
                ops.append(f"1 0 0 1 {self.xy(point)} Tm")
                for symbol, run in _runs(text):
                    ops.append(f"{_font_name(size, bold, symbol)} {size:g} Tf ({run}) Tj")
                self.font = font = f"{_font_name(size, bold)} {size:g} Tf"
                ops.append(font)
        ops.append("ET")

    def content(self) -> bytes:
        return "\n".join(self.ops).encode("latin-1")


_rgbs: dict[str, str] = {}


def _rgb(colour: str) -> str:
    known = _rgbs.get(colour)
    if known is None:
        value = _NAMED.get(colour, colour).lstrip("#")
        try:
            red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
        except ValueError:
            red = green = blue = 0.0
        known = _rgbs[colour] = f"{red:.3f} {green:.3f} {blue:.3f}"
    return known


def _paint(colour: str | None) -> str:
    return "" if colour is None or colour in _NO_PAINT else colour


def _box(page: _Page, box: Box) -> None:
    edges = (box.left, box.top, box.right, box.bottom)
    pen = (box.stroke, box.width, box.dashed)
    if box.box3d:
        outline, depth = box3d(*edges)
        page.paint(page.lines(outline, True), box.fill, *pen)
        for i in (0, 2, 4):
            page.paint(page.lines(depth[i : i + 2], False), "", *pen)
    else:
        page.paint(page.rounded(*edges), box.fill, *pen)
        if box.double:
            out = (box.left - DEPTH, box.top - DEPTH, box.right + DEPTH, box.bottom + DEPTH)
            page.paint(page.rounded(*out), "", *pen)
    page.texts(((t.x, t.y), t.text, t.size, t.bold, t.colour) for t in box.texts)


def _link(page: _Page, link: Link) -> None:
    corners = [page.xy(point) for point in link.points]
    route = " ".join(f"{a} {b} {b} c" for a, b in itertools.pairwise(corners))
    page.paint(f"{corners[0]} m {route}", "", link.colour, 1.0, link.dashed)
    page.paint(page.lines(link.head, True), link.colour, link.colour, 1.0, False)


def _heading(page: _Page, group: ElementTree.Element, metrics: Metrics) -> None:
    """What Graphviz drew of the title block and key, element by element."""
    for element in group.iter():
        tag = element.tag.removeprefix(_SVG)
        get = element.get
        dashed = bool(get("stroke-dasharray"))
        pen = (get("stroke", "black"), float(get("stroke-width", "1")), dashed)
        if tag in ("polygon", "polyline"):
            numbers = [float(n) for n in _NUMBER.findall(get("points", ""))]
            points = list(zip(numbers[0::2], numbers[1::2], strict=False))
            if points:
                fill = get("fill", "black") if tag == "polygon" else ""
                page.paint(page.lines(points, tag == "polygon"), fill, *pen)
        elif tag == "path":
            numbers = [float(n) for n in _NUMBER.findall(get("d", ""))]
            points = list(zip(numbers[0::2], numbers[1::2], strict=False))
            if points:
                page.paint(page.curves(points, False), get("fill", "black"), *pen)
        elif tag == "text" and element.text:
            size = float(get("font-size", "14"))
            bold = get("font-weight") == "bold"
            x, y = float(get("x", "0")), float(get("y", "0"))
            anchor = get("text-anchor", "start")
            if anchor != "start":
                width = metrics.width(Line(element.text, round(size), bold))
                x -= width / 2 if anchor == "middle" else width
            page.texts([((x, y), element.text, size, bold, get("fill", "black"))])


def _text_string(text: str) -> str:
    """A PDF text string: UTF-16 with its byte order mark, in hex."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def placed_pdf(heading: bytes, shapes: Shapes, generated_at: str, metrics: Metrics) -> bytes | None:
    """The PDF of a placed picture: `heading` is Graphviz's SVG of its title block and key.

    `metrics`: those of the boxes' text and the heading's, for the fonts'
    widths. None when some text is outside WinAnsi (see the module's note).
    """
    root = ElementTree.fromstring(heading)
    view_box = [float(n) for n in root.get("viewBox", "0 0 0 0").split()]
    width, height = view_box[2], view_box[3]
    group = root.find(f"{_SVG}g")
    if group is None:
        raise ValueError("Graphviz's SVG of the title block has no drawing")
    found = _TRANSLATE.search(group.get("transform", ""))
    dx, dy = (float(found[1]), float(found[2])) if found else (0.0, 0.0)

    def drawn(draw: Callable[[_Page], None]) -> bytes:
        """A part of the page's content, in a graphics state of its own (`q` … `Q`)."""
        page = _Page(height, dx, dy)
        page.ops.append("q")
        draw(page)
        page.ops.append("Q\n")
        return zlib.compress(page.content(), COMPRESSION)

    def boxes(page: _Page, start: int, stop: int) -> None:
        for box in shapes.boxes(start, stop, tooltips=False):
            _box(page, box)

    def links(page: _Page) -> None:
        for link in shapes.links():
            _link(page, link)

    try:
        parts = [
            drawn(lambda page: _heading(page, group, metrics)),
            *forked.in_two(
                len(shapes.keys),
                FORKED_SHARE,
                lambda start, stop: drawn(lambda page: boxes(page, start, stop)),
                lambda: drawn(links),
            ),
        ]
    except _Unwritable:
        return None
    size = (width + 2 * MARGIN, height + 2 * MARGIN)
    return _document(parts, size, _fonts(metrics), shapes.title, generated_at)


def _font_name(size: float, bold: bool, symbol: bool = False) -> str:
    """The page's font for text of this size: one per measured size, as Graphviz measured it."""
    measured = round(size) if round(size) in SIZES and abs(size - round(size)) < 0.01 else 11
    if symbol:
        return f"/S{measured}{'B' if bold else 'R'}"
    return f"/F{measured}{'B' if bold else 'R'}"


def _advance(metrics: Metrics, size: int, bold: bool, char: str) -> int:
    """A character's advance as Graphviz measured it, in thousandths of the size."""
    advance = metrics.advances.get(((size, bold), char))
    return _USUAL_ADVANCE if advance is None else round(advance / size * 1000)


def _fonts(metrics: Metrics) -> dict[str, bytes]:
    """Each measured size's fonts: Helvetica with the advances Graphviz measured at that size.

    (Graphviz's advances do not grow quite in step with the size, so one set
    of widths for every size would set the title block's words a little apart
    from where Graphviz sets them.) `{regular}` and `{bold}` stand for their
    descriptors' object numbers.
    """
    fonts = {}
    for size in SIZES:
        for bold in (False, True):
            widths = []
            for code in range(32, 256):
                try:
                    char = bytes([code]).decode("cp1252")
                except UnicodeDecodeError:  # five codes WinAnsi leaves out
                    widths.append(0)
                    continue
                widths.append(_advance(metrics, size, bold, char))
            symbols = [_USUAL_ADVANCE] * 224
            for char, code in SYMBOLS.items():
                symbols[code - 32] = _advance(metrics, size, bold, char)
            fonts[_font_name(size, bold, symbol=True)] = (
                "<< /Type /Font /Subtype /Type1 /BaseFont /Symbol /FirstChar 32 /LastChar 255 "
                f"/Widths [{' '.join(map(str, symbols))}] /FontDescriptor {{symbol}} 0 R >>"
            ).encode("ascii")
            name = "Helvetica-Bold" if bold else "Helvetica"
            fonts[_font_name(size, bold)] = (
                f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding "
                f"/FirstChar 32 /LastChar 255 /Widths [{' '.join(map(str, widths))}] "
                f"/FontDescriptor {{{'bold' if bold else 'regular'}}} 0 R >>"
            ).encode("ascii")
    return fonts


def _descriptor(name: str) -> bytes:
    return (
        f"<< /Type /FontDescriptor /FontName /{name} {_DESCRIPTORS[name]} /ItalicAngle 0 "
        "/Ascent 718 /Descent -207 /CapHeight 718 >>"
    ).encode("ascii")


def _document(
    streams: list[bytes],
    size: tuple[float, float],
    fonts: dict[str, bytes],
    title: str,
    generated_at: str,
) -> bytes:
    """The PDF file: catalogue, one page, its fonts, the content, the document's info.

    The page's content is `streams`, each compressed on its own (so that a
    fork compresses its part), after the fonts.
    """
    info = f"<< /Title {_text_string(title)} /Creator (tracegraph) /Producer (tracegraph)"
    digits = re.sub(r"\D", "", generated_at)[:14]
    if len(digits) == 14:
        info += f" /CreationDate (D:{digits}Z)"
    first_font = 9  # after the catalogue, pages, page, contents, info and three descriptors
    first_stream = first_font + len(fonts)
    resources = " ".join(f"{name} {first_font + i} 0 R" for i, name in enumerate(fonts))
    contents = " ".join(f"{first_stream + i} 0 R" for i in range(len(streams)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {size[0]:.2f} {size[1]:.2f}] "
            f"/Resources << /Font << {resources} >> >> /Contents 4 0 R >>"
        ).encode(),
        f"[{contents}]".encode(),
        (info + " >>").encode("ascii"),
        _descriptor("Helvetica"),
        _descriptor("Helvetica-Bold"),
        _descriptor("Symbol"),
        *(
            font.replace(b"{regular}", b"6").replace(b"{bold}", b"7").replace(b"{symbol}", b"8")
            for font in fonts.values()
        ),
        *(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream"
            for stream in streams
        ),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return bytes(out)
