"""Exporters: one module per format, each pure (graph in, text or bytes out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

import networkx as nx

from tracegraph.errors import ExportError
from tracegraph.export.dot import to_dot
from tracegraph.export.graphml import to_graphml
from tracegraph.export.graphviz import to_pdf, to_png, to_svg
from tracegraph.export.json import to_json
from tracegraph.export.text import to_text

Exporter = Callable[[nx.DiGraph], str | bytes]

EXPORTERS: dict[str, Exporter] = {
    "dot": to_dot,
    "svg": to_svg,
    "png": to_png,
    "pdf": to_pdf,
    "graphml": to_graphml,
    "json": to_json,
    "txt": to_text,
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
}
ALIASES = {"gv": "dot", "text": "txt", "tree": "txt"}


def format_names() -> list[str]:
    return sorted({*EXPORTERS, *ALIASES})


def format_for(path: str, override: str | None = None) -> str:
    """The format to write `path` in: `override`, else its extension."""
    if override:
        name = ALIASES.get(override.lower(), override.lower())
        if name not in EXPORTERS:
            raise ExportError(
                f"unknown format {override!r}; choose one of {', '.join(format_names())}"
            )
        return name
    if path == "-":
        return "txt"
    suffix = PurePath(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ExportError(
            f"cannot tell the format of {path!r} from its extension; use one of "
            f"{', '.join(sorted(EXTENSIONS))} or --format"
        )
    return EXTENSIONS[suffix]


def export(graph: nx.DiGraph, fmt: str) -> bytes:
    """The genealogy in format `fmt`, as the bytes to write."""
    result = EXPORTERS[fmt](graph)
    return result.encode("utf-8") if isinstance(result, str) else result
