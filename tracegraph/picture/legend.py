"""The title block and the key of every picture, as one Graphviz label.

A reader of an audit binder has only the page: the title block says what was
asked and where the data comes from (`style.title_block`), and the key says
what the fill colours stand for and what each mark means, listing only what
the picture shows. Both go into the graph's label, an HTML-like table that
Graphviz puts above the picture: the title block on the left and the key
beside it or below it, in as many columns as make the whole picture smallest
(`arrangements`, chosen in `graphviz.py` once the picture's size is known).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from tracegraph.escape import dot_html
from tracegraph.picture import style
from tracegraph.picture.collapse import failed, units_with_warnings
from tracegraph.picture.metrics import Line, Metrics

SWATCH = (30, 16)  # points: the little box each entry shows
KEY_SIZE = 10  # points: the key's text
GAP = 24  # points between the title block and the key


@dataclass(frozen=True)
class Swatch:
    """How a key entry's little box looks: like the boxes it explains."""

    fill: str = style.PLAIN_FILL
    border: str = style.BORDER
    width: int = 1
    style: str = "rounded"  # rounded, dashed or "" (square corners, a group's)
    double: bool = False  # two borders: a top-level unit
    text: str = ""  # shown inside: a group's `N ×`


@dataclass(frozen=True)
class Entry:
    """One line of the key: a swatch, a mark word as the boxes show it, what it means."""

    swatch: Swatch
    text: str
    word: str = ""
    word_colour: str = ""


_MISSING = Swatch(style="dashed")
_SEED = Swatch(border=style.SEED_BORDER, width=3)
_TOP_LEVEL = Swatch(border=style.TOP_LEVEL_BORDER, width=2, double=True)


def mark_entries(graph: nx.DiGraph) -> list[Entry]:
    """What the marks of this picture mean: only the marks it shows, in a fixed order."""
    present = {"warning": bool(units_with_warnings(graph))}
    changing = []  # a diff's units, for `change_entries`
    for _, a in graph.nodes(data=True):  # one pass: 10^5 boxes asked 13 times took 0.5 s
        get = a.get
        if get("change") or get("departed"):
            changing.append(a)
        if get("seed") and not get("suspect") and not get("change"):
            present["seed"] = True
        for mark in ("suspect", "top_level", "loose", "group"):
            if get(mark):
                present[mark] = True
        if get("status") == "missing":
            present["missing"] = True
        if "failed" not in present and failed(a):
            present["failed"] = True
    red, blue = style.SEED_BORDER, style.TOP_LEVEL_BORDER
    entries = {
        "seed": Entry(_SEED, "asked for (a seed)"),
        "suspect": Entry(_SEED, "from the suspect batch", "SUSPECT", red),
        "top_level": Entry(_TOP_LEVEL, "top-level unit that holds a suspect", "TOP-LEVEL", blue),
        "loose": Entry(Swatch(), "suspect built into nothing yet", "LOOSE", red),
        "missing": Entry(
            _MISSING, "referenced, but the API answers 404", "missing (404)", style.MISSING_COLOUR
        ),
        "failed": Entry(Swatch(), "test outcome other than PASS", "FAIL", style.OUTCOME_COLOUR),
        "group": Entry(
            Swatch(style="", text="N ×"), "N units of one part, revision and batch, as one box"
        ),
        "warning": Entry(
            Swatch(),
            "named in a data warning (see the text output)",
            "WARNING",
            style.WARNING_COLOUR,
        ),
    }
    shown = (entry for name, entry in entries.items() if present.get(name))
    return [*change_entries(changing), *shown]


CHANGE_MEANINGS = {
    "added": ("in NEW only", ""),
    "removed": ("", "in OLD only: dashed where it was"),
    "moved": ("parent changed (from …)", "moved away: dashed where it was"),
    "replaced": ("arrived in a swap (replaces …)", "swapped out: dashed where it was"),
    "changed": ("an attribute changed (old → new)", "an attribute changed; dashed: OLD's place"),
}


def change_entries(nodes: list[dict[str, object]]) -> list[Entry]:
    """A diff picture's marks: each kind of change it shows, in NEW and where OLD had it."""
    entries = []
    for kind, (here, departed) in CHANGE_MEANINGS.items():
        colour = style.CHANGE_COLOURS[kind]
        word = style.CHANGE_WORDS[kind]
        shown = [a for a in nodes if a.get("change") == kind]
        if here and any(not a.get("departed") for a in shown):
            swatch = Swatch(border=colour, width=2 if kind == "changed" else 3)
            entries.append(Entry(swatch, here, word, colour))
        if departed and any(a.get("departed") for a in shown):
            swatch = Swatch(fill=style.DEPARTED_FILL, border=colour, width=2, style="dashed")
            entries.append(Entry(swatch, departed, word, colour))
    if any(a.get("departed") and not a.get("change") for a in nodes):
        swatch = Swatch(fill=style.DEPARTED_FILL, border=style.DEPARTED_BORDER, style="dashed")
        meaning = "in OLD's genealogy only, itself unchanged (left with its parent)"
        entries.append(Entry(swatch, meaning))
    return entries


def colour_entries(fills: style.Fills) -> list[Entry]:
    return [Entry(Swatch(fill=colour), name) for colour, _, name in fills.used()]


def key_heading(fills: style.Fills) -> str:
    what = {"part": "part number", "batch": "batch", "outcome": "test outcome"}.get(fills.by)
    if what and fills.runs:
        what += f" ({fills.runs})"
    return f"fill colour: {what}" if what else "no fill colours"


def _swatch_cell(swatch: Swatch) -> str:
    width, height = SWATCH
    inner = ""
    if swatch.text:
        inner = f'<FONT POINT-SIZE="8"><B>{dot_html(swatch.text)}</B></FONT>'
    look = f'COLOR="{swatch.border}"' + (f' STYLE="{swatch.style}"' if swatch.style else "")
    if swatch.double:
        inner = (
            f'<TABLE BORDER="{swatch.width}" {look} CELLSPACING="2" CELLPADDING="0">'
            f'<TR><TD BORDER="{swatch.width}" {look} BGCOLOR="{swatch.fill}" '
            f'WIDTH="{width - 10}" HEIGHT="{height - 10}"></TD></TR></TABLE>'
        )
        return f'<TD FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="{height}">{inner}</TD>'
    return (
        f'<TD FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="{height}" BGCOLOR="{swatch.fill}" '
        f'BORDER="{swatch.width}" {look}>{inner}</TD>'
    )


def _text_cell(entry: Entry) -> str:
    text = dot_html(entry.text)
    if entry.word:
        word = f'<B><FONT COLOR="{entry.word_colour}">{dot_html(entry.word)}</FONT></B>'
        text = f"{word} {text}"
    return f'<TD ALIGN="LEFT"><FONT POINT-SIZE="{KEY_SIZE}">{text}</FONT></TD>'


def key_table(entries: list[Entry], heading: str, columns: int) -> str:
    """The key: a heading line, then the entries down `columns` columns."""
    rows = math.ceil(len(entries) / columns)
    cells: list[list[str]] = [[] for _ in range(rows)]
    for i, entry in enumerate(entries):
        row = cells[i % rows]
        if row:
            row.append('<TD WIDTH="10"></TD>')
        row += [_swatch_cell(entry.swatch), _text_cell(entry)]
    span = 3 * columns - 1
    lines = [
        '<TABLE BORDER="1" COLOR="#bbbbbb" STYLE="rounded" CELLBORDER="0" CELLSPACING="3" '
        'CELLPADDING="1">',
        f'<TR><TD COLSPAN="{span}" ALIGN="LEFT"><FONT POINT-SIZE="{KEY_SIZE}"><B>Key</B> · '
        f"{dot_html(heading)}</FONT></TD></TR>",
        *(f"<TR>{''.join(row)}</TR>" for row in cells),
        "</TABLE>",
    ]
    return "\n".join(lines)


def title_table(heading: str, lines: list[str]) -> str:
    cell = '<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="{}">{}</FONT></TD></TR>'
    rows = [cell.format(14, f"<B>{dot_html(heading)}</B>")]
    rows += [cell.format(10, dot_html(line)) for line in lines]
    return "\n".join(['<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">', *rows, "</TABLE>"])


@dataclass(frozen=True)
class Arrangement:
    """Where the key goes: beside the title block or below it, in so many columns."""

    columns: int
    beside: bool


def arrangements(entries: int) -> list[Arrangement]:
    """The ways worth trying to lay out a key of `entries` entries."""
    if not entries:
        return [Arrangement(0, True)]
    found = {Arrangement(math.ceil(entries / rows), True) for rows in range(1, entries + 1)}
    found |= {Arrangement(math.ceil(entries / rows), False) for rows in range(1, entries + 1)}
    return sorted(found, key=lambda a: (not a.beside, a.columns))


def compact(entries: int, title_lines: int) -> Arrangement:
    """The arrangement when the picture's size is not known: beside, as tall as the title.

    (The key's heading takes a line; `title_lines` counts the heading too.)
    """
    rows = max(1, title_lines - 1)
    return Arrangement(math.ceil(entries / rows) if entries else 0, True)


@dataclass(frozen=True)
class Heading:
    """What the label holds: the title block, and the key's entries (none: no key)."""

    heading: str
    lines: list[str]
    key: list[Entry]
    key_heading: str


def heading_of(graph: nx.DiGraph, fills: style.Fills, title: str, legend: bool) -> Heading:
    heading, lines = style.title_block(graph, title)
    key = [*colour_entries(fills), *mark_entries(graph)] if legend else []
    return Heading(heading, lines, key, key_heading(fills))


def label(heading: Heading, arrangement: Arrangement) -> str:
    """The graph label: the title block, and the key arranged so."""
    title = title_table(heading.heading, heading.lines)
    if not heading.key or not arrangement.columns:
        return f"<{title}>"
    key = key_table(heading.key, heading.key_heading, arrangement.columns)
    if arrangement.beside:
        row = (
            f'<TR><TD ALIGN="LEFT" VALIGN="TOP">{title}</TD><TD WIDTH="{GAP}"></TD>'
            f'<TD ALIGN="LEFT" VALIGN="TOP">{key}</TD></TR>'
        )
    else:
        row = (
            f'<TR><TD ALIGN="LEFT">{title}</TD></TR><TR><TD HEIGHT="8"></TD></TR>'
            f'<TR><TD ALIGN="LEFT">{key}</TD></TR>'
        )
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">{row}</TABLE>>'


def label_lines(heading: Heading) -> list[Line]:
    """Every line of text the label holds, for measuring (`metrics.metrics_for`)."""
    lines = [Line(heading.heading, 14, bold=True), *(Line(text, 10) for text in heading.lines)]
    lines.append(Line(f"Key · {heading.key_heading}", 10, bold=True))
    lines += [Line(_entry_text(entry), 10, bold=bool(entry.word)) for entry in heading.key]
    return lines


def _entry_text(entry: Entry) -> str:
    return f"{entry.word} {entry.text}" if entry.word else entry.text


def label_size(heading: Heading, arrangement: Arrangement, metrics: Metrics) -> tuple[float, float]:
    """About how wide and tall Graphviz draws the label, in points (a little over)."""
    title_width = max(
        metrics.width(Line(heading.heading, 14, bold=True)),
        *(metrics.width(Line(text, 10)) for text in heading.lines),
    )
    title_height = 19.0 + 14.0 * len(heading.lines)
    if not heading.key or not arrangement.columns:
        return title_width + 4, title_height
    rows = math.ceil(len(heading.key) / arrangement.columns)
    columns = [heading.key[i : i + rows] for i in range(0, len(heading.key), rows)]
    # Bold measures the mark word and a little more: an estimate that errs wide.
    texts = [
        max(metrics.width(Line(_entry_text(e), 10, bold=bool(e.word))) for e in column)
        for column in columns
    ]
    key_width = sum(SWATCH[0] + 9 + width for width in texts) + 16 * (len(columns) - 1) + 8
    key_width = max(key_width, metrics.width(Line(f"Key · {heading.key_heading}", 10, True)) + 12)
    key_height = 19.0 + rows * (SWATCH[1] + 5) + 6
    if arrangement.beside:
        return title_width + GAP + key_width, max(title_height, key_height)
    return max(title_width, key_width), title_height + 8 + key_height


def best_arrangement(
    heading: Heading, picture: tuple[float, float], metrics: Metrics
) -> Arrangement:
    """The arrangement that makes the whole picture, label and all, smallest in area.

    Among equals, the key goes beside the title block, in the fewest columns.
    """
    width, height = picture

    def area(arrangement: Arrangement) -> float:
        label_width, label_height = label_size(heading, arrangement, metrics)
        return max(width, label_width) * (height + label_height)

    return min(arrangements(len(heading.key)), key=area)
