from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.builders import drone_factory
from tracegraph.crawl import crawl_genealogy
from tracegraph.errors import NotFoundError, SnapshotError
from tracegraph.source import BatchFilters
from tracegraph.sources.snapshot import (
    RecordingSource,
    SnapshotSource,
    dump_snapshot,
    load_snapshot,
)


def listed(source: SnapshotSource, filters: BatchFilters) -> list[str]:
    async def collect() -> list[str]:
        return [b["number"] async for b in source.list_batches(filters)]

    return asyncio.run(collect())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read snapshot"),
        ("{not json", "not valid JSON"),
        ('{"format": "other"}', "not a tracegraph snapshot"),
        ('{"format": "tracegraph-snapshot", "version": 9}', "version 9"),
        ('{"format": "tracegraph-snapshot", "version": 1, "units": []}', '"units" must be'),
    ],
)
def test_unreadable_snapshots_say_what_is_wrong(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "snap.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(path)


def test_snapshot_serves_units_batches_and_404s() -> None:
    source = SnapshotSource(drone_factory().snapshot())
    assert asyncio.run(source.get_unit("CAP-1"))["serial_number"] == "CAP-1"
    assert asyncio.run(source.get_batch("c1"))["number"] == "C1"
    with pytest.raises(NotFoundError):
        asyncio.run(source.get_unit("NOPE"))


def test_snapshot_lists_batches_through_the_filters() -> None:
    source = SnapshotSource(drone_factory().snapshot())
    assert listed(source, BatchFilters()) == ["C1", "C2", "D1", "P1", "R1"]
    assert listed(source, BatchFilters(part_numbers=("CAP",))) == ["C1", "C2"]
    assert listed(source, BatchFilters(search="c")) == ["C1", "C2"]
    after = datetime(2024, 7, 2, tzinfo=timezone.utc)
    assert listed(source, BatchFilters(created_after=after)) == []


def test_recording_keeps_what_the_crawl_used_and_replays_it(tmp_path: Path) -> None:
    snapshot = drone_factory().snapshot()
    snapshot["units"]["PCB-1"]["children"].append(
        {"id": "x", "serial_number": "GONE", "part": None}
    )
    recorder = RecordingSource(SnapshotSource(snapshot))
    first = asyncio.run(crawl_genealogy(recorder, ["CAP-1"]))
    saved = recorder.snapshot("2026-11-22T10:00:00Z")
    assert set(saved["units"]) == set(first.units)
    assert saved["missing"] == ["GONE"]
    assert saved["source"] == snapshot["source"]
    path = tmp_path / "replay.json"
    path.write_text(dump_snapshot(saved))
    again = asyncio.run(crawl_genealogy(SnapshotSource.from_file(path), ["CAP-1"]))
    assert again.units == first.units and again.missing == first.missing


def test_snapshot_text_is_stable() -> None:
    data: dict[str, Any] = drone_factory().snapshot()
    assert dump_snapshot(data) == dump_snapshot(json.loads(dump_snapshot(data)))


def test_list_forms_derived_from_a_snapshot_pass_the_sdk() -> None:
    from tofupilot.v2.models import UnitListResponse

    source = SnapshotSource(drone_factory().snapshot())
    found = asyncio.run(source.find_units(["PCB-1", "CAP-1", "NOPE"]))
    assert set(found) == {"PCB-1", "CAP-1"}
    assert found["CAP-1"]["parent"] == {"id": "unit-PCB-1", "serial_number": "PCB-1"}
    page = {"data": list(found.values()), "meta": {"has_more": False, "next_cursor": None}}
    UnitListResponse.model_validate(page)


def test_recorded_list_forms_replay_as_they_were() -> None:
    recorder = RecordingSource(SnapshotSource(drone_factory().snapshot()))
    asyncio.run(recorder.find_units(["CAP-1", "NOPE"]))
    saved = recorder.snapshot("2026-11-22T10:00:00Z")
    assert set(saved["unit_list"]) == {"CAP-1"} and saved["missing"] == ["NOPE"]
    saved["unit_list"]["CAP-1"]["marker"] = True
    replayed = asyncio.run(SnapshotSource(saved).find_units(["CAP-1"]))
    assert replayed["CAP-1"]["marker"] is True


def test_a_unit_known_only_in_list_form_is_not_reported_as_missing() -> None:
    recorder = RecordingSource(SnapshotSource(drone_factory().snapshot()))
    asyncio.run(recorder.find_units(["CAP-1"]))
    replay = SnapshotSource(recorder.snapshot("2026-11-22T10:00:00Z"))
    with pytest.raises(SnapshotError, match="holds only the list form of unit 'CAP-1'"):
        asyncio.run(replay.get_unit("CAP-1"))
    assert set(asyncio.run(replay.find_units(["cap-1"]))) == {"cap-1"}
