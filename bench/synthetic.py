"""Synthetic genealogies of any size, made in memory for the benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.builders import Factory


def product_forest(products: int, fan_out: tuple[int, ...]) -> Factory:
    """`products` top-level units, each with `fan_out[i]` children per unit at level i."""
    factory = Factory()
    for p in range(products):
        level = [f"P{p:04}"]
        factory.unit(level[0], "PRODUCT", batch="B-PRODUCT")
        for depth, width in enumerate(fan_out, start=1):
            below: list[str] = []
            for parent in level:
                for c in range(width):
                    serial = f"{parent}.{c}"
                    factory.unit(serial, f"PART-L{depth}", parent=parent, batch=f"B-L{depth}")
                    below.append(serial)
            level = below
    return factory


def snapshot_of(products: int, fan_out: tuple[int, ...]) -> dict[str, Any]:
    return product_forest(products, fan_out).snapshot()
