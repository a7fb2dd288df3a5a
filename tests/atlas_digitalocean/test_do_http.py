"""DigitalOcean's dialect of HTTP: its limits, its pages, its error bodies, its client."""

from __future__ import annotations

import httpx
import pytest

from atlas import exceptions as exc
from atlas.credentials import Secret
from atlas.http import (
    BearerAuth,
    RateLimiter,
    ResetFormat,
    RetryPolicy,
    Window,
    error_from_response,
)
from atlas_digitalocean import http
from atlas_digitalocean.api import DigitalOceanAPI

BASE_URL = "https://api.digitalocean.test"
TOKEN = Secret("dop_v1_" + "5e" * 32)


def respond(status: int, **kwargs: object) -> httpx.Response:
    request = httpx.Request("POST", f"{BASE_URL}/v2/droplets")
    return httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]


def test_rate_limits_are_250_a_minute_and_5000_an_hour() -> None:
    limits = http.RATE_LIMITS
    assert limits.windows == (Window(250, 60.0), Window(5000, 3600.0))
    assert (limits.remaining_header, limits.reset_header) == (
        "ratelimit-remaining",
        "ratelimit-reset",
    )
    assert limits.reset_format is ResetFormat.EPOCH
    assert limits.slow_below == 500
    headers = {"ratelimit-remaining": "4816", "ratelimit-reset": "1000060"}
    assert limits.remaining(headers) == 4816
    assert limits.reset_in(headers, lambda: 1_000_000.0) == 60.0


def test_error_body_fields_and_context_in_message() -> None:
    response = respond(
        422,
        json={
            "id": "unprocessable_entity",
            "message": "You specified an invalid image for Droplet creation.",
            "request_id": "4b7a3c1e-aaaa",
        },
        headers={"x-request-id": "from-header"},
    )
    error = error_from_response(response, parse=http.read_error, total_wait=2.5)
    assert type(error) is exc.BadRequestError
    assert error.request_id == "4b7a3c1e-aaaa"  # the body wins over the header
    assert str(error) == (
        "422 unprocessable_entity: You specified an invalid image for Droplet creation. "
        f"[POST {BASE_URL}/v2/droplets] (request id 4b7a3c1e-aaaa) "
        "(gave up after waiting 2.5s between retries)"
    )


def test_tags_error_shape_joins_messages() -> None:
    body = {"error": "tag name invalid", "messages": ["too long", "bad chars"], "root_causes": []}
    error = error_from_response(respond(400, json=body), parse=http.read_error)
    assert isinstance(error, exc.BadRequestError)
    assert error.message == "tag name invalid; too long; bad chars"


def test_tags_error_shape_with_null_messages() -> None:
    error = error_from_response(
        respond(400, json={"error": "bad", "messages": None}), parse=http.read_error
    )
    assert error.message == "bad"


def test_old_service_shape_uses_its_code() -> None:
    body = {"error": "NotFoundError", "message": "no such thing", "code": "RESOURCE_NOT_FOUND"}
    error = error_from_response(respond(404, json=body), parse=http.read_error)
    assert (error.code, error.message) == ("RESOURCE_NOT_FOUND", "no such thing")
    error = error_from_response(
        respond(404, json={"error": "NotFound", "message": "no"}), parse=http.read_error
    )
    assert (error.code, error.message) == ("NotFound", "no")


def test_an_error_that_is_not_json_reads_generically() -> None:
    error = error_from_response(respond(502, text="upstream"), parse=http.read_error)
    assert (error.code, error.message) == ("", "Bad Gateway: upstream")


def page(key: str, ids: list[int], next_url: str | None = None) -> httpx.Response:
    body: dict[str, object] = {key: [{"id": n} for n in ids], "meta": {"total": 3}}
    if next_url is not None:
        body["links"] = {"pages": {"next": next_url, "last": f"{BASE_URL}/v2/volumes?page=3"}}
    return httpx.Response(200, json=body)


def api_on(*answers: httpx.Response) -> tuple[DigitalOceanAPI, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    remaining = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    async def no_sleep(_: float) -> None:
        return None

    api = DigitalOceanAPI.connect(
        BASE_URL,
        TOKEN,
        retry=RetryPolicy.never(),
        transport=httpx.MockTransport(answer),
        sleep=no_sleep,
        clock=lambda: 0.0,
    )
    return api, seen


async def test_connect_lists_by_links_pages_next_200_at_a_time() -> None:
    api, seen = api_on(
        page("volumes", [1], f"{BASE_URL}/v2/volumes?page=2&per_page=200&region=nyc1"),
        page("volumes", [2], f"{BASE_URL}/v2/volumes?page=3"),
        page("volumes", [3]),
    )
    volumes = await api.list_volumes(region="nyc1")
    assert [v["id"] for v in volumes] == [1, 2, 3]
    assert [dict(r.url.params) for r in seen] == [
        {"region": "nyc1", "per_page": "200"},
        {"region": "nyc1", "per_page": "200", "page": "2"},
        {"region": "nyc1", "per_page": "200", "page": "3"},
    ]
    assert {r.headers["authorization"] for r in seen} == {f"Bearer {TOKEN.reveal()}"}


async def test_connect_reads_errors_and_limits_the_digitalocean_way() -> None:
    limited = httpx.Response(
        429,
        json={"id": "too_many_requests", "message": "API Rate limit exceeded.", "request_id": "r1"},
        headers={"retry-after": "3"},
    )
    api, _ = api_on(limited)
    with pytest.raises(exc.RateLimitError) as caught:
        await api.account()
    assert (caught.value.code, caught.value.request_id) == ("too_many_requests", "r1")
    assert caught.value.retry_after == 3.0
    client = api.client
    assert client.rate_limits is http.RATE_LIMITS
    assert client.paginator is http.PAGINATION
    # Fake time: a private limiter on DigitalOcean's limits.
    assert client.rate_limiter is not RateLimiter.shared(http.RATE_LIMITS, TOKEN)
    assert client.rate_limiter.profile is http.RATE_LIMITS
    await client.aclose()


async def test_on_real_time_clients_of_one_token_share_its_limiter() -> None:
    first = DigitalOceanAPI.connect(BASE_URL, TOKEN).client
    second = DigitalOceanAPI.connect(BASE_URL, Secret(TOKEN.reveal())).client
    assert first.rate_limiter is second.rate_limiter is RateLimiter.shared(http.RATE_LIMITS, TOKEN)
    assert repr(BearerAuth(TOKEN)) == "BearerAuth(token=Secret('***'))"
    for client in (first, second):
        await client.aclose()
