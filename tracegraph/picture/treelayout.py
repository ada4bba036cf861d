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
from dataclasses import dataclass, field

import networkx as nx

from tracegraph.picture.layout import (
    ASPECT,
    STAGGER_FAN_OUT,
    STAGGER_MAX_RANKS,
    grid_columns,
    grid_extents,
)

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
    # The left, top, right and bottom of everything drawn: boxes and edges.
    bounds: tuple[float, float, float, float]


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

    def moved(self, dx: float) -> None:
        self.left_shift += dx
        self.right_shift += dx

    def gap_needed(self, other: _Contour) -> float:
        """How far right of this one `other` must go (root to root) to keep GAP everywhere."""
        levels = min(len(self.right), len(other.left))
        mine, theirs = self.right_shift, other.left_shift
        return (
            max(
                [
                    (edge + mine) - (other_edge + theirs)
                    for edge, other_edge in zip(
                        self.right[-levels:], other.left[-levels:], strict=True
                    )
                ]
            )
            + GAP
        )

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
    order: list[str]  # breadth first from the root; staggered leaves are not in it
    children: dict[str, list[str]]
    grids: dict[str, list[str]]  # parent -> staggered leaves
    level: dict[str, int]
    offset: dict[str, float] = field(default_factory=dict)  # x relative to the parent
    block: dict[str, tuple[float, int, float, float]] = field(default_factory=dict)


def _spanning_tree(children: dict[str, list[str]], root: str, placed: set[str]) -> _Tree:
    """Breadth-first from `root`: the first parent to reach a unit keeps it.

    `children`: every unit's children in the graph, sorted.
    """
    kids_of: dict[str, list[str]] = {}
    grids: dict[str, list[str]] = {}
    level = {root: 0}
    placed.add(root)
    order = [root]
    for parent in order:  # the list grows as the walk goes: breadth first
        kids = [kid for kid in children[parent] if kid not in placed]
        if kids:
            placed.update(kids)
            if len(kids) > STAGGER_FAN_OUT:
                leaves = [kid for kid in kids if not children[kid]]
                if len(leaves) > STAGGER_FAN_OUT:
                    grids[parent] = leaves
                    kids = [kid for kid in kids if children[kid]]
            below = level[parent] + 1
            for kid in kids:
                level[kid] = below
            order += kids
        kids_of[parent] = kids
    return _Tree(root, order, kids_of, grids, level)


def _grid_shape(count: int) -> tuple[int, int]:
    rows = min(STAGGER_MAX_RANKS, math.ceil(count / STAGGER_FAN_OUT))
    return rows, math.ceil(count / rows)


def _lay_out(tree: _Tree, sizes: dict[str, Point]) -> None:
    """Relative x of every unit from its parent, bottom-up (no recursion).

    Children come after their parent breadth first, so the walk backwards
    meets every subtree before its root.
    """
    contours: dict[str, _Contour] = {}
    kids_of, grids, offset = tree.children, tree.grids, tree.offset
    for node in reversed(tree.order):
        kids = kids_of[node]
        leaves = grids.get(node)
        half = sizes[node][0] / 2
        if not kids and not leaves:
            contours[node] = _Contour(half)
            continue
        parts = [contours.pop(kid) for kid in kids]
        if leaves:
            rows, columns = _grid_shape(len(leaves))
            width = max([sizes[leaf][0] for leaf in leaves])
            block_width = columns * width + (columns - 1) * GAP
            block = _Contour(block_width / 2)
            block.crowned(block_width / 2, rows - 1)
            parts.append(block)
        placed_at = [0.0]
        merged = parts[0]
        for contour in parts[1:]:
            at = merged.gap_needed(contour)
            contour.moved(at)
            merged.absorb(contour)
            placed_at.append(at)
        centre = (placed_at[0] + placed_at[-1]) / 2
        merged.moved(-centre)
        for kid, at in zip(kids, placed_at, strict=False):
            offset[kid] = at - centre
        if leaves:
            tree.block[node] = (block_width, rows, width, placed_at[-1] - centre)
        merged.crowned(half)
        contours[node] = merged


@dataclass
class _Measured:
    """One tree's boxes across (the root's x first 0) and its levels' rows down."""

    xs: dict[str, float]
    levels: dict[str, int]
    cells: dict[str, tuple[str, int, int]]  # a staggered leaf -> its parent, row, column
    tops: list[float]
    heights: list[float]
    left: float  # the leftmost box's left side
    width: float
    height: float
    # The boxes at the tree's edges: leftmost, rightmost, lowest (the root is the highest).
    edges: tuple[str, str, str]


def _measured(tree: _Tree, sizes: dict[str, Point]) -> _Measured:
    xs: dict[str, float] = {tree.root: 0.0}
    levels = tree.level
    cells: dict[str, tuple[str, int, int]] = {}
    kids_of, offset, blocks = tree.children, tree.offset, tree.block
    for node in tree.order:
        x = xs[node]
        for kid in kids_of[node]:
            xs[kid] = x + offset[kid]
        if node in blocks:
            block_width, rows, width, at = blocks[node]
            left = x + at - block_width / 2
            below = levels[node] + 1
            for i, leaf in enumerate(tree.grids[node]):
                row, column = i % rows, i // rows
                xs[leaf] = left + column * (width + GAP) + width / 2
                levels[leaf] = below + row
                cells[leaf] = (node, row, column)
    depth = max(levels.values()) + 1
    heights = [0.0] * depth
    for node, level in levels.items():
        height = sizes[node][1]
        if height > heights[level]:
            heights[level] = height
    tops = [0.0] * depth
    for level in range(1, depth):
        tops[level] = tops[level - 1] + heights[level - 1] + LEVEL_GAP
    nodes = list(xs)
    lefts = [xs[node] - sizes[node][0] / 2 for node in nodes]
    rights = [xs[node] + sizes[node][0] / 2 for node in nodes]
    leftmost = nodes[min(range(len(nodes)), key=lefts.__getitem__)]
    rightmost = nodes[max(range(len(nodes)), key=rights.__getitem__)]
    lowest = max((node for node in nodes if levels[node] == depth - 1), key=lambda n: sizes[n][1])
    left, right = min(lefts), max(rights)
    return _Measured(
        xs, levels, cells, tops, heights, left, right - left, tops[-1] + heights[-1],
        (leftmost, rightmost, lowest),
    )  # fmt: skip


def _place(
    tree: _Tree,
    drawn: _Measured,
    sizes: dict[str, Point],
    at: Point,
    across: bool,
    centres: dict[str, Point],
    routes: dict[tuple[str, str], list[Point]],
) -> tuple[float, float, float, float]:
    """Every box's centre and every edge's bus, the tree's top left at `at`; its bounds.

    Across (`LR`), the tree laid out top down is turned: x and y swap. The
    bounds (left, top, right, bottom) are the tree's, widened by a gutter
    left of its leftmost box (the only part of an edge outside its boxes).
    """
    dx, dy = at
    xs, levels, tops, heights, left = drawn.xs, drawn.levels, drawn.tops, drawn.heights, drawn.left
    middles = [top + height / 2 for top, height in zip(tops, heights, strict=True)]
    buses = [top + height + LEVEL_GAP / 2 for top, height in zip(tops, heights, strict=True)]
    here = {node: (x - left, middles[levels[node]]) for node, x in xs.items()}
    if across:
        centres.update({node: (y + dx, x + dy) for node, (x, y) in here.items()})
    else:
        centres.update({node: (x + dx, y + dy) for node, (x, y) in here.items()})

    def bus(parent: str, kid: str, gutter: float | None = None) -> None:
        """Down from the parent, along the gap under its level, (down a gutter,) into the kid."""
        (px, py), (kx, ky) = here[parent], here[kid]
        level = buses[levels[parent]]
        points = [(px, py + sizes[parent][1] / 2), (px, level)]
        if gutter is not None:
            above = tops[levels[kid]] - LEVEL_GAP / 2
            points += [(gutter, level), (gutter, above), (kx, above)]
        else:
            points.append((kx, level))
        points.append((kx, ky - sizes[kid][1] / 2))
        if across:
            routes[parent, kid] = [(y + dx, x + dy) for x, y in points]
        else:
            routes[parent, kid] = [(x + dx, y + dy) for x, y in points]

    for parent, kids in tree.children.items():
        for kid in kids:
            bus(parent, kid)
    gutter_left: float | None = None  # the leftmost gutter an edge runs down
    for leaf, (parent, row, column) in drawn.cells.items():
        block_width, _, width, offset = tree.block[parent]
        gutter = here[parent][0] + offset - block_width / 2 + column * (width + GAP) - GAP / 2
        if row and (gutter_left is None or gutter < gutter_left):
            gutter_left = gutter
        bus(parent, leaf, gutter if row else None)
    # The sides of the boxes at the tree's edges, reckoned from where they are drawn,
    # and the leftmost gutter's: all that is drawn lies within.
    leftmost_box, rightmost_box, lowest_box = drawn.edges
    root = tree.root
    across_axis, down_axis = (1, 0) if across else (0, 1)  # a box's width and height, laid out

    def half_width(node: str) -> float:
        return sizes[node][across_axis] / 2

    def half_height(node: str) -> float:
        return sizes[node][down_axis] / 2

    if across:  # turned: the levels run across, the root leftmost
        top = centres[leftmost_box][1] - half_height(leftmost_box)
        return (
            centres[root][0] - half_width(root),
            top if gutter_left is None else min(top, gutter_left + dy),
            centres[lowest_box][0] + half_width(lowest_box),
            centres[rightmost_box][1] + half_height(rightmost_box),
        )
    left = centres[leftmost_box][0] - half_width(leftmost_box)
    return (
        left if gutter_left is None else min(left, gutter_left + dx),
        centres[root][1] - half_height(root),
        centres[rightmost_box][0] + half_width(rightmost_box),
        centres[lowest_box][1] + half_height(lowest_box),
    )


def _trees(graph: nx.DiGraph) -> list[_Tree]:
    """The spanning trees of the genealogy, from the units without a parent, by serial.

    A unit left unreached (on a cycle) starts one of its own, as in `graph.roots`.
    """
    children = {key: sorted(kids) for key, kids in graph.adjacency()}
    placed: set[str] = set()
    trees = [
        _spanning_tree(children, root, placed)
        for root in sorted(key for key, parents in graph.pred.items() if not parents)
    ]
    if len(placed) < len(children):
        for key in sorted(children):
            if key not in placed:
                trees.append(_spanning_tree(children, key, placed))
    return trees


def _packed(shapes: list[tuple[float, float]], aspect: float) -> tuple[list[Point], float, float]:
    """Where each tree of these widths and heights goes in a grid of about `aspect`; its size."""
    if not shapes:
        return [], 0.0, 0.0
    columns = grid_columns(shapes, aspect) if len(shapes) > 1 else 1
    widths, heights = grid_extents(shapes, columns)
    lefts = [sum(widths[:c]) + c * TREE_GAP for c in range(columns)]
    tops = [sum(heights[:r]) + r * TREE_GAP for r in range(len(heights))]
    corners = [(lefts[i % columns], tops[i // columns]) for i in range(len(shapes))]
    return corners, lefts[-1] + widths[-1], tops[-1] + heights[-1]


def tree_layout(
    graph: nx.DiGraph, sizes: dict[str, Point], rankdir: str = "TB", aspect: float = ASPECT
) -> Placement:
    """Lay out every tree of the genealogy and pack the trees into a grid.

    `rankdir` `LR` lays each tree out top down with every box turned, then
    turns the tree, so that levels run left to right.
    """
    across = rankdir == "LR"
    laid_sizes = {key: (h, w) for key, (w, h) in sizes.items()} if across else sizes
    trees = _trees(graph)
    measured = []
    for tree in trees:
        _lay_out(tree, laid_sizes)
        measured.append(_measured(tree, laid_sizes))
    shapes = [(m.height, m.width) if across else (m.width, m.height) for m in measured]
    corners, width, height = _packed(shapes, aspect)
    centres: dict[str, Point] = {}
    routes: dict[tuple[str, str], list[Point]] = {}
    bounds = [
        _place(tree, drawn, laid_sizes, corner, across, centres, routes)
        for tree, drawn, corner in zip(trees, measured, corners, strict=True)
    ]
    if not bounds:
        return Placement(centres, routes, width, height, (0.0, 0.0, 0.0, 0.0))
    lefts, tops, rights, bottoms = zip(*bounds, strict=True)
    return Placement(
        centres, routes, width, height, (min(lefts), min(tops), max(rights), max(bottoms))
    )


__all__ = ["ASPECT", "Placement", "tree_layout"]
