"""How big Graphviz will draw a box, known before it draws it.

The tree layout places boxes itself, so it needs their sizes. They depend on
the fonts Graphviz finds on this machine, so they are measured, once per
process, by Graphviz: one run on a few hundred tiny boxes gives the advance of
every character in every style a label uses, what a box adds around its text,
and the height of every sequence of line styles the picture's labels have
(Graphviz spaces the lines of a label by more than their sizes). Kerning only
narrows text, so a width from these figures is never smaller than Graphviz's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from tracegraph.errors import ExportError
from tracegraph.escape import dot_html

FONT = "Helvetica"
SIZES = (11, 9, 10, 14)
REPEATS = (20, 40)  # two lengths of one character: their difference is its advance
MIN_WIDTH, MIN_HEIGHT = 54.0, 36.0  # Graphviz's default smallest box, points
POINTS = 72.0


class Line(NamedTuple):
    """One line of a label: its text and style (a tuple: 10^5 boxes make 4 × 10^5 of them)."""

    text: str
    size: int = 11
    bold: bool = False


Style = tuple[int, bool]
Shape = tuple[Style, ...]  # the styles of a label's lines, top to bottom


@dataclass(frozen=True)
class Metrics:
    """Character advances and label heights, in points, as Graphviz measures them."""

    advances: dict[tuple[Style, str], float]
    line_height: dict[int, float]
    padding: tuple[float, float]  # what a box adds to its text, across and down
    heights: dict[Shape, float]  # whole box heights, per label shape
    # Per label shape: each line's baseline below the box's centre, as Graphviz sets it.
    baselines: dict[Shape, tuple[float, ...]] = field(default_factory=dict)
    widths: dict[Line, float] = field(default_factory=dict, compare=False)  # lines measured
    by_style: dict[Style, dict[str, float]] = field(default_factory=dict, compare=False)

    def width(self, line: Line) -> float:
        known = self.widths.get(line)
        if known is None:
            known = self.widths[line] = self._width(line)
        return known

    def _width(self, line: Line) -> float:
        text, size, bold = line
        style = (size, bold)
        advances = self.by_style.get(style)
        if advances is None:
            advances = self.by_style[style] = {
                char: advance for (of, char), advance in self.advances.items() if of == style
            }
        try:
            return sum(map(advances.__getitem__, text))
        except KeyError:  # a character not measured
            pass
        fallback = advances.get("M", size * 0.9)
        return sum(advances.get(char, fallback) for char in text)

    def baselines_of(self, shape: Shape) -> tuple[float, ...]:
        """Each line's baseline below the box's centre, in points (y downwards)."""
        known = self.baselines.get(shape)
        if known is None:  # not measured: the lines stacked by their measured heights
            spans = [self.line_height.get(size, size * 1.2) for size, _ in shape]
            top, found = -sum(spans) / 2, []
            for (size, _), span in zip(shape, spans, strict=True):
                found.append(top + span - (span - size) / 2 - 0.2 * size)
                top += span
            known = self.baselines[shape] = tuple(found)
        return known

    def boxes(self, labels: Iterable[tuple[str, list[Line]]]) -> dict[str, tuple[float, float]]:
        """Width and height, in points, of the box holding each label's lines.

        All at once: 10^5 boxes' sizes are the tree layout's input.
        """
        widths, width_of, heights = self.widths, self.width, self.heights
        across, down = self.padding
        found = {}
        for key, lines in labels:
            text_width = 0.0
            for line in lines:
                known = widths.get(line)
                if known is None:
                    known = width_of(line)
                if known > text_width:
                    text_width = known
            height = heights.get(tuple([(size, bold) for _, size, bold in lines]))
            if height is None:
                height = sum(self.line_height.get(size, size * 1.2) for _, size, _ in lines) + down
            found[key] = (max(MIN_WIDTH, text_width + across), max(MIN_HEIGHT, height))
        return found


def shape_of(lines: Iterable[Line]) -> Shape:
    return tuple([(size, bold) for _, size, bold in lines])


def html_label(lines: Iterable[Line], colours: Iterable[str | None] = ()) -> str:
    """The Graphviz HTML-like label of these lines (text escaped)."""
    rows = []
    for line, colour in zip(lines, [*colours, *([None] * 1000)], strict=False):
        text = dot_html(line.text)
        if line.bold:
            text = f"<B>{text}</B>"
        attributes = "" if line.size == 11 else f' POINT-SIZE="{line.size}"'
        if colour:
            attributes += f' COLOR="{colour}"'
        rows.append(f"<FONT{attributes}>{text}</FONT>" if attributes else text)
    return "<" + "<BR/>".join(rows) + ">"


def _label(text: str, style: Style) -> str:
    size, bold = style
    inner = dot_html(text)
    if bold:
        inner = f"<B>{inner}</B>"
    return f'<<FONT POINT-SIZE="{size}">{inner}</FONT>>'


@dataclass
class _Calibration:
    """The boxes Graphviz measures, in order, and what each one measures."""

    nodes: list[str]
    advances: list[tuple[Style, str, int]]  # style, character, repeats
    heights: list[tuple[int, int]]  # size, lines
    shapes: list[Shape]

    def dot(self) -> str:
        return (
            f'digraph calibration {{ node [shape=box, fontname="{FONT}", fontsize=11, '
            f'margin="0.10,0.05", pos="0,0!"]; {" ".join(self.nodes)} }}'
        )


def _calibration(characters: str, shapes: tuple[Shape, ...]) -> _Calibration:
    """Boxes of one character repeated, per style; of stacked lines, per size and shape."""
    work = _Calibration([], [], [], [])
    for size in SIZES:
        for bold in (False, True):
            for char in characters:
                for repeat in REPEATS:
                    work.advances.append(((size, bold), char, repeat))
                    # Graphviz reads `\\` as one backslash, even in an HTML-like label.
                    label = _label(char * (2 * repeat if char == "\\" else repeat), (size, bold))
                    work.nodes.append(f"a{len(work.advances)} [label={label}];")
        for lines in (5, 10):
            text = "<BR/>".join([f'<FONT POINT-SIZE="{size}">x</FONT>'] * lines)
            work.heights.append((size, lines))
            work.nodes.append(f"h{len(work.heights)} [label=<{text}>];")
    for shape in shapes:
        work.shapes.append(shape)
        label = html_label(Line("x", size, bold) for size, bold in shape)
        work.nodes.append(f"s{len(work.shapes)} [label={label}];")
    return work


class Graphviz(Protocol):
    """What runs Graphviz for a picture (one deadline, one way of saying what failed)."""

    dot: str

    def run(self, arguments: list[str], text: bytes, what: str) -> bytes: ...


_measured: dict[tuple[str, str, tuple[Shape, ...]], Metrics] = {}


def measure(graphviz: Graphviz, characters: str, shapes: tuple[Shape, ...] = ()) -> Metrics:
    """Measure with Graphviz (`neato -n2`, no layout) characters and label shapes."""
    key = (graphviz.dot, characters, shapes)
    if key not in _measured:
        if len(_measured) > 16:
            _measured.clear()
        _measured[key] = _measure(graphviz, characters, shapes)
    return _measured[key]


def _measure(graphviz: Graphviz, characters: str, shapes: tuple[Shape, ...]) -> Metrics:
    work = _calibration(characters, shapes)
    text = work.dot().encode("utf-8")
    # `json`, not `json0`: its drawing operations place each line of a label.
    answer = graphviz.run(["-Kneato", "-n2", "-Tjson"], text, "measure the labels")
    try:
        measured = {o["name"]: o for o in json.loads(answer)["objects"]}
        baselines = {
            shape: _baselines(measured[f"s{i}"]) for i, shape in enumerate(work.shapes, start=1)
        }
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ExportError(f"Graphviz measured the labels in an unknown form ({error})") from None

    def points(name: str, dimension: str) -> float:
        return float(measured[name][dimension]) * POINTS

    widths: dict[tuple[Style, str], dict[int, float]] = {}
    for i, (style, char, repeat) in enumerate(work.advances, start=1):
        widths.setdefault((style, char), {})[repeat] = points(f"a{i}", "width")
    heights: dict[int, dict[int, float]] = {}
    for i, (size, lines) in enumerate(work.heights, start=1):
        heights.setdefault(size, {})[lines] = points(f"h{i}", "height")
    shaped = {shape: points(f"s{i}", "height") for i, shape in enumerate(work.shapes, start=1)}
    advances = {
        key: (by[REPEATS[1]] - by[REPEATS[0]]) / (REPEATS[1] - REPEATS[0])
        for key, by in widths.items()
    }
    wide = ((11, False), "M")
    padding_across = widths[wide][REPEATS[0]] - REPEATS[0] * advances[wide]
    line_height = {size: (by[10] - by[5]) / 5 for size, by in heights.items()}
    padding_down = heights[11][5] - 5 * line_height[11]
    return Metrics(advances, line_height, (padding_across, padding_down), shaped, baselines)


def _baselines(measured: dict[str, object]) -> tuple[float, ...]:
    """Where Graphviz set each line of a measured box: below its centre, y downwards."""
    centre = float(str(measured["pos"]).split(",")[1])
    operations = measured["_ldraw_"]
    if not isinstance(operations, list):
        raise TypeError("a box without drawing operations")
    return tuple(centre - float(o["pt"][1]) for o in operations if o["op"] == "T")


BASIC = "".join(chr(c) for c in range(32, 127))


def metrics_for(graphviz: Graphviz, labels: Iterable[Iterable[Line]]) -> Metrics:
    """Metrics for every character and label shape of `labels` (and printable ASCII)."""
    texts: list[str] = []
    found: set[Shape] = set()
    for label in labels:
        lines = label if isinstance(label, list) else list(label)
        texts += [text for text, _, _ in lines]
        found.add(tuple([(size, bold) for _, size, bold in lines]))
    extra = sorted(set("".join(texts)) - set(BASIC))
    return measure(graphviz, BASIC + "".join(extra), tuple(sorted(found)))
