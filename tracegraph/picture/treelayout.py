"""A tidy tree layout in linear time, for genealogies too big for Graphviz's `dot`.

`dot` takes 20-40 s for 10,000 units. A genealogy is a forest, so the
classic Reingold-Tilford layout does: each subtree is drawn once, its left
and right contours kept level by level, and siblings are pushed apart just
enough that their contours keep `gap` between them; a parent sits centred
above its children. Merging two contours costs the depth of the shallower
one (the longer list is reused), which keeps the whole layout linear.

Like the `dot` pictures, a parent's many leaves are staggered: more than
`FAN_OUT` leaves under one parent form a grid of up to `FAN_RANKS` rows
below it. Edges are drawn as buses: down from the parent, along the gap
between levels, down into the child; to a leaf deeper in a grid, down the
gutter between its columns. The trees of a forest are packed into a grid
of about a page's shape. Positions are points, y growing downwards.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import networkx as nx

from tracegraph.graph import roots
from tracegraph.picture.layout import ASPECT, STAGGER_FAN_OUT, STAGGER_MAX_RANKS, grid_columns

Point = tuple[float, float]
GAP = 14.0  # points between boxes side by side
LEVEL_GAP = 28.0  # points between levels, where the buses run
TREE_GAP = 24.0  # points between the trees of a forest


@dataclass(frozen=True)
class Placement:
    """Where every box goes and how every edge runs, in points (y downwards)."""

    centres: dict[str, Point]
    routes: dict[tuple[str, str], list[Point]]  # parent, child -> points, ending at the child
    width: float
    height: float

    def bounds(self, sizes: dict[str, tuple[float, float]]) -> tuple[float, float, float, float]:
        """The left, top, right and bottom of everything drawn: boxes and edges."""
        if not self.centres:
            return (0.0, 0.0, 0.0, 0.0)
        halves = [
            (x, y, sizes[key][0] / 2, sizes[key][1] / 2) for key, (x, y) in self.centres.items()
        ]
        points = [point for route in self.routes.values() for point in route]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        return (
            min(min(x - w for x, _, w, _ in halves), min(xs, default=math.inf)),
            min(min(y - h for _, y, _, h in halves), min(ys, default=math.inf)),
            max(max(x + w for x, _, w, _ in halves), max(xs, default=-math.inf)),
            max(max(y + h for _, y, _, h in halves), max(ys, default=-math.inf)),
        )


class _Contour:
    """A subtree's left and right edges, level by level (last item: the top level).

    Stored values plus the list's shift are x relative to the subtree's root.
    """

    __slots__ = ("left", "left_shift", "right", "right_shift")

    def __init__(self, half_width: float) -> None:
        self.left = [-half_width]
        self.right = [half_width]
        self.left_shift = 0.0
        self.right_shift = 0.0

    def depth(self) -> int:
        return len(self.left)

    def moved(self, dx: float) -> None:
        self.left_shift += dx
        self.right_shift += dx

    def gap_needed(self, other: _Contour) -> float:
        """How far right of this one `other` must go (root to root) to keep GAP everywhere."""
        levels = min(self.depth(), len(other.left))
        mine, theirs = len(self.right) - 1, len(other.left) - 1
        need = -math.inf
        for i in range(levels):
            edge = self.right[mine - i] + self.right_shift
            other_edge = other.left[theirs - i] + other.left_shift
            need = max(need, edge - other_edge + GAP)
        return need

    def absorb(self, other: _Contour) -> None:
        """Take in `other` (already moved into this one's frame) as the part to the right."""
        ours, theirs = len(self.left), len(other.left)
        if theirs > ours:  # other is deeper: reuse its lists, overwrite its top levels
            for i in range(ours):
                other.left[theirs - 1 - i] = (
                    self.left[ours - 1 - i] + self.left_shift - other.left_shift
                )
            self.left, self.left_shift = other.left, other.left_shift
            self.right, self.right_shift = other.right, other.right_shift
        else:  # this one is deeper: its left stays, its right takes other's top levels
            for i in range(theirs):
                self.right[ours - 1 - i] = (
                    other.right[theirs - 1 - i] + other.right_shift - self.right_shift
                )

    def crowned(self, half_width: float, rows: int = 1) -> None:
        """Put `rows` levels of this half width on top (x relative to the new root at 0)."""
        for _ in range(rows):
            self.left.append(-half_width - self.left_shift)
            self.right.append(half_width - self.right_shift)


@dataclass
class _Tree:
    """One tree of the forest: its spanning children, fans and relative positions."""

    root: str
    children: dict[str, list[str]] = field(default_factory=dict)
    grids: dict[str, list[str]] = field(default_factory=dict)  # parent -> staggered leaves
    level: dict[str, int] = field(default_factory=dict)
    offset: dict[str, float] = field(default_factory=dict)  # x relative to the parent
    block: dict[str, tuple[float, int, float, float]] = field(default_factory=dict)


def _spanning_tree(children: dict[str, list[str]], root: str, placed: set[str]) -> _Tree:
    """Breadth-first from `root`: the first parent to reach a unit keeps it.

    `children`: every unit's children in the graph, sorted.
    """
    tree = _Tree(root)
    tree.level[root] = 0
    placed.add(root)
    queue = deque([root])
    while queue:
        parent = queue.popleft()
        kids = [c for c in children[parent] if c not in placed]
        placed.update(kids)
        leaves = [c for c in kids if not children[c]]
        if len(leaves) > STAGGER_FAN_OUT:
            tree.grids[parent] = leaves
            kids = [c for c in kids if c not in leaves]
        tree.children[parent] = kids
        for kid in kids:
            tree.level[kid] = tree.level[parent] + 1
            queue.append(kid)
    return tree


def _post_order(tree: _Tree) -> list[str]:
    order, stack = [], [tree.root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(tree.children[node])
    return order[::-1]


def _grid_shape(count: int) -> tuple[int, int]:
    rows = min(STAGGER_MAX_RANKS, math.ceil(count / STAGGER_FAN_OUT))
    return rows, math.ceil(count / rows)


def _lay_out(tree: _Tree, sizes: dict[str, Point]) -> None:
    """Relative x of every unit from its parent, bottom-up (no recursion)."""
    contours: dict[str, _Contour] = {}
    for node in _post_order(tree):
        parts: list[tuple[str, _Contour]] = [
            (kid, contours.pop(kid)) for kid in tree.children[node]
        ]
        leaves = tree.grids.get(node, [])
        if leaves:
            rows, columns = _grid_shape(len(leaves))
            width = max(sizes[leaf][0] for leaf in leaves)
            block_width = columns * width + (columns - 1) * GAP
            block = _Contour(block_width / 2)
            block.crowned(block_width / 2, rows - 1)
            tree.block[node] = (block_width, rows, width, 0.0)
            parts.append(("", block))
        half = sizes[node][0] / 2
        if not parts:
            contours[node] = _Contour(half)
            continue
        placed_at: list[float] = [0.0]
        merged = parts[0][1]
        for _, contour in parts[1:]:
            at = merged.gap_needed(contour)
            contour.moved(at)
            merged.absorb(contour)
            placed_at.append(at)
        centre = (placed_at[0] + placed_at[-1]) / 2
        merged.moved(-centre)
        for (kid, _), at in zip(parts, placed_at, strict=True):
            if kid:
                tree.offset[kid] = at - centre
            else:
                block_width, rows, width, _ = tree.block[node]
                tree.block[node] = (block_width, rows, width, at - centre)
        merged.crowned(half)
        contours[node] = merged


@dataclass
class _Drawn:
    """One tree, placed with its root's level at the top-left origin."""

    centres: dict[str, Point]
    routes: dict[tuple[str, str], list[Point]]
    width: float
    height: float


def _place(tree: _Tree, sizes: dict[str, Point]) -> _Drawn:
    """Absolute positions and bus routes of one tree (x of the root 0 first, then shifted)."""
    xs: dict[str, float] = {tree.root: 0.0}
    levels: dict[str, int] = dict(tree.level)
    grid_cells: dict[str, tuple[str, int, int]] = {}  # leaf -> parent, row, column
    order = [tree.root]
    for node in order:
        for kid in tree.children[node]:
            xs[kid] = xs[node] + tree.offset[kid]
            order.append(kid)
        if node in tree.block:
            block_width, rows, width, at = tree.block[node]
            left = xs[node] + at - block_width / 2
            for i, leaf in enumerate(tree.grids[node]):
                row, column = i % rows, i // rows
                xs[leaf] = left + column * (width + GAP) + width / 2
                levels[leaf] = levels[node] + 1 + row
                grid_cells[leaf] = (node, row, column)
    depth = max(levels.values()) + 1
    heights = [0.0] * depth
    for node, level in levels.items():
        heights[level] = max(heights[level], sizes[node][1])
    tops = [0.0] * depth
    for level in range(1, depth):
        tops[level] = tops[level - 1] + heights[level - 1] + LEVEL_GAP
    centres = {n: (xs[n], tops[levels[n]] + heights[levels[n]] / 2) for n in xs}
    left = min(x - sizes[n][0] / 2 for n, (x, _) in centres.items())
    right = max(x + sizes[n][0] / 2 for n, (x, _) in centres.items())
    centres = {n: (x - left, y) for n, (x, y) in centres.items()}
    routes: dict[tuple[str, str], list[Point]] = {}
    for parent, kids in tree.children.items():
        for kid in kids:
            routes[(parent, kid)] = _bus(centres, sizes, parent, kid, tops, heights, levels)
    for leaf, (parent, row, column) in grid_cells.items():
        block_width, _, width, at = tree.block[parent]
        gutter = centres[parent][0] + at - block_width / 2 + column * (width + GAP) - GAP / 2
        routes[(parent, leaf)] = _bus(
            centres, sizes, parent, leaf, tops, heights, levels, gutter if row else None
        )
    return _Drawn(centres, routes, right - left, tops[-1] + heights[-1])


def _bus(
    centres: dict[str, Point],
    sizes: dict[str, Point],
    parent: str,
    kid: str,
    tops: list[float],
    heights: list[float],
    levels: dict[str, int],
    gutter: float | None = None,
) -> list[Point]:
    """Down from the parent, along the gap under its level, (down a gutter,) into the kid."""
    (px, py), (kx, ky) = centres[parent], centres[kid]
    level = levels[parent]
    bus = tops[level] + heights[level] + LEVEL_GAP / 2
    points = [(px, py + sizes[parent][1] / 2), (px, bus)]
    if gutter is not None:
        above = tops[levels[kid]] - LEVEL_GAP / 2
        points += [(gutter, bus), (gutter, above), (kx, above)]
    else:
        points.append((kx, bus))
    points.append((kx, ky - sizes[kid][1] / 2))
    return points


def _transposed(drawn: _Drawn) -> _Drawn:
    """A tree laid out top down, turned to run left to right."""
    return _Drawn(
        {key: (y, x) for key, (x, y) in drawn.centres.items()},
        {edge: [(y, x) for x, y in route] for edge, route in drawn.routes.items()},
        drawn.height,
        drawn.width,
    )


def tree_layout(
    graph: nx.DiGraph, sizes: dict[str, Point], rankdir: str = "TB", aspect: float = ASPECT
) -> Placement:
    """Lay out every tree of the genealogy and pack the trees into a grid.

    `rankdir` `LR` lays each tree out top down with every box turned, then
    turns the tree, so that levels run left to right.
    """
    across = rankdir == "LR"
    laid_sizes = {key: (h, w) for key, (w, h) in sizes.items()} if across else sizes
    placed: set[str] = set()
    drawn = []
    children = {key: sorted(kids) for key, kids in graph.adjacency()}
    for root in roots(graph):
        if root not in placed:
            tree = _spanning_tree(children, root, placed)
            _lay_out(tree, laid_sizes)
            tree_drawn = _place(tree, laid_sizes)
            drawn.append(_transposed(tree_drawn) if across else tree_drawn)
    columns = grid_columns([(d.width, d.height) for d in drawn], aspect) if len(drawn) > 1 else 1
    widths = [0.0] * columns
    heights: list[float] = []
    for i, tree_drawn in enumerate(drawn):
        widths[i % columns] = max(widths[i % columns], tree_drawn.width)
        if i % columns == 0:
            heights.append(0.0)
        heights[-1] = max(heights[-1], tree_drawn.height)
    lefts = [sum(widths[:c]) + c * TREE_GAP for c in range(columns)]
    tops = [sum(heights[:r]) + r * TREE_GAP for r in range(len(heights))]
    centres: dict[str, Point] = {}
    routes: dict[tuple[str, str], list[Point]] = {}
    for i, tree_drawn in enumerate(drawn):
        dx, dy = lefts[i % columns], tops[i // columns]
        centres.update({n: (x + dx, y + dy) for n, (x, y) in tree_drawn.centres.items()})
        routes.update({e: [(x + dx, y + dy) for x, y in ps] for e, ps in tree_drawn.routes.items()})
    width = lefts[-1] + widths[-1] if drawn else 0.0
    height = tops[-1] + heights[-1] if drawn else 0.0
    return Placement(centres, routes, width, height)


__all__ = ["ASPECT", "Placement", "tree_layout"]
