"""tracegraph: TofuPilot unit genealogy as graphs.

The library in a few lines::

    import tracegraph

    graph = tracegraph.trace("DRN-X1-0001", source="samples/factory.json")
    tracegraph.write(graph, "genealogy.svg")

    report = tracegraph.impact(["CAP-2407"], source="samples/factory.json")
    tracegraph.write(report, "recall.xlsx")

    changes = tracegraph.diff("before.json", "after.json", "DRN-X1-0001")
    tracegraph.write(changes, "changes.svg")

`trace_async`, `impact_async` and `diff_async` are the same for code that runs an event
loop. Without `source`, the API is read (`TOFUPILOT_API_URL`,
`TOFUPILOT_API_KEY`). Errors derive from `TracegraphError`.
"""

from __future__ import annotations

from tracegraph._version import __version__
from tracegraph.comparing import diff, diff_async, diff_store, diff_store_async
from tracegraph.crawl import crawl_genealogy, resolve_batches
from tracegraph.diff import Diff, SeenBetween, Side, compare
from tracegraph.errors import (
    ApiError,
    AuthError,
    CrawlLimitError,
    ExportError,
    NotFoundError,
    RefusedError,
    SnapshotError,
    SourceError,
    StoreError,
    TracegraphError,
    TracegraphWarning,
    TransportError,
)
from tracegraph.export import (
    ExportOptions,
    export,
    impact_csv,
    impact_json,
    impact_summary,
    impact_xlsx,
    to_pydot,
)
from tracegraph.genealogy import Genealogy, Progress, Scope
from tracegraph.graph import build_graph
from tracegraph.history import History, LinkEvent
from tracegraph.impact import AffectedUnit, ImpactReport, analyse_impact, mark_impact
from tracegraph.redact import Redactor
from tracegraph.source import BatchFilters, Source, UnitFilters
from tracegraph.sources.snapshot import RecordingSource, SnapshotSource
from tracegraph.tracing import (
    batches_async,
    history,
    impact,
    impact_async,
    sync,
    sync_async,
    trace,
    trace_async,
    write,
)


def __getattr__(name: str) -> object:
    # The HTTP client (and httpx) loads only when asked for: reading a snapshot needs neither.
    if name in ("ApiSource", "RetryPolicy"):
        from tracegraph.sources import api

        return getattr(api, name)
    raise AttributeError(f"module 'tracegraph' has no attribute {name!r}")


__all__ = [
    "AffectedUnit",
    "ApiError",
    "ApiSource",
    "AuthError",
    "BatchFilters",
    "CrawlLimitError",
    "Diff",
    "ExportError",
    "ExportOptions",
    "Genealogy",
    "History",
    "ImpactReport",
    "LinkEvent",
    "NotFoundError",
    "Progress",
    "RecordingSource",
    "Redactor",
    "RefusedError",
    "RetryPolicy",
    "Scope",
    "SeenBetween",
    "Side",
    "SnapshotError",
    "SnapshotSource",
    "Source",
    "SourceError",
    "StoreError",
    "TracegraphError",
    "TracegraphWarning",
    "TransportError",
    "UnitFilters",
    "__version__",
    "analyse_impact",
    "batches_async",
    "build_graph",
    "compare",
    "crawl_genealogy",
    "diff",
    "diff_async",
    "diff_store",
    "diff_store_async",
    "export",
    "history",
    "impact",
    "impact_async",
    "impact_csv",
    "impact_json",
    "impact_summary",
    "impact_xlsx",
    "mark_impact",
    "resolve_batches",
    "sync",
    "sync_async",
    "to_pydot",
    "trace",
    "trace_async",
    "write",
]
