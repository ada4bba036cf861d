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
import pickle
import re
import zlib
from collections.abc import Callable, Iterable
from typing import NamedTuple
from xml.etree import ElementTree

from tracegraph.picture import forked, placed
from tracegraph.picture.metrics import SIZES, Line, Metrics
from tracegraph.picture.placed import (
    DEPTH,
    Face,
    Faces,
    Link,
    Point,
    Shapes,
    Spot,
    box3d,
    rounded_outline,
    short_number,
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
# The share of the edges the fork writes after the boxes (`placed.edge_split`).
FORKED_EDGES = 0.12  # both processes end at about the same time at 98,298 units
COMPRESSION = 3  # zlib's: 2.5 times faster than its default (6), a fifth bigger


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
        self.ys: dict[float, str] = {}  # each y once: a level's boxes share them
        self.outlines: dict[tuple[float, float], str] = {}

    def xy(self, point: Point) -> str:
        """A point of Graphviz's SVG (y downwards, before its translation) on the page."""
        x, y = point
        return "%.2f %s" % (x + self.dx + MARGIN, self.ys.get(y) or self.y(y))  # noqa: UP031

    def y(self, y: float) -> str:
        """A y of Graphviz's SVG on the page."""
        known = self.ys[y] = "%.2f" % (self.height + MARGIN - y - self.dy)
        return known

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

    def rounded_box(
        self, edges: tuple[float, float, float, float], fill: str, pen: tuple[str, float, bool]
    ) -> None:
        """A rounded box, drawn from its bottom left corner: one outline for every box its size."""
        fill, stroke = _paint(fill), _paint(pen[0])
        if not fill and not stroke:
            return
        self.pen(fill, stroke, pen[1], pen[2])
        left, top, right, bottom = edges
        size = (round(right - left, 2), round(bottom - top, 2))
        outline = self.outlines.get(size)
        if outline is None:
            outline = self.outlines[size] = _outline(*size)
        corner = self.ys.get(bottom) or self.y(bottom)
        paint = "B" if fill and stroke else "f" if fill else "S"
        self.ops.append(
            "q 1 0 0 1 %.2f %s cm %s %s Q" % (left + self.dx + MARGIN, corner, outline, paint)  # noqa: UP031
        )

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
        self.written(
            [(point, *_line(text, size, bold, colour)) for point, text, size, bold, colour in texts]
        )

    def written(self, lines: Iterable[tuple[Point, str, str, str]]) -> None:
        """Lines of text (`_line`) at their baselines' starts."""
        ops, xy = self.ops, self.xy
        ops.append("BT")
        for point, font, colour, shown in lines:
            if font != self.font:
                ops.append(font)
                self.font = font
            if colour != self.fill:
                ops.append(f"{_rgb(colour)} rg")
                self.fill = colour
            ops.append(f"1 0 0 1 {xy(point)} Tm{shown}")
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


def _outline(width: float, height: float) -> str:
    """A rounded box's outline from its bottom left corner, y upwards (`placed.ROUNDED_POINTS`)."""
    points = [
        f"{short_number(x)} {short_number(height - y)}" for x, y in rounded_outline(width, height)
    ]
    pieces = [" ".join(points[i : i + 3]) + " c" for i in range(1, len(points), 3)]
    return " ".join([f"{points[0]} m", *pieces, "h"])


_FONTS: dict[tuple[float, bool], str] = {}


def _line(text: str, size: float, bold: bool, colour: str) -> tuple[str, str, str]:
    """A line's font, colour and what follows its place: its text shown, in runs if need be.

    A run in Symbol sets its font, and the line's font is set again after it.
    """
    font = _FONTS.get((size, bold)) or _FONTS.setdefault(
        (size, bold), f"{_font_name(size, bold)} {size:g} Tf"
    )
    if text.isascii() and text.isprintable() and not any(char in text for char in "\\()"):
        return font, _paint(colour) or "#000000", f" ({text}) Tj"  # as it is (most are)
    try:
        shown = f" ({_encoded(text)}) Tj"
    except _Unwritable:
        runs = [
            f"{_font_name(size, bold, symbol)} {size:g} Tf ({run}) Tj"
            for symbol, run in _runs(text)
        ]
        shown = "\n" + "\n".join([*runs, font])
    return font, _paint(colour) or "#000000", shown


class _Prepared(NamedTuple):
    """A box but where it is: its look, and each line's offset, font, colour and text."""

    fill: str
    pen: tuple[str, float, bool]
    box3d: bool
    double: bool
    texts: tuple[tuple[float, float, str, str, str], ...]


def _prepared(face: Face) -> _Prepared:
    texts = tuple(
        [
            (dx, dy, *_line(text, size, bold, colour))
            for dx, dy, text, size, bold, colour in face.texts
        ]
    )
    return _Prepared(
        face.fill, (face.stroke, face.width, face.dashed), face.box3d, face.double, texts
    )


def _box(page: _Page, box: _Prepared, spot: Spot) -> None:
    x, y, width, height = spot
    edges = (x - width / 2, y - height / 2, x + width / 2, y + height / 2)
    if box.box3d:
        outline, depth = box3d(*edges)
        page.paint(page.lines(outline, True), box.fill, *box.pen)
        for i in (0, 2, 4):
            page.paint(page.lines(depth[i : i + 2], False), "", *box.pen)
    else:
        page.rounded_box(edges, box.fill, box.pen)
        if box.double:
            left, top, right, bottom = edges
            page.rounded_box(
                (left - DEPTH, top - DEPTH, right + DEPTH, bottom + DEPTH), "", box.pen
            )
    page.written(
        [((x + dx, y + dy), font, colour, shown) for dx, dy, font, colour, shown in box.texts]
    )


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


def ahead(faces: Faces) -> forked.Ahead:
    """A fork that prepares every box's text while the boxes are placed (`forked.py`).

    Sent the places, it writes the boxes, then the edges from `placed.edge_split` on.
    """

    def prepare() -> Callable[[bytes], list[bytes]]:
        prepared = list(map(_prepared, faces.faces(tooltips=False)))
        faces.shorts  # noqa: B018  (made now, while the boxes are placed)

        def finish(message: bytes) -> list[bytes]:
            places, offset, routed, (height, dx, dy) = pickle.loads(message)
            spots = placed.spots_of(places)
            return [
                _part(height, dx, dy, lambda page: _boxes(page, prepared, spots)),
                _part(height, dx, dy, lambda page: _links(page, faces.links(routed, offset))),
            ]

        return finish

    return forked.Ahead(len(faces.keys), prepare)


def _links(page: _Page, links: Iterable[Link]) -> None:
    for link in links:
        _link(page, link)


def _boxes(page: _Page, prepared: Iterable[_Prepared], spots: Iterable[Spot]) -> None:
    for box, spot in zip(prepared, spots, strict=True):
        _box(page, box, spot)


def _part(height: float, dx: float, dy: float, draw: Callable[[_Page], None]) -> bytes:
    """A part of the page's content, in a graphics state of its own (`q` … `Q`)."""
    page = _Page(height, dx, dy)
    page.ops.append("q")
    draw(page)
    page.ops.append("Q\n")
    return zlib.compress(page.content(), COMPRESSION)


def placed_pdf(
    heading: bytes,
    shapes: Shapes,
    generated_at: str,
    metrics: Metrics,
    ahead: forked.Ahead | None = None,
) -> bytes | None:
    """The PDF of a placed picture: `heading` is Graphviz's SVG of its title block and key.

    `metrics`: those of the boxes' text and the heading's, for the fonts'
    widths. None when some text is outside WinAnsi (see the module's note).
    With `ahead` running, the fork writes the boxes while this process writes
    the edges.
    """
    root = ElementTree.fromstring(heading)
    view_box = [float(n) for n in root.get("viewBox", "0 0 0 0").split()]
    width, height = view_box[2], view_box[3]
    group = root.find(f"{_SVG}g")
    if group is None:
        raise ValueError("Graphviz's SVG of the title block has no drawing")
    found = _TRANSLATE.search(group.get("transform", ""))
    dx, dy = (float(found[1]), float(found[2])) if found else (0.0, 0.0)

    split = placed.edge_split(shapes.faces, FORKED_EDGES)
    try:
        title = _part(height, dx, dy, lambda page: _heading(page, group, metrics))

        def theirs() -> list[bytes]:  # the boxes and the last edges
            prepared = map(_prepared, shapes.faces.faces(tooltips=False))
            boxes = _part(height, dx, dy, lambda page: _boxes(page, prepared, shapes.spots()))
            return [boxes, _part(height, dx, dy, lambda page: _links(page, shapes.links(split)))]

        parts, first = forked.shared(
            ahead,
            lambda: placed.message(shapes, split, height, dx, dy),
            lambda: _part(height, dx, dy, lambda page: _links(page, shapes.links(0, split))),
            theirs,
        )
    except _Unwritable:
        return None
    size = (width + 2 * MARGIN, height + 2 * MARGIN)
    streams = [title, parts[0], first, parts[1]]
    return _document(streams, size, _fonts(metrics), shapes.title, generated_at)


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
