"""DOT: the genealogy as Graphviz reads it, serial numbers as node IDs.

The statements come from the picture's scene (`picture/scene.py`), which
Graphviz also draws from; here every unit is kept and named by its serial.
"""

from __future__ import annotations

import networkx as nx

from tracegraph.escape import dot_id
from tracegraph.export.options import ExportOptions
from tracegraph.picture import legend, style
from tracegraph.picture.scene import Look, picture, write_dot


def look_of(graph: nx.DiGraph, options: ExportOptions) -> Look:
    """The look of the exported DOT: the title block and the key beside it, as tall as it."""
    fills = style.fills(graph, options.color_by)
    heading = legend.heading_of(graph, fills, options.title, options.legend)
    arrangement = legend.compact(len(heading.key), len(heading.lines) + 1)
    return Look(fills, options.rankdir, label=legend.label(heading, arrangement))


def to_dot(graph: nx.DiGraph, options: ExportOptions | None = None) -> str:
    """The genealogy as DOT, with serial numbers as node IDs (every unit, never collapsed)."""
    options = options or ExportOptions()
    return write_dot(picture(graph, look=look_of(graph, options)), dot_id)
