"""tracegraph: TofuPilot unit genealogy as graphs.

The library in one screen::

    import asyncio
    from tracegraph import ApiSource, Scope, build_graph, crawl_genealogy, export

    async def crawl():
        async with ApiSource("https://www.tofupilot.app/api", api_key) as source:
            return await crawl_genealogy(source, ["SN-1"], scope=Scope.TREE)

    graph = build_graph(asyncio.run(crawl()), seeds_label="unit SN-1")
    svg = export(graph, "svg")
"""

from __future__ import annotations

__version__ = "0.1.0"

from tracegraph.api import ApiSource, RetryPolicy
from tracegraph.crawl import Genealogy, Scope, crawl_genealogy, resolve_batches
from tracegraph.errors import (
    ApiError,
    AuthError,
    CrawlLimitError,
    ExportError,
    NotFoundError,
    SnapshotError,
    SourceError,
    TracegraphError,
    TransportError,
)
from tracegraph.export import export
from tracegraph.export.pydot_graph import to_pydot
from tracegraph.graph import build_graph
from tracegraph.snapshot import RecordingSource, SnapshotSource
from tracegraph.source import BatchFilters, Source

__all__ = [
    "ApiError",
    "ApiSource",
    "AuthError",
    "BatchFilters",
    "CrawlLimitError",
    "ExportError",
    "Genealogy",
    "NotFoundError",
    "RecordingSource",
    "RetryPolicy",
    "Scope",
    "SnapshotError",
    "SnapshotSource",
    "Source",
    "SourceError",
    "TracegraphError",
    "TransportError",
    "__version__",
    "build_graph",
    "crawl_genealogy",
    "export",
    "resolve_batches",
    "to_pydot",
]
