"""Exporters: one module per format, each pure (graph in, text or bytes out)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import networkx as nx

from tracegraph.diff import Diff
from tracegraph.errors import ExportError, TracegraphWarning
from tracegraph.export.csv import to_csv
from tracegraph.export.diff import diff_csv, diff_epcis, diff_json, diff_summary
from tracegraph.export.dot import to_dot
from tracegraph.export.epcis import DEFAULT_EPC_URI, RemovedLink, epcis_document, to_epcis
from tracegraph.export.graphml import to_graphml
from tracegraph.export.impact import impact_csv, impact_json, impact_summary
from tracegraph.export.json import to_json
from tracegraph.export.mermaid import to_mermaid
from tracegraph.export.options import ExportOptions
from tracegraph.export.text import to_text
from tracegraph.export.xlsx import diff_xlsx, impact_xlsx, to_xlsx
from tracegraph.heap import collector_paused
from tracegraph.impact import ImpactReport
from tracegraph.picture.graphviz import to_pdf, to_png, to_svg
from tracegraph.picture.html import to_html

__all__ = [
    "ALIASES",
    "DEFAULT_EPC_URI",
    "DIFF_FORMATS",
    "EXPORTERS",
    "REPORTS",
    "ExportOptions",
    "RemovedLink",
    "diff_csv",
    "diff_format_for",
    "diff_json",
    "diff_summary",
    "diff_xlsx",
    "epcis_document",
    "export",
    "export_diff",
    "export_with",
    "format_for",
    "format_name",
    "format_names",
    "impact_csv",
    "impact_json",
    "impact_summary",
    "impact_xlsx",
    "to_csv",
    "to_dot",
    "to_epcis",
    "to_graphml",
    "to_html",
    "to_json",
    "to_mermaid",
    "to_pdf",
    "to_png",
    "to_pydot",
    "to_svg",
    "to_text",
    "to_xlsx",
]


def to_pydot(graph: nx.DiGraph) -> Any:
    """The genealogy as a `pydot.Dot` (see `pydot_graph.to_pydot`; pydot loads on first use)."""
    from tracegraph.export.pydot_graph import to_pydot as convert

    return convert(graph)


Exporter = Callable[[nx.DiGraph, ExportOptions], str | bytes]


def _data(exporter: Callable[[nx.DiGraph], str | bytes]) -> Exporter:
    """A data format's exporter: it has no picture options to read."""
    return lambda graph, options: exporter(graph)


EXPORTERS: dict[str, Exporter] = {
    "dot": to_dot,
    "svg": to_svg,
    "html": to_html,
    "png": to_png,
    "pdf": to_pdf,
    "graphml": _data(to_graphml),
    "json": _data(to_json),
    "txt": to_text,
    "csv": _data(to_csv),
    "mmd": to_mermaid,
    "xlsx": _data(to_xlsx),
    "epcis": lambda graph, options: to_epcis(graph, options.epc_uri, options.removed_links),
}
# The recall impact report's own formats; in `impact`, .csv .json .xlsx .txt mean these.
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
    ".html": "html",
    ".htm": "html",
    ".png": "png",
    ".pdf": "pdf",
    ".graphml": "graphml",
    ".json": "json",
    ".txt": "txt",
    ".csv": "csv",
    ".mmd": "mmd",
    ".xlsx": "xlsx",
    ".jsonld": "epcis",
}
ALIASES = {"gv": "dot", "text": "txt", "tree": "txt", "mermaid": "mmd", "jsonld": "epcis"}
_FAMILY = {
    **{"impact-csv": "csv", "impact-json": "json", "impact-xlsx": "xlsx", "summary": "txt"},
    **{"diff-csv": "csv", "diff-json": "json", "diff-xlsx": "xlsx", "diff-summary": "txt"},
    "diff-epcis": "epcis",
}


def extension_disagrees(path: str, fmt: str) -> bool:
    """Whether `path` has a known extension that names another kind of file than `fmt`."""
    if path == "-":
        return False
    named = EXTENSIONS.get(PurePath(path).suffix.lower())
    return named is not None and named != _FAMILY.get(fmt, fmt)


def format_names(report: bool = False) -> list[str]:
    return sorted({*EXPORTERS, *ALIASES, *(REPORTS if report else ())})


def format_name(name: str, *, report: bool = False) -> str:
    """The format a name or alias stands for (`mermaid` -> `mmd`); `ExportError` if none."""
    canonical = ALIASES.get(name.lower(), name.lower())
    if canonical in EXPORTERS or (report and canonical in REPORTS):
        return canonical
    raise ExportError(f"unknown format {name!r}; choose one of {', '.join(format_names(report))}")


def format_for(path: str, override: str | None = None, *, report: bool = False) -> str:
    """The format to write `path` in: `override`, else its extension.

    With `report`, the recall impact report's formats are known too, and
    `.csv`, `.json`, `.xlsx`, `.txt` and stdout name them.
    """
    if override:
        return format_name(override, report=report)
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


def export_with(
    graph: nx.DiGraph | None, fmt: str, report: ImpactReport | None, options: ExportOptions
) -> bytes:
    """`export`, with the options already gathered (`graph` may be None for a report format)."""
    name = format_name(fmt, report=True)
    if options.page is not None and name in ("svg", "html"):
        warnings.warn(
            TracegraphWarning(
                f"--page {options.page} applies only to PDF and PNG; the {name.upper()} is "
                "drawn at the picture's own size"
            ),
            stacklevel=2,
        )
    with collector_paused():  # exporters make millions of short-lived strings
        if name in REPORTS:
            if report is None:
                raise ExportError(
                    f"format {fmt!r} needs a recall impact report (tracegraph impact)"
                )
            made = REPORTS[name](report)
        elif graph is None:
            raise ExportError("this impact report carries no graph to draw; write a report format")
        else:
            made = EXPORTERS[name](graph, options)
        return made.encode("utf-8") if isinstance(made, str) else made


def export(
    graph: nx.DiGraph, fmt: str, report: ImpactReport | None = None, **options: Any
) -> bytes:
    """The genealogy (or, for a report format, the impact report) as the bytes to write.

    `fmt` is a format name or alias as the command line takes them (`svg`,
    `mermaid`, `impact-csv`...); `options` are `ExportOptions` fields.
    """
    return export_with(graph, fmt, report, ExportOptions.of(**options))


# What `diff` writes: the change report's own formats, and pictures of NEW with the changes.
DIFF_REPORTS: dict[str, Callable[[Diff, ExportOptions], str | bytes]] = {
    "diff-json": lambda diff, options: diff_json(diff),
    "diff-csv": lambda diff, options: diff_csv(diff),
    "diff-xlsx": lambda diff, options: diff_xlsx(diff),
    "diff-summary": lambda diff, options: diff_summary(diff, options.colour),
    "diff-epcis": lambda diff, options: diff_epcis(diff, options.epc_uri),
}
DIFF_PICTURES = ("svg", "png", "pdf", "html", "dot")
DIFF_FORMATS = (*DIFF_REPORTS, *DIFF_PICTURES)
_DIFF_EXTENSIONS = {
    ".json": "diff-json",
    ".csv": "diff-csv",
    ".xlsx": "diff-xlsx",
    ".txt": "diff-summary",
    ".jsonld": "diff-epcis",
    **{s: EXTENSIONS[s] for s in (".svg", ".png", ".pdf", ".html", ".htm", ".dot", ".gv")},
}
_DIFF_ALIASES = {"json": "diff-json", "csv": "diff-csv", "xlsx": "diff-xlsx", "txt": "diff-summary",
                 "text": "diff-summary", "summary": "diff-summary", "gv": "dot",
                 "epcis": "diff-epcis", "jsonld": "diff-epcis"}  # fmt: skip


def diff_format_for(path: str, override: str | None = None) -> str:
    """The format `diff` writes `path` in: `override`, else the extension (stdout: the summary)."""
    if override:
        name = _DIFF_ALIASES.get(override.lower(), override.lower())
        if name not in DIFF_FORMATS:
            raise ExportError(
                f"unknown diff format {override!r}; choose one of {', '.join(DIFF_FORMATS)}"
            )
        return name
    if path == "-":
        return "diff-summary"
    suffix = PurePath(path).suffix.lower()
    if suffix not in _DIFF_EXTENSIONS:
        raise ExportError(
            f"diff cannot write {path!r}; use one of {', '.join(sorted(_DIFF_EXTENSIONS))}"
        )
    return _DIFF_EXTENSIONS[suffix]


def export_diff(diff: Diff, fmt: str, options: ExportOptions) -> bytes:
    """A diff in one of `DIFF_FORMATS`: the report itself, or NEW drawn with the changes."""
    with collector_paused():
        if fmt in DIFF_REPORTS:
            made = DIFF_REPORTS[fmt](diff, options)
        elif fmt in DIFF_PICTURES and diff.graph is not None:
            made = EXPORTERS[fmt](diff.graph, options)
        else:
            raise ExportError(f"a diff cannot be written as {fmt!r}")
        return made.encode("utf-8") if isinstance(made, str) else made
