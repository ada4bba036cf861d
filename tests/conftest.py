from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import HOSTILE_SERIALS, Factory, drone_factory
from tests.tofupilot_server import TofuPilotServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "factory.json"
EXPECTED = ROOT / "tests" / "expected"
API_KEY = "tp-secret-key-0123456789"

# Graphviz draws every picture: without it these tests skip, and under CI fail (tests/clients.py).
needs_graphviz = pytest.mark.usefixtures("graphviz")


@pytest.fixture
def graphviz() -> str:
    from tests import clients

    return clients.graphviz()


@pytest.fixture(autouse=True)
def _pinned_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    monkeypatch.delenv("TOFUPILOT_API_KEY", raising=False)
    monkeypatch.delenv("TOFUPILOT_API_URL", raising=False)


@pytest.fixture
def drones() -> dict[str, Any]:
    return drone_factory().snapshot()


@pytest.fixture(scope="session")
def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def assert_sdk_accepts(served: list[tuple[str, dict[str, Any]]]) -> None:
    """Every body the test server sent parses with the official SDK's models."""
    from tofupilot.v2.models import (
        BatchGetResponse,
        BatchListResponse,
        UnitGetResponse,
        UnitListResponse,
    )

    models = {
        "unit": UnitGetResponse,
        "batch": BatchGetResponse,
        "batch_list": BatchListResponse,
        "unit_list": UnitListResponse,
    }
    for kind, body in served:
        models[kind].model_validate(body)


@pytest.fixture
def server(drones: dict[str, Any]) -> Iterator[TofuPilotServer]:
    with TofuPilotServer(drones, api_key=API_KEY) as running:
        yield running
    assert_sdk_accepts(running.served)


def build_small_graph() -> Any:
    """DRN-1 > FC-1 (the seed) > CAP-1 (failed) and CAP-9 (dangling: 404)."""
    from tests.builders import Factory
    from tracegraph.crawl import crawl_genealogy
    from tracegraph.graph import build_graph
    from tracegraph.sources.snapshot import SnapshotSource
    from tracegraph.tracing import run_sync

    f = Factory().unit("DRN-1", "DRN", batch="D1", name="Drone")
    f.unit("FC-1", "FC", parent="DRN-1", name="Flight controller", revision="C")
    f.unit("CAP-1", "CAP", parent="FC-1", batch="C1", name="Capacitor", outcome="FAIL")
    snapshot = f.snapshot()
    snapshot["units"]["FC-1"]["children"].append(
        {"id": "u-x", "serial_number": "CAP-9", "part": None}
    )
    # run_sync: also from tests that run beside an event loop (Playwright's).
    genealogy = run_sync(crawl_genealogy(SnapshotSource(snapshot), ["FC-1"]))
    return build_graph(genealogy, seeds_label="unit FC-1")


@pytest.fixture
def small_graph() -> Any:
    return build_small_graph()


def hostile_graph() -> Any:
    """A chain of units with every hostile serial (each its own part and batch)."""
    import asyncio

    from tracegraph.crawl import crawl_genealogy
    from tracegraph.graph import build_graph
    from tracegraph.sources.snapshot import SnapshotSource

    factory = Factory()
    previous = None
    for serial in HOSTILE_SERIALS:
        factory.unit(serial, f"P {serial}", parent=previous, name=f"name {serial}", batch=serial)
        previous = serial
    first = HOSTILE_SERIALS[0]
    genealogy = asyncio.run(crawl_genealogy(SnapshotSource(factory.snapshot()), [first]))
    return build_graph(genealogy, seeds_label="unit " + first)
