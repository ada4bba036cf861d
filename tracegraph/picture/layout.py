"""Layout hints for Graphviz, kept apart from DOT writing.

`dot` lays a genealogy out as one very wide row: every leaf sits on the bottom
rank and every tree of a forest stands beside the others. Two hints keep big
pictures legible: many leaves under one parent are staggered over a few ranks
(as Graphviz's `unflatten -l` does), and the trees of a forest are folded into
a grid (Graphviz's `pack`), so the picture comes out closer to a page's shape.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass

import networkx as nx

from tracegraph.graph import roots

STAGGER_FAN_OUT = 6  # leaves under one parent before they spread over more ranks
STAGGER_MAX_RANKS = 4
BOX_WIDTH = 1.8  # inches a unit box takes across, spacing included
RANK_HEIGHT = 0.9  # inches a rank takes down
BOX_HEIGHT = 0.75  # inches a box takes down, spacing included (left-to-right pictures)
ASPECT = 1.6  # width / height the folded picture aims at


@dataclass(frozen=True)
class Layout:
    """Edge lengths in ranks, and how the trees of a forest are packed into a grid."""

    lengths: dict[tuple[str, str], int]
    columns: int  # 0: a single tree, no packing
    tree_order: dict[str, int]  # tree root -> its place in the grid (Graphviz `sortv`)


def stagger(graph: nx.DiGraph) -> dict[tuple[str, str], int]:
    """Minimum lengths that spread a parent's many leaf children over a few ranks."""
    lengths: dict[tuple[str, str], int] = {}
    for parent in sorted(graph):
        leaves = sorted(c for c in graph.successors(parent) if graph.out_degree(c) == 0)
        if len(leaves) <= STAGGER_FAN_OUT:
            continue
        ranks = min(STAGGER_MAX_RANKS, math.ceil(len(leaves) / STAGGER_FAN_OUT))
        for i, leaf in enumerate(leaves):
            if i % ranks:
                lengths[(parent, leaf)] = 1 + i % ranks
    return lengths


def _ranks(graph: nx.DiGraph, root: str, lengths: dict[tuple[str, str], int]) -> dict[str, int]:
    """Rank of every unit under `root`, breadth-first; first reach wins (cycles, two parents)."""
    ranks = {root: 0}
    queue = deque([root])
    while queue:
        parent = queue.popleft()
        for child in sorted(graph.successors(parent)):
            if child not in ranks:
                ranks[child] = ranks[parent] + lengths.get((parent, child), 1)
                queue.append(child)
    return ranks


def plan_layout(graph: nx.DiGraph, rankdir: str = "TB", aspect: float = ASPECT) -> Layout:
    """Stagger wide fans and pack the trees of a forest into a grid of about `aspect`."""
    lengths = stagger(graph)
    trees: list[tuple[str, dict[str, int]]] = []
    placed: set[str] = set()
    for root in roots(graph):
        if root in placed:
            continue
        ranks = {s: r for s, r in _ranks(graph, root, lengths).items() if s not in placed}
        placed.update(ranks)
        trees.append((root, ranks))
    if len(trees) < 2:
        return Layout(lengths, 0, {})
    sizes = [
        (max(Counter(r.values()).values()) * BOX_WIDTH, (max(r.values()) + 1) * RANK_HEIGHT)
        for _, r in trees
    ]
    if rankdir == "LR":  # ranks run across, a rank's boxes down
        sizes = [(ranks / RANK_HEIGHT * BOX_WIDTH, across / BOX_WIDTH * BOX_HEIGHT)
                 for across, ranks in sizes]  # fmt: skip
    return Layout(
        lengths, grid_columns(sizes, aspect), {root: i for i, (root, _) in enumerate(trees)}
    )


def grid_extents(sizes: list[tuple[float, float]], columns: int) -> tuple[list[float], list[float]]:
    """The widths of the columns and the heights of the rows of a row-major grid of `sizes`."""
    widths = [0.0] * columns
    heights: list[float] = []
    for i, (width, height) in enumerate(sizes):
        widths[i % columns] = max(widths[i % columns], width)
        if i % columns == 0:
            heights.append(0.0)
        heights[-1] = max(heights[-1], height)
    return widths, heights


def grid_columns(
    sizes: list[tuple[float, float]], aspect: float = ASPECT, max_columns: int = 200
) -> int:
    """The column count whose row-major grid of `sizes` comes closest to `aspect`."""
    best, best_error = 1, math.inf
    for columns in range(1, min(len(sizes), max_columns) + 1):
        widths, heights = grid_extents(sizes, columns)
        error = abs(math.log(sum(widths) / sum(heights) / aspect))
        if error < best_error:
            best, best_error = columns, error
    return best
