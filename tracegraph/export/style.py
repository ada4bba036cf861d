"""How units look in every graphical export: colours, marks, label lines."""

from __future__ import annotations

import zlib

import networkx as nx

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
    part = str(attributes.get("part_number", ""))
    revision = str(attributes.get("revision", ""))
    part_line = f"{part} rev {revision}" if revision else part
    serial = str(attributes.get("serial_number", ""))
    return clip(serial), clip(part_line), clip(str(attributes.get("part_name", "")))


def title_lines(graph: nx.DiGraph) -> tuple[str, str]:
    """The title of a picture: what was asked; scope, size, source and time."""
    info = graph.graph
    missing = sum(1 for s in graph if graph.nodes[s].get("status") == "missing")
    warnings = len(info.get("warnings", ()))
    size = f"{graph.number_of_nodes()} units"
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
    """Everything worth knowing about a unit, one fact a line, for hover text."""
    serial, part_line, name = unit_lines(attributes)
    lines = [serial]
    if part_line or name:
        lines.append(clip(f"{part_line} {name}".strip()))
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
