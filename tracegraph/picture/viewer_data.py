"""What the HTML viewer draws, as compact columns: every unit placed by the tree layout.

Every unit is laid out (`treelayout.tree_layout`), folded groups or not: a
folded group is drawn over the place its members take, so that unfolding it
in the page moves nothing else. Units come in depth-first order, so that a
unit's subtree is the run of units from it to its `end`; collapsing it in the
page hides that run.

The columns are little-endian typed arrays one after the other; each string
(serials, part lines, attribute values) is stored once, in one list, and the
columns hold its index. The whole is gzip-compressed (the page inflates it
with the browser's own `DecompressionStream`) with no time stamp, so the same
genealogy gives the same bytes.
"""

from __future__ import annotations

import gzip
import struct
import sys
from array import array
from collections.abc import Iterable
from typing import Any

import networkx as nx
import orjson

from tracegraph.picture import style
from tracegraph.picture.collapse import collapse, units_with_warnings
from tracegraph.picture.drawing import fits_a_page
from tracegraph.picture.metrics import MIN_HEIGHT, MIN_WIDTH, Line
from tracegraph.picture.options import PictureOptions
from tracegraph.picture.scene import box_lines
from tracegraph.picture.treelayout import Placement, tree_layout

FORMAT = 1  # the layout of the columns; the page's script reads this version
PADDING = (16.0, 10.0)  # points a box adds around its text, across and down
LINE_HEIGHT = 1.2  # a line takes its font size times this

# Helvetica's advances (its AFM file), in thousandths of the font size; others 0.6.
_NARROW = {" ": 278, "!": 278, '"': 355, "'": 191, "(": 333, ")": 333, "*": 389, ",": 278,
           "-": 333, ".": 278, "/": 278, ":": 278, ";": 278, "[": 278, "]": 278, "f": 278,
           "i": 222, "j": 222, "l": 222, "r": 333, "t": 278, "I": 278, "J": 500, "|": 260,
           "c": 500, "k": 500, "s": 500, "v": 500, "x": 500, "y": 500, "z": 500, "{": 334,
           "}": 334, "`": 333, "^": 469, "~": 584, "+": 584, "=": 584, "<": 584,
           ">": 584}  # fmt: skip
_WIDE = {"m": 833, "w": 722, "M": 833, "W": 944, "@": 1015, "%": 889, "&": 667, "C": 722,
         "D": 722, "G": 778, "H": 722, "N": 722, "O": 778, "Q": 778, "R": 722, "U": 722,
         "A": 667, "B": 667, "E": 667, "K": 667, "P": 667, "S": 667, "V": 667, "X": 667,
         "Y": 667, "F": 611, "T": 611, "Z": 611, "L": 556, "×": 584, "…": 1000}  # fmt: skip
BOLD = 1.08  # Helvetica Bold is about this much wider


def _advance(char: str) -> int:
    if char in _NARROW:
        return _NARROW[char]
    if char in _WIDE:
        return _WIDE[char]
    return 556 if char.isascii() else 600


_ADVANCES = {chr(code): _advance(chr(code)) for code in range(32, 127)}


def text_width(line: Line) -> float:
    """How wide a line is in points, in Helvetica (the page's first font)."""
    thousandths = sum(_ADVANCES.get(char) or _advance(char) for char in line.text)
    return thousandths * line.size / 1000 * (BOLD if line.bold else 1.0)


def box_size(lines: Iterable[Line], widths: dict[Line, float]) -> tuple[float, float]:
    """Width and height of a box holding these lines, as the page draws it."""
    across, down = 0.0, 0.0
    for line in lines:
        width = widths.get(line)
        if width is None:
            width = widths[line] = text_width(line)
        across = max(across, width)
        down += line.size * LINE_HEIGHT
    return max(MIN_WIDTH, across + PADDING[0]), max(MIN_HEIGHT, down + PADDING[1])


class _Strings:
    """Every string once; `index` gives its place in the list."""

    def __init__(self) -> None:
        self.places: dict[str, int] = {}
        self.items: list[str] = []

    def index(self, text: str) -> int:
        place = self.places.get(text)
        if place is None:
            place = self.places[text] = len(self.items)
            self.items.append(text)
        return place


FLAG_MISSING, FLAG_SEED, FLAG_TOP_LEVEL, FLAG_DEPARTED = 1, 2, 4, 8
_TYPES = {"f": "f32", "i": "i32", "B": "u8"}


def _flags(attributes: dict[str, object]) -> int:
    flags = FLAG_MISSING if attributes.get("status") == "missing" else 0
    if attributes.get("departed"):  # a diff picture's: in OLD only
        flags |= FLAG_DEPARTED
    if attributes.get("top_level"):
        flags |= FLAG_TOP_LEVEL
    elif attributes.get("seed"):
        flags |= FLAG_SEED
    return flags


def _change_border(attributes: dict[str, object]) -> str:
    """The border of a unit a diff picture marks as changed ("" for none)."""
    change = str(attributes.get("change", ""))
    if attributes.get("departed"):
        return style.CHANGE_COLOURS.get(change, style.DEPARTED_BORDER)
    return style.CHANGE_COLOURS.get(change, "")


def _shown(value: object) -> str | None:
    """An attribute's value as the side panel shows it (None: not shown)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _depth_first(centres: dict[str, tuple[float, float]], parents: dict[str, str],
                 rankdir: str) -> list[str]:  # fmt: skip
    """Every unit, each subtree in one run, children and trees in reading order."""
    across = 0 if rankdir == "TB" else 1
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    tops = sorted((u for u in centres if u not in parents),
                  key=lambda u: (centres[u][1 - across], centres[u][across], u))  # fmt: skip
    order: list[str] = []
    stack = tops[::-1]
    while stack:
        unit = stack.pop()
        order.append(unit)
        kids = children.get(unit)
        if kids:
            kids.sort(key=lambda u: (centres[u][across], u), reverse=True)
            stack.extend(kids)
    return order


def _folded(graph: nx.DiGraph, options: PictureOptions, width: float, height: float) -> bool:
    if options.collapse == "auto":
        return not fits_a_page(width, height)
    return options.collapse == "siblings"


class _Data:
    """The columns and lists being filled: strings, colours and line styles each once."""

    def __init__(self, graph: nx.DiGraph, options: PictureOptions) -> None:
        self.strings = _Strings()
        self.palette = _Strings()
        self.line_styles = _Strings()
        self.fills = style.fills(graph, options.color_by)
        self.columns: dict[str, array[int] | array[float]] = {}

    def line_style(self, line: Line, colour: str | None) -> int:
        return self.line_styles.index(f"{line.size} {int(line.bold)} {colour or ''}")

    def column(self, name: str, typecode: str) -> array[Any]:
        made: array[Any] = array(typecode)
        self.columns[name] = made
        return made

    def packed(self) -> tuple[bytes, list[list[object]]]:
        """Every column, little-endian, each at a multiple of 4 bytes; and where each is."""
        body = bytearray()
        described: list[list[object]] = []
        for name, column in self.columns.items():
            if sys.byteorder == "big":
                column = array(column.typecode, column)
                column.byteswap()
            body += bytes(-len(body) % 4)
            described.append([name, _TYPES[column.typecode], len(body), len(column)])
            body += column.tobytes()
        return bytes(body), described


def _unit_columns(
    data: _Data,
    graph: nx.DiGraph,
    order: list[str],
    placement: Placement,
    sizes: dict[str, tuple[float, float]],
    labels: dict[str, tuple[list[Line], list[str | None]]],
) -> list[str]:
    """Place, box, link, colour, lines and attributes of every unit, in `order`."""
    nodes, number = graph.nodes, {serial: i for i, serial in enumerate(order)}
    parents = {child: parent for parent, child in placement.routes}
    xs, ys, ws, hs = (data.column(name, "f") for name in ("x", "y", "w", "h"))
    parent_of, end_of = data.column("parent", "i"), data.column("end", "i")
    route_start, route_points = data.column("routeStart", "i"), data.column("routes", "f")
    fill_of, flags_of, serial_of = (data.column(n, t) for n, t in
                                    (("fill", "i"), ("flags", "B"), ("serial", "i")))  # fmt: skip
    line_start, line_text = data.column("lineStart", "i"), data.column("lineText", "i")
    line_style_of = data.column("lineStyle", "B")
    change_of = data.column("border", "i")  # the border colour: a diff's change, or none
    names = sorted({name for serial in graph for name in nodes[serial]})
    values = {name: data.column(f"attribute:{name}", "i") for name in names}
    index = data.strings.index
    for serial in order:
        attributes = nodes[serial]
        x, y = placement.centres[serial]
        width, height = sizes[serial]
        xs.append(x)
        ys.append(y)
        ws.append(width)
        hs.append(height)
        parent = parents.get(serial)
        parent_of.append(-1 if parent is None else number[parent])
        route_start.append(len(route_points) // 2)
        for point in placement.routes.get((parent, serial), ()) if parent is not None else ():
            route_points.extend(point)
        departed = bool(attributes.get("departed"))
        fill = style.DEPARTED_FILL if departed else data.fills.of(attributes)
        fill_of.append(data.palette.index(fill))
        flags_of.append(_flags(attributes))
        change_of.append(data.palette.index(_change_border(attributes)))
        serial_of.append(index(serial))
        line_start.append(len(line_text))
        for line, colour in zip(*labels[serial], strict=True):
            line_text.append(index(line.text))
            line_style_of.append(data.line_style(line, colour))
        for name in names:
            shown = _shown(attributes[name]) if name in attributes else None
            values[name].append(-1 if shown is None else index(shown))
    route_start.append(len(route_points) // 2)
    line_start.append(len(line_text))
    end_of.extend(range(1, len(order) + 1))
    for i in range(len(order) - 1, -1, -1):  # a subtree ends where its last descendant's does
        if parent_of[i] >= 0:
            end_of[parent_of[i]] = max(end_of[parent_of[i]], end_of[i])
    return names


def _groups(data: _Data, graph: nx.DiGraph, options: PictureOptions,
            number: dict[str, int]) -> list[dict[str, object]]:  # fmt: skip
    """The folded groups, as `collapse` makes them: lines, fill, heading and members."""
    view = collapse(graph, also=("outcome",) if options.color_by == "outcome" else ())
    groups = []
    for key in view:
        attributes = view.nodes[key]
        if not attributes.get("group"):
            continue
        members = sorted(number[m] for m in style.members_of(attributes))
        lines = style.group_lines(attributes)
        groups.append({
            "lines": [[data.strings.index(line.text), data.line_style(line, None)]
                      for line in lines],
            "fill": data.palette.index(data.fills.of(attributes)),
            "heading": data.strings.index(style.group_heading(attributes)),
            "members": members,
        })  # fmt: skip
    groups.sort(key=lambda group: group["members"][0])  # type: ignore[index]
    return groups


def viewer_data(graph: nx.DiGraph, options: PictureOptions) -> bytes:
    """The genealogy as the viewer's compressed columns (see the module's docstring)."""
    warned = units_with_warnings(graph)
    labels = {serial: box_lines(graph.nodes[serial], serial in warned) for serial in graph}
    widths: dict[Line, float] = {}
    sizes = {serial: box_size(lines, widths) for serial, (lines, _) in labels.items()}
    placement = tree_layout(graph, sizes, options.rankdir)
    parents = {child: parent for parent, child in placement.routes}
    order = _depth_first(placement.centres, parents, options.rankdir)
    number = {serial: i for i, serial in enumerate(order)}
    data = _Data(graph, options)
    names = _unit_columns(data, graph, order, placement, sizes, labels)
    folded = _folded(graph, options, placement.width, placement.height)
    groups = _groups(data, graph, options, number) if folded else []
    extra = sorted((number[p], number[c]) for p, c in graph.edges if parents.get(c) != p and p != c)
    body, described = data.packed()
    header = {
        "format": FORMAT,
        "units": len(order),
        "title": style.title_block(graph, options.title)[0],
        "rankdir": options.rankdir,
        "size": [placement.width, placement.height],
        "palette": data.palette.items,
        "lineStyles": data.line_styles.items,
        "attributes": names,
        "groups": groups,
        "extraEdges": extra,
        "key": [[fill, text] for fill, _, text in data.fills.used()],
        "colours": {
            "border": style.BORDER,
            "edge": style.EDGE_COLOUR,
            "seed": style.SEED_BORDER,
            "topLevel": style.TOP_LEVEL_BORDER,
        },
        "columns": described,
        "strings": data.strings.items,
    }
    head = orjson.dumps(header)
    padding = b" " * (-(4 + len(head)) % 4)
    whole = struct.pack("<I", len(head) + len(padding)) + head + padding + body
    return gzip.compress(whole, compresslevel=6, mtime=0)
