"""CSV for spreadsheets: one row per unit of a genealogy.

UTF-8 with a byte-order mark (so Excel detects UTF-8), every field quoted,
CRLF line ends, ISO 8601 dates as the API gives them. A cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's rule
against CSV injection), so a spreadsheet shows it as text instead of running it
as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import networkx as nx

from tracegraph.escape import csv_cell, join_items
from tracegraph.graph import NODE_ATTRIBUTES, top_levels

# The columns people sort and filter by first, then every other node attribute.
_FIRST = ("serial_number", "part_number", "revision", "part_name", "batch", "parent", "root")
UNIT_COLUMNS = (*_FIRST, *(a for a in NODE_ATTRIBUTES if a not in _FIRST))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a BOM, all fields quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


def unit_rows(graph: nx.DiGraph) -> tuple[list[str], list[list[object]]]:
    """The per-unit table: every attribute, its parent and its top-level unit (`root`)."""
    extra = sorted(
        {k for _, a in graph.nodes(data=True) for k in a} - set(UNIT_COLUMNS) - {"parent", "root"}
    )
    header = [*UNIT_COLUMNS, *extra]
    rows = []
    roots_of = top_levels(graph)
    for serial in sorted(graph):
        attributes = dict(graph.nodes[serial])
        attributes["parent"] = join_items(sorted(graph.predecessors(serial)))
        attributes["root"] = roots_of[serial]
        rows.append([attributes.get(column, "") for column in header])
    return header, rows


def to_csv(graph: nx.DiGraph) -> str:
    """Every unit with its attributes, its parent and its top-level unit (`root`)."""
    return csv_text(*unit_rows(graph))
