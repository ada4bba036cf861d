"""A genealogy of hostile serial numbers and part names, for the client tests."""

from __future__ import annotations

from typing import Any

import networkx as nx

from tests.builders import HOSTILE_NAMES, HOSTILE_SERIALS, Factory
from tracegraph.crawl import crawl_genealogy
from tracegraph.escape import xml_chars
from tracegraph.graph import build_graph
from tracegraph.sources.snapshot import SnapshotSource
from tracegraph.tracing import run_sync

HOSTILE_UNITS = sorted(
    [*HOSTILE_SERIALS, "ROOT-1", *(f"NAME-{i}" for i in range(len(HOSTILE_NAMES)))]
)


def hostile_snapshot() -> dict[str, Any]:
    """ROOT-1 holding one unit per hostile serial, each of its own part and batch,
    and one unit per hostile part name."""
    factory = Factory().unit("ROOT-1", "TOP", name="Top", batch="ROOT")
    for serial in HOSTILE_SERIALS:
        factory.unit(serial, f"P{serial}", parent="ROOT-1", batch=serial, name=f"name {serial}")
    for i, name in enumerate(HOSTILE_NAMES):
        factory.unit(f"NAME-{i}", f"N{i}", parent="ROOT-1", name=name)
    return factory.snapshot()


def hostile_graph(seed: str = "ROOT-1") -> nx.DiGraph:
    source = SnapshotSource(hostile_snapshot())
    genealogy = run_sync(crawl_genealogy(source, [seed]))
    return build_graph(genealogy, seeds_label=f"unit {seed}")


def shown(text: str) -> str:
    """How a picture shows text: whitespace runs as one space, what XML cannot hold as U+FFFD."""
    return xml_chars(" ".join(text.split()))
