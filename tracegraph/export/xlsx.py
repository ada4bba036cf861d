"""XLSX workbooks for spreadsheets: typed cells, so serials stay exactly as they are.

A spreadsheet reading CSV turns `0123` into 123, `1E5` into 100000,
`2024-01-02` into a date and `TRUE` into a boolean, whatever the quoting.
In XLSX every text is a text cell (never a formula, and no visible guard),
numbers and booleans are typed, and dates are real dates (UTC). Each sheet
has a frozen header, an autofilter and column widths fitted to the values.
Control characters are kept, in the `_xHHHH_` form of the format (Excel and
LibreOffice read them back). Written with XlsxWriter; the same data gives the
same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import networkx as nx

from tracegraph.diff import KINDS, Diff, side_text
from tracegraph.errors import ExportError
from tracegraph.escape import PATH_SEPARATOR, join_items
from tracegraph.export.csv import unit_rows
from tracegraph.export.diff import change_row
from tracegraph.export.impact import IMPACT_COLUMNS, affected_fields
from tracegraph.impact import ImpactReport

Row = Sequence[object]
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
MIN_WIDTH, MAX_WIDTH = 8, 60
MAX_CELL = 32_767  # characters a spreadsheet cell holds
_DATE_COLUMNS = frozenset(
    {"created_at", "top_created_at", "generated_at", "captured_at"}
    | {"first_seen_after", "first_seen_at"}
)


def as_date(text: str) -> datetime | None:
    """An ISO 8601 time as a naive UTC datetime (what a cell holds), or None."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


@dataclass
class Table:
    """One sheet: rows of cells under a header, and optionally facts beside it."""

    name: str
    header: Sequence[str]
    rows: Sequence[Row] = field(default_factory=list)
    # Label and value pairs, in two columns right of the table (the summary's facts).
    facts: Sequence[tuple[str, object]] = field(default_factory=list)


class _Writer:
    def __init__(self, generated_at: str) -> None:
        import xlsxwriter  # imported when a workbook is asked for

        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(
            self.buffer,
            {
                "in_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        # The creation time is the data's, so that the same data gives the same bytes.
        self.book.set_properties(
            {"created": as_date(generated_at) or datetime(2000, 1, 1), "title": "tracegraph"}
        )
        self.bold = self.book.add_format({"bold": True})
        self.date = self.book.add_format({"num_format": DATE_FORMAT})

    def sheet(self, table: Table) -> None:
        sheet = self.book.add_worksheet(table.name)
        widths = [len(name) for name in table.header]
        for column, name in enumerate(table.header):
            sheet.write_string(0, column, name, self.bold)
        for number, row in enumerate(table.rows, start=1):
            for column, value in enumerate(row):
                self._cell(sheet, number, column, value, table.header[column], widths)
        beside = len(table.header) + 1
        for number, (label, value) in enumerate(table.facts):
            self._cell(sheet, number, beside, label, None, widths, self.bold)
            self._cell(sheet, number, beside + 1, value, label, widths)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(table.rows), max(len(table.header) - 1, 0))
        for column, width in enumerate(widths):
            sheet.set_column(column, column, min(MAX_WIDTH, max(MIN_WIDTH, width + 2)))

    def _cell(
        self,
        sheet: Any,
        row: int,
        column: int,
        value: object,
        name: str | None,
        widths: list[int],
        form: Any = None,
    ) -> None:
        if isinstance(value, bool):
            sheet.write_boolean(row, column, value)
            text = "FALSE" if not value else "TRUE"
        elif isinstance(value, (int, float)):
            sheet.write_number(row, column, value)
            text = str(value)
        else:
            text = str(value)
            moment = as_date(text) if name in _DATE_COLUMNS and text else None
            if moment is not None:
                sheet.write_datetime(row, column, moment, self.date)
                text = DATE_FORMAT
            elif sheet.write_string(row, column, text, form) == -2:
                raise ExportError(
                    f"a {name or 'text'} of {len(text)} characters does not fit a spreadsheet "
                    f"cell (at most {MAX_CELL}); CSV and JSON hold it"
                )
        while column >= len(widths):
            widths.append(0)
        widths[column] = max(widths[column], len(text))

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def workbook(tables: Sequence[Table], generated_at: str) -> bytes:
    """The tables as the sheets of one workbook."""
    writer = _Writer(generated_at)
    for table in tables:
        writer.sheet(table)
    return writer.close()


def to_xlsx(graph: nx.DiGraph) -> bytes:
    """Every unit of the genealogy: the CSV's columns on one sheet, `units`."""
    header, rows = unit_rows(graph)
    return workbook([Table("units", header, rows)], str(graph.graph.get("generated_at", "")))


def _unit_fields(attributes: dict[str, object]) -> list[object]:
    return [attributes.get(k, "") for k in ("part_number", "revision", "batch")]


def impact_xlsx(report: ImpactReport) -> bytes:
    """The recall impact report: summary, affected, suspects, loose and warnings sheets."""
    summary = Table(
        "summary",
        ("part_number", "revision", "part_name", "affected_units", "suspect_units"),
        rows=[
            [p.part_number, p.revision, p.part_name, p.units, p.suspects] for p in report.by_part
        ],
        facts=[
            ("asked", report.asked),
            ("source", report.source),
            ("generated_at", report.generated_at),
            ("suspect units found", len(report.suspects)),
            ("top-level units affected", len(report.affected)),
            ("loose suspect units", len(report.loose)),
            ("suspects unknown (404)", join_items(report.missing)),
            ("warnings", len(report.warnings)),
        ],
    )
    affected = Table(
        "affected",
        IMPACT_COLUMNS,
        rows=[[affected_fields(unit)[c] for c in IMPACT_COLUMNS] for unit in report.affected],
    )
    held: list[Row] = []
    for unit in report.affected:
        for path in unit.paths:
            suspect = path[-1]
            held.append(
                [
                    suspect,
                    *_unit_fields(report.units.get(suspect, {})),
                    unit.serial,
                    *_unit_fields(unit.attributes),
                    len(path) - 1,
                    join_items(path, PATH_SEPARATOR),
                ]
            )
    suspects = Table(
        "suspects",
        (
            "suspect_serial",
            "part_number",
            "revision",
            "batch",
            "top_serial",
            "top_part_number",
            "top_revision",
            "top_batch",
            "depth",
            "path",
        ),
        rows=sorted(held, key=lambda row: (str(row[0]), str(row[4]))),
    )
    loose = Table(
        "loose",
        ("serial", "part_number", "revision", "batch", "part_name", "created_at"),
        rows=[
            [
                serial,
                *_unit_fields(report.units.get(serial, {})),
                report.units.get(serial, {}).get("part_name", ""),
                report.units.get(serial, {}).get("created_at", ""),
            ]
            for serial in report.loose
        ],
    )
    warnings = Table("warnings", ("warning",), rows=[[w] for w in report.warnings])
    return workbook([summary, affected, suspects, loose, warnings], report.generated_at)


def diff_xlsx(diff: Diff) -> bytes:
    """What changed: a summary sheet (both sides, counts), then one sheet per kind."""
    summary = Table(
        "summary",
        ("kind", "count"),
        rows=[[kind, count] for kind, count in diff.counts.items()],
        facts=[
            ("from", side_text(diff.old)),
            ("to", side_text(diff.new)),
            ("compared", diff.old.asked),
            ("scope", diff.old.scope),
            ("depth", "any" if diff.old.depth is None else diff.old.depth),
            ("units compared", diff.compared),
            ("units before", diff.old.units),
            ("units after", diff.new.units),
            ("warnings", join_items([*diff.warnings, *diff.old.warnings, *diff.new.warnings])),
        ],
    )
    sheets = [summary]
    for kind in KINDS:
        changes = diff.of_kind(kind)
        header = list(DIFF_FIELDS[kind])
        if any(change.first_seen is not None for change in changes):
            header += ["first_seen_after", "first_seen_at"]
        rows = [[change_row(change).get(name, "") for name in header] for change in changes]
        sheets.append(Table(kind, header, rows))
    return workbook(sheets, generated_at(diff))


DIFF_FIELDS = {
    "added": ("serial", "parent"),
    "removed": ("serial", "parent"),
    "moved": ("serial", "from_parent", "to_parent"),
    "replaced": ("parent", "part_number", "removed", "added"),
    "changed": ("serial", "field", "old", "new"),
}


def generated_at(diff: Diff) -> str:
    """The workbook's creation time: NEW's capture, so that the same data gives the same bytes."""
    return diff.new.captured_at or diff.old.captured_at
