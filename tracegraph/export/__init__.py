"""Exporters: one module per format, each pure (graph in, text or bytes out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

import networkx as nx

from tracegraph.errors import ExportError
from tracegraph.export.csv import to_csv
from tracegraph.export.dot import to_dot
from tracegraph.export.graphml import to_graphml
from tracegraph.export.graphviz import to_pdf, to_png, to_svg
from tracegraph.export.impact import impact_csv, impact_json, impact_summary
from tracegraph.export.json import to_json
from tracegraph.export.mermaid import to_mermaid
from tracegraph.export.text import to_text
from tracegraph.export.xlsx import impact_xlsx, to_xlsx
from tracegraph.impact import ImpactReport

Exporter = Callable[[nx.DiGraph], str | bytes]

EXPORTERS: dict[str, Exporter] = {
    "dot": to_dot,
    "svg": to_svg,
    "png": to_png,
    "pdf": to_pdf,
    "graphml": to_graphml,
    "json": to_json,
    "txt": to_text,
    "csv": to_csv,
    "mmd": to_mermaid,
    "xlsx": to_xlsx,
}
# The recall impact report's own formats; in `impact`, .csv .json .txt mean these.
REPORTS: dict[str, Callable[[ImpactReport], str | bytes]] = {
    "impact-csv": impact_csv,
    "impact-json": impact_json,
    "impact-xlsx": impact_xlsx,
    "summary": impact_summary,
}
REPORT_EXTENSIONS = {
    ".csv": "impact-csv",
    ".json": "impact-json",
    ".txt": "summary",
    ".xlsx": "impact-xlsx",
}
EXTENSIONS = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".graphml": "graphml",
    ".json": "json",
    ".txt": "txt",
    ".csv": "csv",
    ".mmd": "mmd",
    ".xlsx": "xlsx",
}
ALIASES = {"gv": "dot", "text": "txt", "tree": "txt", "mermaid": "mmd"}


def extension_disagrees(path: str, fmt: str) -> bool:
    """Whether `path` has a known extension that names another kind of file than `fmt`."""
    if path == "-":
        return False
    named = EXTENSIONS.get(PurePath(path).suffix.lower())
    if named is None:
        return False
    family = {
        "impact-csv": "csv",
        "impact-json": "json",
        "impact-xlsx": "xlsx",
        "summary": "txt",
    }.get(fmt, fmt)
    return named != family


def format_names(report: bool = False) -> list[str]:
    return sorted({*EXPORTERS, *ALIASES, *(REPORTS if report else ())})


def format_for(path: str, override: str | None = None, *, report: bool = False) -> str:
    """The format to write `path` in: `override`, else its extension.

    With `report`, the recall impact report's formats are known too, and
    `.csv`, `.json`, `.txt` and stdout name them.
    """
    if override:
        name = ALIASES.get(override.lower(), override.lower())
        if name not in EXPORTERS and not (report and name in REPORTS):
            raise ExportError(
                f"unknown format {override!r}; choose one of {', '.join(format_names(report))}"
            )
        return name
    if path == "-":
        return "summary" if report else "txt"
    suffix = PurePath(path).suffix.lower()
    if report and suffix in REPORT_EXTENSIONS:
        return REPORT_EXTENSIONS[suffix]
    if suffix not in EXTENSIONS:
        raise ExportError(
            f"cannot tell the format of {path!r} from its extension; use one of "
            f"{', '.join(sorted(EXTENSIONS))} or --format"
        )
    return EXTENSIONS[suffix]


def export(graph: nx.DiGraph, fmt: str, report: ImpactReport | None = None) -> bytes:
    """The genealogy (or, for a report format, the impact report) as the bytes to write."""
    if fmt in REPORTS:
        if report is None:
            raise ExportError(f"format {fmt!r} needs a recall impact report (tracegraph impact)")
        made = REPORTS[fmt](report)
        return made.encode("utf-8") if isinstance(made, str) else made
    result = EXPORTERS[fmt](graph)
    return result.encode("utf-8") if isinstance(result, str) else result
