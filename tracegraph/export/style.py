"""How units look in every graphical export: colours, marks, label lines."""

from __future__ import annotations

import zlib

import networkx as nx

from tracegraph.export.metrics import Line

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
SEED_BORDER = "#b03a2e"
TOP_LEVEL_BORDER = "#1f3a93"
BORDER = "#4d4d4d"
EDGE_COLOUR = "#666666"
FONT = "Helvetica"
# Characters of one line of text a picture shows: Graphviz refuses a string over
# 16,384 characters, and no reader wants more than a line of a part name.
LINE_LIMIT = 200


GROUP_TOOLTIP = 40  # serials a group's tooltip lists in the DOT (Graphviz caps strings)


def clip(text: str, limit: int = LINE_LIMIT) -> str:
    """Text for one line of a picture: at most `limit` characters, `…` where cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def part_colours(graph: nx.DiGraph) -> dict[str, str]:
    """One fill colour per part number.

    Each part number has a home colour from a stable hash, so it looks the same
    in every picture; parts whose home is taken in this picture move to the
    next free colour (and share once all are taken).
    """
    parts = sorted({str(graph.nodes[s].get("part_number", "")) for s in graph} - {""})
    colours = {"": MISSING_FILL}
    free = list(range(len(PART_COLOURS)))
    for part in parts:
        home = zlib.crc32(part.encode("utf-8")) % len(PART_COLOURS)
        if not free:
            free = list(range(len(PART_COLOURS)))
        slot = min(free, key=lambda i: (i - home) % len(PART_COLOURS))
        free.remove(slot)
        colours[part] = PART_COLOURS[slot]
    return colours


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
    units = sum(int(graph.nodes[s].get("count", 1)) for s in graph)
    return units, int(graph.graph.get("collapsed", 0))


def title_lines(graph: nx.DiGraph) -> tuple[str, str]:
    """The title of a picture: what was asked; scope, size, source and time."""
    info = graph.graph
    missing = sum(1 for s in graph if graph.nodes[s].get("status") == "missing")
    warnings = len(info.get("warnings", ()))
    units, collapsed = unit_count(graph)
    size = f"{units} unit{'' if units == 1 else 's'}"
    if collapsed:
        size += f" ({collapsed} drawn in groups)"
    if missing:
        size += f" ({missing} missing)"
    details = [f"scope {info.get('scope', '')}", size]
    if warnings:
        details.append(f"{warnings} warning" + ("s" if warnings != 1 else ""))
    details.append(f"source {info.get('source', '') or 'unknown'}")
    details.append(f"generated {info.get('generated_at', '')}")
    heading = "Recall impact of" if info.get("analysis") == "recall impact" else "Genealogy of"
    return clip(f"{heading} {info.get('seeds', '')}"), clip(" · ".join(details), 2 * LINE_LIMIT)


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
    facts = (
        ("batch", "batch"),
        ("created", "created_at"),
        ("station", "station"),
        ("by", "created_by"),
        ("outcome", "outcome"),
        ("procedure", "procedure"),
        ("sample", "sample"),
    )
    lines += [clip(f"{label}: {attributes[key]}") for label, key in facts if attributes.get(key)]
    if attributes.get("status") == "missing":
        lines.append("missing: the API answers 404")
    return lines
