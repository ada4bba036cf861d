"""The loopback TofuPilot API server the end-to-end tests and benchmarks rely on."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from email.message import Message
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from pydantic import BaseModel
from tofupilot.v2.models import BatchGetResponse, BatchListResponse, UnitGetResponse

from tests.tofupilot_server import TofuPilotServer

ODD_SERIAL = "a/b c:d?#%+é"


def _part(number: str, revision: str | None) -> dict[str, Any]:
    return {
        "id": f"part-{number}",
        "number": number,
        "name": f"Part {number}",
        "revision": None
        if revision is None
        else {"id": f"rev-{number}-{revision}", "number": revision},
    }


def _unit(serial: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"unit-{serial}",
        "serial_number": serial,
        "created_at": "2026-01-01T08:00:00.000Z",
        "sample": None,
        "part": _part("PCB-A", "A"),
        "parent": None,
        "children": [],
        "batch": None,
        "created_by_user": {"id": "user-1", "name": "Ada"},
        "created_by_station": None,
        "created_during": None,
        "attachments": [],
        "metadata": {},
    }
    body.update(fields)
    return body


def _batch(number: str, day: int, parts: list[tuple[str, str]]) -> dict[str, Any]:
    created_at = f"2026-01-{day:02d}T08:00:00.000Z"
    return {
        "id": f"batch-{number}",
        "number": number,
        "created_at": created_at,
        "created_by_user": None,
        "created_by_station": {"id": "station-1", "name": "Line 1"},
        "units": [
            {
                "id": f"unit-{number}-{index}",
                "serial_number": f"{number}-U{index}",
                "created_at": created_at,
                "part": _part(part, revision),
            }
            for index, (part, revision) in enumerate(parts)
        ],
    }


# (number, day, [(part number, revision) of each unit])
BATCHES = [
    ("B-1", 1, [("PCB-A", "A")]),
    ("B-2", 2, [("PCB-A", "A")]),
    ("b-3", 3, [("PCB-A", "B"), ("PCB-B", "A")]),  # part and revision on different units
    ("B-4", 4, [("PCB-A", "A"), ("PCB-B", "B")]),
    ("B-5", 5, [("PCB-B", "B")]),
    ("B-6", 6, [("PCB-A", "A")]),
    ("B:7", 7, [("PCB-A", "A")]),
    ("B-8", 8, []),
    ("B-9", 9, [("PCB-A", "A")]),
]

SNAPSHOT: dict[str, Any] = {
    "format": "tracegraph-snapshot",
    "version": 1,
    "source": "https://www.tofupilot.app/api",
    "captured_at": "2026-11-22T10:00:00Z",
    "units": {
        "SN-1": _unit(
            "SN-1",
            batch={"id": "batch-B-1", "number": "B-1"},
            children=[{"id": "unit-SN-2", "serial_number": "SN-2", "part": _part("CASE-X", "2")}],
            created_by_station={"id": "station-1", "name": "Line 1"},
            created_during={
                "id": "run-1",
                "created_at": "2026-01-01T07:59:00Z",
                "started_at": "2026-01-01T07:59:00Z",
                "ended_at": "2026-01-01T08:00:00Z",
                "duration": "PT1M",
                "outcome": "PASS",
                "procedure": {"id": "proc-1", "name": "Final test"},
            },
            attachments=[
                {
                    "id": "att-1",
                    "name": "log.txt",
                    "size": 12.0,
                    "content_type": "text/plain",
                    "download_url": None,
                }
            ],
            metadata={"line": "L1", "temperature": 21.5, "rework": False},
        ),
        "SN-2": _unit(
            "SN-2",
            part=_part("CASE-X", "2"),
            parent={"id": "unit-SN-1", "serial_number": "SN-1", "part": _part("PCB-A", None)},
        ),
        ODD_SERIAL: _unit(ODD_SERIAL, sample="golden"),
    },
    "batches": {number: _batch(number, day, parts) for number, day, parts in BATCHES},
    "missing": ["SN-404"],
}


@pytest.fixture
def server() -> Iterator[TofuPilotServer]:
    with TofuPilotServer(SNAPSHOT, page_limit_max=5) as running:
        yield running


def get(
    server: TofuPilotServer,
    path: str,
    query: Mapping[str, Any] | None = None,
    *,
    key: str | None = "test-key",
) -> tuple[int, Any, Message]:
    """GET server.url + path with urllib; (status, JSON body, headers), errors included."""
    url = server.url + path + ("?" + urlencode(query, doseq=True) if query else "")
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def test_request_without_or_with_wrong_key_is_refused(server: TofuPilotServer) -> None:
    refusal = {"message": "Invalid API key", "code": "UNAUTHORIZED", "issues": []}
    assert get(server, "/v2/units/SN-1", key=None)[:2] == (401, refusal)
    assert get(server, "/v2/units/SN-1", key="wrong")[:2] == (401, refusal)
    assert get(server, "/v2/batches", key="wrong")[:2] == (401, refusal)
    assert server.served == []


def test_unit_is_served_exactly_and_case_insensitively(server: TofuPilotServer) -> None:
    status, body, headers = get(server, "/v2/units/SN-1")
    assert status == 200
    assert body == SNAPSHOT["units"]["SN-1"]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert get(server, "/v2/units/sn-1")[1]["serial_number"] == "SN-1"
    assert [kind for kind, _ in server.served] == ["unit", "unit"]
    assert server.requests == ["/api/v2/units/SN-1", "/api/v2/units/sn-1"]


def test_percent_encoded_odd_serial_round_trips(server: TofuPilotServer) -> None:
    encoded = quote(ODD_SERIAL, safe="")
    status, body, _ = get(server, f"/v2/units/{encoded}")
    assert (status, body["serial_number"]) == (200, ODD_SERIAL)
    assert server.requests == [f"/api/v2/units/{encoded}"]


def test_absent_things_answer_404_with_error_body(server: TofuPilotServer) -> None:
    assert get(server, "/v2/units/SN-999")[:2] == (
        404,
        {
            "message": "Unit with serial number 'SN-999' not found",
            "code": "NOT_FOUND",
            "issues": [],
        },
    )
    assert get(server, "/v2/units/SN-404")[1]["message"] == (
        "Unit with serial number 'SN-404' not found"
    )
    assert get(server, "/v2/batches/NOPE")[:2] == (
        404,
        {"message": "Batch with number 'NOPE' not found", "code": "NOT_FOUND", "issues": []},
    )
    status, body, _ = get(server, "/v2/runs")
    assert (status, body["code"], body["issues"]) == (404, "NOT_FOUND", [])
    assert server.served == []


def test_other_methods_answer_405_on_a_kept_alive_connection(server: TofuPilotServer) -> None:
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=5)
    auth = {"Authorization": "Bearer test-key"}
    try:
        connection.request("POST", "/api/v2/units/SN-1", body=b"{}", headers=auth)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["code"]) == (405, "METHOD_NOT_ALLOWED")
        connection.request("GET", "/api/v2/batches/b-2", headers=auth)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["number"]) == (200, "B-2")
        assert response.getheader("Content-Length") is not None
    finally:
        connection.close()


def test_batch_list_pages_through_filtered_batches_once_each(server: TofuPilotServer) -> None:
    query: dict[str, Any] = {
        "part_numbers": ["PCB-A", "PCB-Z"],
        "revision_numbers": "A",
        "created_after": "2026-01-02T00:00:00Z",
        "limit": 2,
    }
    pages: list[list[str]] = []
    cursor: int | None = 0
    while cursor is not None:
        status, body, _ = get(server, "/v2/batches", {**query, "cursor": cursor})
        assert status == 200
        pages.append([batch["number"] for batch in body["data"]])
        cursor = body["meta"]["next_cursor"]
        assert body["meta"]["has_more"] is (cursor is not None)
    assert pages == [["B-9", "B:7"], ["B-6", "B-4"], ["B-2"]]
    assert [kind for kind, _ in server.served] == ["batch_list"] * 3


def test_batch_list_filters_numbers_and_search_case_insensitively(
    server: TofuPilotServer,
) -> None:
    def numbers(query: Mapping[str, Any]) -> list[str]:
        status, body, _ = get(server, "/v2/batches", query)
        assert status == 200
        return [batch["number"] for batch in body["data"]]

    by_number = {"sort_by": "number", "sort_order": "asc"}
    assert numbers({"numbers": ["b-2", "B-3", "B-404"], **by_number}) == ["B-2", "b-3"]
    assert numbers({"search_query": "b:", **by_number}) == ["B:7"]
    assert numbers({"created_before": "2026-01-02T08:00:00+00:00", **by_number}) == ["B-1", "B-2"]
    assert numbers({"ids": ["batch-B-5"]}) == ["B-5"]
    assert numbers({"limit": 5, "sort_order": "asc"}) == ["B-1", "B-2", "b-3", "B-4", "B-5"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 6},
        {"limit": "ten"},
        {"cursor": -1},
        {"cursor": "x"},
        {"sort_by": "id"},
        {"created_after": "yesterday"},
    ],
)
def test_batch_list_refuses_bad_paging_and_filters(
    server: TofuPilotServer, query: Mapping[str, Any]
) -> None:
    status, body, _ = get(server, "/v2/batches", query)
    assert (status, body["code"]) == (400, "BAD_REQUEST")
    assert body["issues"] and body["message"]


def test_fail_next_answers_the_status_then_recovers(server: TofuPilotServer) -> None:
    server.fail_next("/api/v2/units/SN-1", 429, count=2, retry_after="3")
    assert get(server, "/v2/units/SN-2")[0] == 200
    for _ in range(2):
        status, body, headers = get(server, "/v2/units/SN-1")
        assert (status, body["code"], headers["Retry-After"]) == (429, "TOO_MANY_REQUESTS", "3")
    assert get(server, "/v2/units/SN-1")[0] == 200
    assert [body["serial_number"] for _, body in server.served] == ["SN-2", "SN-1"]


def test_drop_next_closes_the_connection_without_an_answer(server: TofuPilotServer) -> None:
    server.drop_next("/api/v2/batches/B-2")
    with pytest.raises(http.client.RemoteDisconnected):
        get(server, "/v2/batches/B-2")
    assert get(server, "/v2/batches/B-2")[0] == 200


def test_concurrent_requests_are_handled_at_the_same_time() -> None:
    with TofuPilotServer(SNAPSHOT, latency=0.3) as server:
        threads = [threading.Thread(target=get, args=(server, "/v2/units/SN-1")) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(server.served) == 4
        assert server.max_in_flight > 1


def test_every_served_body_parses_with_the_official_sdk(server: TofuPilotServer) -> None:
    for serial in SNAPSHOT["units"]:
        assert get(server, "/v2/units/" + quote(serial, safe=""))[0] == 200
    for number in SNAPSHOT["batches"]:
        assert get(server, "/v2/batches/" + quote(number, safe=""))[0] == 200
    assert get(server, "/v2/batches", {"limit": 5})[0] == 200
    models: dict[str, type[BaseModel]] = {
        "unit": UnitGetResponse,
        "batch": BatchGetResponse,
        "batch_list": BatchListResponse,
    }
    assert {kind for kind, _ in server.served} == set(models)
    for kind, body in server.served:
        models[kind].model_validate(body)
