from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.builders import drone_factory
from tracegraph.errors import ApiError, AuthError, NotFoundError, RefusedError, TransportError
from tracegraph.source import BatchFilters, UnitFilters
from tracegraph.sources.api import (
    ApiSource,
    RetryPolicy,
    encode_segment,
    parse_retry_after,
    public_url,
)

KEY = "tp-key-do-not-print"
Handler = Callable[[httpx.Request], httpx.Response]


def make_source(handler: Handler, retries: int = 3) -> tuple[ApiSource, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    source = ApiSource(
        "https://tofu.example/api/",
        KEY,
        retry=RetryPolicy(retries=retries, jitter=lambda ceiling: ceiling),
        transport=httpx.MockTransport(handler),
        sleep=sleep,
    )
    return source, slept


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_requests_carry_the_bearer_key_and_an_encoded_serial() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"serial_number": "a/b c?#%"})

    source, _ = make_source(handler)
    assert run(source.get_unit("a/b c?#%")) == {"serial_number": "a/b c?#%"}
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert seen[0].url.raw_path == b"/api/v2/units/a%2Fb%20c%3F%23%25"


@pytest.mark.parametrize(
    ("identifier", "segment"),
    [("..", "%2E%2E"), (".", "%2E"), ("B:7+x", "B%3A7%2Bx"), ("né", "n%C3%A9")],
)
def test_every_identifier_is_one_path_segment(identifier: str, segment: str) -> None:
    assert encode_segment(identifier) == segment


def test_not_found_names_the_unit() -> None:
    source, _ = make_source(
        lambda r: httpx.Response(404, json={"message": "nope", "code": "NOT_FOUND"})
    )
    with pytest.raises(
        NotFoundError, match=r"unit 'SN-404' not found in https://tofu\.example/api"
    ):
        run(source.get_unit("SN-404"))


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_says_how_to_set_it_without_printing_it(status: int) -> None:
    source, _ = make_source(lambda r: httpx.Response(status, json={"message": "bad"}))
    with pytest.raises(AuthError) as caught:
        run(source.get_batch("B-1"))
    assert "--api-key" in str(caught.value) and "TOFUPILOT_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value)


def test_no_key_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="no API key"):
        ApiSource("https://tofu.example/api", "")


def test_429_and_5xx_are_retried_honouring_retry_after() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(200, json={"number": "B-1"}),
    ]
    source, slept = make_source(lambda r: answers.pop(0))
    assert run(source.get_batch("B-1")) == {"number": "B-1"}
    assert slept == [7.0, 1.0, 2.0]  # Retry-After, then exponential backoff (jitter off)


def test_network_errors_are_retried_then_reported_with_what_was_tried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    source, slept = make_source(handler, retries=2)
    with pytest.raises(TransportError) as caught:
        run(source.get_unit("SN-1"))
    assert calls == 3 and len(slept) == 2
    assert str(caught.value) == (
        "GET /v2/units/SN-1 at https://tofu.example/api failed after 3 attempts: "
        "network error (ConnectError)"
    )


def test_timeouts_are_retried() -> None:
    answers: list[Any] = [httpx.ReadTimeout("slow"), httpx.Response(200, json={"ok": True})]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    source, slept = make_source(handler)
    assert run(source.get_unit("SN-1")) == {"ok": True}
    assert len(slept) == 1


def test_a_non_json_answer_points_at_the_api_url() -> None:
    source, _ = make_source(lambda r: httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(ApiError, match="is the API URL right"):
        run(source.get_unit("SN-1"))


def test_a_refused_identifier_shows_the_server_message_without_the_key() -> None:
    answer = {"message": f"token {KEY} cannot look up this serial"}
    source, _ = make_source(lambda r: httpx.Response(400, json=answer))
    with pytest.raises(RefusedError) as caught:
        run(source.get_unit("SN 1"))
    assert str(caught.value) == (
        "the API refuses to look up unit 'SN 1' (HTTP 400: token *** cannot look up this serial)"
    )


def test_a_bad_list_request_shows_the_server_message() -> None:
    source, _ = make_source(lambda r: httpx.Response(400, json={"message": "limit too big"}))

    async def collect() -> list[Any]:
        return [b async for b in source.list_batches(BatchFilters())]

    with pytest.raises(ApiError, match="HTTP 400: limit too big"):
        run(collect())


@pytest.mark.parametrize("key", ["key with space", "key\n", " key", "clé"])
def test_a_mangled_key_is_refused_before_any_request(key: str) -> None:
    with pytest.raises(AuthError, match="copy it again"):
        ApiSource("https://tofu.example/api", key)


def test_a_404_without_an_api_error_body_points_at_the_api_url() -> None:
    source, _ = make_source(lambda r: httpx.Response(404, text="<html>Not Found</html>"))
    with pytest.raises(ApiError, match=r"is the API URL right \(it ends in /api\)"):
        run(source.get_unit("SN-1"))


def test_a_retry_after_longer_than_the_cap_fails_at_once() -> None:
    source, slept = make_source(lambda r: httpx.Response(429, headers={"Retry-After": "99999"}))
    with pytest.raises(TransportError, match="asks to wait 99999 s"):
        run(source.get_unit("SN-1"))
    assert slept == []


def test_a_non_finite_retry_after_falls_back_to_backoff() -> None:
    answers = [httpx.Response(503, headers={"Retry-After": "nan"}), httpx.Response(200, json={})]
    source, slept = make_source(lambda r: answers.pop(0))
    assert run(source.get_unit("SN-1")) == {}
    assert slept == [0.5]


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ({"data": "abc", "meta": {"has_more": False}}, "not in the API v2 shape"),
        ({"data": [], "meta": {"has_more": True, "next_cursor": None}}, "no next_cursor"),
    ],
)
def test_a_malformed_batch_list_is_an_error(page: dict[str, Any], message: str) -> None:
    source, _ = make_source(lambda r: httpx.Response(200, json=page))

    async def collect() -> list[Any]:
        return [b async for b in source.list_batches(BatchFilters())]

    with pytest.raises(ApiError, match=message):
        run(collect())


def test_list_batches_follows_the_cursor_until_has_more_is_false() -> None:
    numbers = [f"B-{i}" for i in range(5)]
    queries: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        queries.append(request.url.params)
        cursor = int(request.url.params["cursor"])
        page = numbers[cursor : cursor + 2]
        more = cursor + 2 < len(numbers)
        return httpx.Response(
            200,
            json={
                "data": [{"number": n} for n in page],
                "meta": {"has_more": more, "next_cursor": cursor + 2 if more else None},
            },
        )

    source, _ = make_source(handler)
    filters = BatchFilters(part_numbers=("P1", "P2"), search="B")

    async def collect() -> list[str]:
        return [b["number"] async for b in source.list_batches(filters)]

    assert run(collect()) == numbers
    assert [q["cursor"] for q in queries] == ["0", "2", "4"]
    assert queries[0].get_list("part_numbers") == ["P1", "P2"]
    assert queries[0]["search_query"] == "B"


def test_a_repeating_cursor_is_an_error_not_an_endless_loop() -> None:
    page = {"data": [], "meta": {"has_more": True, "next_cursor": 0}}
    source, _ = make_source(lambda r: httpx.Response(200, json=page))

    async def collect() -> list[Any]:
        return [b async for b in source.list_batches(BatchFilters())]

    with pytest.raises(ApiError, match="repeats cursor"):
        run(collect())


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_public_url_drops_credentials_and_query() -> None:
    assert (
        public_url("https://user:pw@tofu.example:8443/api/?key=x")
        == "https://tofu.example:8443/api"
    )


def test_a_real_unit_body_passes_through_unchanged() -> None:
    body = drone_factory().body("CAP-1")
    source, _ = make_source(lambda r: httpx.Response(200, content=json.dumps(body).encode()))
    assert run(source.get_unit("CAP-1")) == body


def test_find_units_asks_in_chunks_and_matches_serials_case_insensitively() -> None:
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        serials = request.url.params.get_list("serial_numbers")
        asked.append(serials)
        data = [{"serial_number": s.upper()} for s in serials if s != "gone"]
        return httpx.Response(200, json={"data": data, "meta": {"has_more": False}})

    source, _ = make_source(handler)
    serials = [f"sn-{i}" for i in range(150)] + ["gone"]
    found = run(source.find_units(serials))
    assert [len(chunk) for chunk in asked] == [100, 51]
    assert len(found) == 150 and found["sn-7"] == {"serial_number": "SN-7"}
    assert "gone" not in found


def test_find_units_keeps_urls_short_for_long_serials() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(request.url.query))
        return httpx.Response(200, json={"data": [], "meta": {"has_more": False}})

    source, _ = make_source(handler)
    run(source.find_units(["x" * 60 + str(i) for i in range(100)]))
    assert len(sizes) == 2 and max(sizes) < 7000


def test_find_units_prefers_the_exact_serial_over_another_case() -> None:
    page = {"data": [{"serial_number": "ab-1", "n": 1}, {"serial_number": "AB-1", "n": 2}]}
    page["meta"] = {"has_more": False}
    source, _ = make_source(lambda r: httpx.Response(200, json=page))
    found = run(source.find_units(["ab-1", "AB-1", "Ab-1"]))
    assert (found["ab-1"]["n"], found["AB-1"]["n"]) == (1, 2) and "Ab-1" in found


def test_a_refused_bulk_lookup_falls_back_to_one_unit_at_a_time() -> None:
    from tracegraph.crawl import Scope, crawl_genealogy

    units = {"C-1": {"serial_number": "C-1", "parent": {"serial_number": "odd/1"}}}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/units":
            return httpx.Response(400, json={"message": "bad serial_numbers"})
        if "odd" in request.url.path:
            return httpx.Response(400, json={"message": "invalid serial"})
        return httpx.Response(200, json=units[request.url.path.rsplit("/", 1)[1]])

    source, _ = make_source(handler)
    found = run(crawl_genealogy(source, ["C-1"], scope=Scope.UP))
    assert set(found.units) == {"C-1"} and set(found.missing) == {"odd/1"}
    assert found.warnings == [
        "unit 'odd/1' is referenced by 'C-1' but the API refuses it (HTTP 400: invalid serial)"
    ]


def test_the_unit_list_is_read_a_window_of_pages_at_a_time_whatever_order_they_answer() -> None:
    units = [{"id": f"u{i}", "serial_number": f"SN-{i:04}"} for i in range(1234)]
    asked: list[int] = []
    in_flight = 0
    most = 0
    first_answered = False
    before_first: list[int] = []  # pages asked for while the slow one had not answered

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most, first_answered
        cursor = int(request.url.params["cursor"])
        assert request.url.params["sort_by"] == "created_at"
        assert request.url.params.get_list("part_numbers") == ["CAP"]
        asked.append(cursor)
        if not first_answered:
            before_first.append(cursor)
        in_flight += 1
        most = max(most, in_flight)
        # The second page is the slowest: the pages after it must not wait for it.
        await asyncio.sleep(0.05 if cursor == 100 else 0.001)
        if cursor == 100:
            first_answered = True
        in_flight -= 1
        page = units[cursor : cursor + 100]
        more = cursor + 100 < len(units)
        meta = {"has_more": more, "next_cursor": cursor + 100 if more else None}
        return httpx.Response(200, json={"data": page, "meta": meta})

    async def read() -> list[str]:
        async with ApiSource(
            "https://tofu.example/api", KEY, concurrency=4, transport=httpx.MockTransport(handler)
        ) as source:
            return [
                u["serial_number"]
                async for page in source.list_units(UnitFilters(part_numbers=("CAP",)))
                for u in page
            ]

    serials = run(read())
    assert sorted(serials) == [u["serial_number"] for u in units]  # each once
    assert most == 4  # the window stays full
    assert asked[:4] == [0, 100, 200, 300] and max(asked) < 1234 + 4 * 100
    assert len(before_first) > 5  # the window refilled while the second page was slow


def test_an_endless_unit_list_stops_at_max_pages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = int(request.url.params["cursor"])
        meta = {"has_more": True, "next_cursor": cursor + 1}
        return httpx.Response(200, json={"data": [{"id": "u", "serial_number": "X"}], "meta": meta})

    async def read() -> None:
        async with ApiSource(
            "https://tofu.example/api", KEY, max_pages=5, transport=httpx.MockTransport(handler)
        ) as source:
            async for _ in source.list_units(UnitFilters()):
                pass

    with pytest.raises(ApiError, match="still has more after 5 pages"):
        run(read())


@pytest.mark.parametrize("page_size", [100, 50, 7])
def test_the_unit_list_misses_no_unit_whatever_page_size_the_server_answers(page_size: int) -> None:
    units = [{"id": f"u{i}", "serial_number": f"SN-{i:04}"} for i in range(250)]

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = int(request.url.params["cursor"])
        page = units[cursor : cursor + min(page_size, int(request.url.params["limit"]))]
        more = cursor + len(page) < len(units)
        meta = {"has_more": more, "next_cursor": cursor + len(page) if more else None}
        return httpx.Response(200, json={"data": page, "meta": meta})

    async def read() -> list[str]:
        async with ApiSource(
            "https://tofu.example/api", KEY, concurrency=4, transport=httpx.MockTransport(handler)
        ) as source:
            return [u["serial_number"] async for p in source.list_units(UnitFilters()) for u in p]

    assert sorted(set(run(read()))) == [u["serial_number"] for u in units]


def test_a_lookup_by_serials_that_never_ends_is_refused_after_a_few_pages() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["cursor"])
        meta = {"has_more": True, "next_cursor": int(request.url.params["cursor"]) + 100}
        return httpx.Response(200, json={"data": [], "meta": meta})

    async def read() -> None:
        async with ApiSource(
            "https://tofu.example/api", KEY, transport=httpx.MockTransport(handler)
        ) as source:
            await source.find_units(["A"])

    with pytest.raises(ApiError, match="still has more after 2 pages"):
        run(read())
    assert len(asked) == 2  # one serial: one page, and one more at most
