"""How units look in every graphical export: colours, marks, label lines."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from tracegraph.graph import shown_outcome
from tracegraph.picture.metrics import Line
from tracegraph.source import public_url

# Light fills that keep black text readable, in print and on screen.
PART_COLOURS = (
    "#cfe2f3",
    "#d9ead3",
    "#fff2cc",
    "#f4cccc",
    "#d9d2e9",
    "#fce5cd",
    "#d0e0e3",
    "#ead1dc",
    "#e2efc0",
    "#c9daf8",
    "#f6e0b5",
    "#e0e0e0",
)
MISSING_FILL = "#ffffff"
PLAIN_FILL = "#ffffff"  # --color-by none, and a unit without the key (no batch)
# --color-by outcome: tints of the Okabe-Ito colours, told apart with any colour vision.
OUTCOME_FILLS = {
    "PASS": "#bfe1f6",  # sky blue
    "FAIL": "#f5c77e",  # orange
    "other": "#e9c3d9",  # reddish purple
    "none": "#eeeeee",  # grey: no test run known
}
WARNING_COLOUR = "#b35900"
OUTCOME_COLOUR = "#b03a2e"  # a failed outcome's line
MISSING_COLOUR = "#7f7f7f"  # a missing unit's "missing (404)" line
SEED_BORDER = "#b03a2e"
TOP_LEVEL_BORDER = "#1f3a93"
BORDER = "#4d4d4d"
EDGE_COLOUR = "#666666"
FONT = "Helvetica"
# A diff picture's marks (`diff.mark_changes`): one colour per kind of change.
CHANGE_COLOURS = {
    "added": "#1b7837",  # green
    "removed": "#b03a2e",  # red
    "moved": "#1f5fa8",  # blue
    "replaced": "#7b3294",  # purple
    "changed": "#a35200",  # orange-brown
}
CHANGE_WORDS = {
    "added": "ADDED",
    "removed": "REMOVED",
    "moved": "MOVED",
    "replaced": "REPLACED",
    "changed": "CHANGED",
}
DEPARTED_FILL = "#f7f7f7"
DEPARTED_BORDER = "#8c8c8c"  # in OLD's genealogy only, itself unchanged: gone with its parent
# Characters of one line of text a picture shows: Graphviz refuses a string over
# 16,384 characters, and no reader wants more than a line of a part name.
LINE_LIMIT = 200


GROUP_TOOLTIP = 40  # serials a group's tooltip lists in the DOT (Graphviz caps strings)


def clip(text: str, limit: int = LINE_LIMIT) -> str:
    """Text for one line of a picture: at most `limit` characters, `…` where cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stable_colours(values: Iterable[str]) -> dict[str, str]:
    """One fill colour per value (part number, batch).

    Each value has a home colour from a stable hash, so it looks the same in
    every picture; values whose home is taken in this picture move to the
    next free colour (and share once all are taken).
    """
    colours = {}
    free = list(range(len(PART_COLOURS)))
    for value in sorted(set(values) - {""}):
        home = zlib.crc32(value.encode("utf-8")) % len(PART_COLOURS)
        if not free:
            free = list(range(len(PART_COLOURS)))
        slot = min(free, key=lambda i: (i - home) % len(PART_COLOURS))
        free.remove(slot)
        colours[value] = PART_COLOURS[slot]
    return colours


def part_colours(graph: nx.DiGraph) -> dict[str, str]:
    """One fill colour per part number of the graph ("" for none: missing units)."""
    parts = (str(graph.nodes[s].get("part_number", "")) for s in graph)
    return {"": MISSING_FILL, **stable_colours(parts)}


# Which run --color-by outcome shows (graph.shown_outcome), for the key's heading.
RUNS = {
    frozenset({"created"}): "the run that created each unit",
    frozenset({"latest"}): "the latest run of each unit",
    frozenset({"created", "latest"}): "the creating run where read in full, else the latest run",
}


def outcome_class(attributes: dict[str, object]) -> str:
    """`PASS`, `FAIL`, `other` (any other outcome) or `none` (no test run known)."""
    outcome = shown_outcome(attributes)[0]
    if outcome in ("PASS", "FAIL"):
        return outcome
    return "other" if outcome else "none"


@dataclass(frozen=True)
class Fills:
    """The fill colour of every box, by part number, batch, test outcome or none."""

    by: str
    colours: dict[str, str]  # part number, batch or outcome class -> colour
    names: dict[str, str]  # the same keys -> what the key says (part name, outcomes)
    runs: str = ""  # by outcome: which run the colours show, in words

    def key(self, attributes: dict[str, object]) -> str:
        if self.by == "part":
            return str(attributes.get("part_number", ""))
        if self.by == "batch":
            return str(attributes.get("batch", ""))
        if self.by == "outcome":
            return outcome_class(attributes)
        return ""

    def of(self, attributes: dict[str, object]) -> str:
        if attributes.get("status") == "missing":
            return MISSING_FILL
        return self.colours.get(self.key(attributes), PLAIN_FILL)

    def used(self) -> list[tuple[str, str, str]]:
        """Colour, key and what it says, for each key the picture shows (for its key)."""
        return [(self.colours[key], key, self.names[key]) for key in self.names]


def fills(graph: nx.DiGraph, by: str = "part") -> Fills:
    """How the boxes of this graph are filled, with `--color-by` `by`."""
    drawn = [a for _, a in sorted(graph.nodes(data=True)) if a.get("status") != "missing"]
    if by == "none":
        return Fills(by, {}, {})
    if by == "outcome":
        classes = {outcome_class(a) for a in drawn}
        others = sorted({shown_outcome(a)[0] for a in drawn if outcome_class(a) == "other"})
        runs = {shown_outcome(a)[1] for a in drawn if outcome_class(a) != "none"}
        names = {
            "PASS": "PASS",
            "FAIL": "FAIL",
            "other": clip("other outcome: " + ", ".join(others), 80),
            "none": "no test outcome",
        }
        used = {key: name for key, name in names.items() if key in classes}
        return Fills(by, dict(OUTCOME_FILLS), used, RUNS.get(frozenset(runs), ""))
    key = "part_number" if by == "part" else "batch"
    values: dict[str, str] = {}
    for attributes in drawn:
        value = str(attributes.get(key, ""))
        if value not in values:
            name = attributes.get("part_name", "") if by == "part" else ""
            values[value] = clip(f"{value} · {name}" if name else value or f"no {by}", 80)
    colours = {"": PLAIN_FILL, **stable_colours(values)}
    return Fills(by, colours, dict(sorted(values.items())))


def unit_lines(attributes: dict[str, object]) -> tuple[str, str, str]:
    """The three lines a unit box shows: serial; part number and revision; part name."""
    serial = str(attributes.get("serial_number", ""))
    return clip(serial), clip(part_line(attributes)), clip(str(attributes.get("part_name", "")))


def part_line(attributes: dict[str, object]) -> str:
    part = str(attributes.get("part_number", ""))
    revision = str(attributes.get("revision", ""))
    return f"{part} rev {revision}" if revision else part


def members_of(attributes: dict[str, object]) -> tuple[str, ...]:
    """The serials a group box stands for (none for a unit's box)."""
    members = attributes.get("members", ())
    return tuple(map(str, members)) if isinstance(members, (tuple, list)) else ()


def group_heading(attributes: dict[str, object]) -> str:
    """`40 × CAP-100N rev A`: how many units a group box stands for, and of what."""
    return clip(f"{attributes.get('count', 0)} × {part_line(attributes)}")


def group_lines(attributes: dict[str, object]) -> list[Line]:
    """What a group box shows: count and part, part name, batch, serial range."""
    members = members_of(attributes)
    lines = [Line(group_heading(attributes), 11, bold=True)]
    if attributes.get("part_name"):
        lines.append(Line(clip(str(attributes["part_name"])), 9))
    if attributes.get("batch"):
        lines.append(Line(clip(f"batch {attributes['batch']}"), 9))
    if members:
        lines.append(Line(clip(serial_range(members)), 9))
    return lines


def serial_range(members: tuple[str, ...]) -> str:
    """`CAP-100N-0001 … 0040`: the first serial, and what differs in the last."""
    first, last = members[0], members[-1]
    if first == last:
        return first
    pairs = zip(first, last, strict=False)
    shared = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(first), len(last)))
    cut = max((i + 1 for i, char in enumerate(first[:shared]) if not char.isalnum()), default=0)
    return f"{first} … {last[cut:]}"


def unit_count(graph: nx.DiGraph) -> tuple[int, int]:
    """Units a picture stands for, and how many of them are folded into groups."""
    units = sum(int(count) for _, count in graph.nodes(data="count", default=1))
    return units, int(graph.graph.get("collapsed", 0))


def title_block(graph: nx.DiGraph, title: str = "") -> tuple[str, list[str]]:
    """A picture's heading, and the lines that say where it comes from.

    The heading says what was asked (`Genealogy of unit SN-1`), unless `title`
    replaces it; then the question opens the first line. The lines: scope,
    depth, unit count (folded and missing ones), warnings; the source (the
    API URL without credentials; for a snapshot, also when it was captured);
    when the graph was made, and by which tracegraph.
    """
    info = graph.graph
    if info.get("analysis") == "diff":
        return _diff_title_block(graph, title)
    noun = "Recall impact of" if info.get("analysis") == "recall impact" else "Genealogy of"
    asked = f"{noun} {info.get('seeds', '')}"
    missing = sum(1 for _, status in graph.nodes(data="status") if status == "missing")
    warnings = len(info.get("warnings", ()))
    units, collapsed = unit_count(graph)
    size = f"{units} unit{'' if units == 1 else 's'}"
    if collapsed:
        size += f" ({collapsed} drawn in groups)"
    if missing:
        size += f" ({missing} missing)"
    depth = info.get("max_depth")
    facts = [asked] if title else []
    facts.append(f"scope {info.get('scope', '')}")
    facts += ["any depth" if depth is None else f"depth ≤ {depth}", size]
    if warnings:
        facts.append(f"{warnings} warning" + ("s" if warnings != 1 else ""))
    source = f"source {public_url(str(info.get('source', ''))) or 'unknown'}"
    if info.get("store"):
        source += f" · store {info['store']}, sync {info.get('store_sync', '')}"
        if info.get("store_as_of"):
            source += f" · as of {info['store_as_of']}"
    elif info.get("captured_at"):
        source += f" · snapshot captured {info['captured_at']}"
    made = f"generated {info.get('generated_at', '')} by tracegraph {info.get('tool_version', '')}"
    lines = [" · ".join(facts), source, made]
    return clip(title or asked), [clip(line, 2 * LINE_LIMIT) for line in lines]


def _diff_title_block(graph: nx.DiGraph, title: str) -> tuple[str, list[str]]:
    """A diff picture's heading (both sides named) and what it compares."""
    info = graph.graph
    asked = f"Changes from {info.get('diff_old_name', '')} to {info.get('diff_new_name', '')}"
    depth = info.get("max_depth")
    facts = [asked] if title else []
    facts += [
        f"compared {info.get('seeds', '')}",
        f"scope {info.get('scope', '')}",
        "any depth" if depth is None else f"depth ≤ {depth}",
        str(info.get("diff_counts", "")),
    ]
    made = f"generated {info.get('generated_at', '')} by tracegraph {info.get('tool_version', '')}"
    lines = [
        " · ".join(facts),
        f"from {info.get('diff_old', '')}",
        f"to {info.get('diff_new', '')} (drawn; dashed: where OLD had units NEW lacks)",
        made,
    ]
    return clip(title or asked), [clip(line, 2 * LINE_LIMIT) for line in lines]


def change_lines(attributes: dict[str, object]) -> list[tuple[str, bool]]:
    """What a diff picture says about a unit's change: lines, and whether each is bold."""
    kind = str(attributes.get("change", ""))
    if not kind:
        return []
    note = str(attributes.get("change_note", "")) or CHANGE_WORDS[kind]
    fields = str(attributes.get("change_fields", "")).splitlines()
    lines = [(clip(note), True)] if kind != "changed" else []
    if fields:
        lines.append(("CHANGED", True))
    lines += [(clip(line), False) for line in fields[:4]]
    if len(fields) > 4:
        lines.append((f"… and {len(fields) - 4} more", False))
    return lines


def marks(attributes: dict[str, object]) -> list[str]:
    """Words that flag a unit's role in an analysis (recall impact)."""
    found = []
    if attributes.get("suspect"):
        found.append("SUSPECT")
    if attributes.get("top_level"):
        found.append("TOP-LEVEL")
    if attributes.get("loose"):
        found.append("LOOSE")
    return found


_FACTS = (
    ("batch", "batch"),
    ("created", "created_at"),
    ("station", "station"),
    ("by", "created_by"),
    ("outcome", "outcome"),
    ("procedure", "procedure"),
    ("sample", "sample"),
)


def tooltip_lines(attributes: dict[str, object]) -> list[str]:
    """Everything worth knowing about a unit, one fact a line, for hover text.

    A group's lists its first serials (the SVG's title lists them all).
    """
    if attributes.get("group"):
        members = members_of(attributes)
        shown = [clip(m) for m in members[:GROUP_TOOLTIP]]
        more = (
            [f"… and {len(members) - GROUP_TOOLTIP} more"] if len(members) > GROUP_TOOLTIP else []
        )
        return [line.text for line in group_lines(attributes)][:3] + shown + more
    serial, part, name = unit_lines(attributes)
    lines = [serial]
    if part or name:
        lines.append(clip(f"{part} {name}".strip()))
    get = attributes.get
    for label, key in _FACTS:  # 10^5 tooltips are made at once: each fact read once
        value = get(key)
        if value:
            line = f"{label}: {value}"
            lines.append(line if len(line) <= LINE_LIMIT else clip(line))
    if get("status") == "missing":
        lines.append("missing: the API answers 404")
    return lines
