"""SVG paths read back as points, whichever commands wrote them."""

from __future__ import annotations

import re

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
PATH = re.compile(r"([MCmc])([^MCmc]*)")


def floats(text: str) -> list[float]:
    """Every number of an attribute (`points`, `viewBox`, a path Graphviz wrote)."""
    return [float(n) for n in NUMBER.findall(text)]


def path_points(d: str) -> list[float]:
    """A path's points, absolute: as Graphviz writes them (`M`, `C`), or relative (`m`, `c`)."""
    found: list[float] = []
    x = y = 0.0
    for command, operands in PATH.findall(d):
        values = floats(operands)
        pairs = list(zip(values[0::2], values[1::2], strict=True))
        if command in "MC":
            found += [n for pair in pairs for n in pair]
            x, y = pairs[-1]
        elif command == "m":
            for dx, dy in pairs:
                x, y = x + dx, y + dy
                found += [x, y]
        else:  # each piece of three points is relative to where the last one ended
            for i in range(0, len(pairs), 3):
                piece = pairs[i : i + 3]
                found += [n for dx, dy in piece for n in (x + dx, y + dy)]
                x, y = x + piece[-1][0], y + piece[-1][1]
    return found
