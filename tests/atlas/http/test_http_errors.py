"""Error mapping: every status and odd body onto the tree; transport errors by what they mean."""

from __future__ import annotations

import email.utils
from typing import Any

import httpx
import pytest

from atlas import exceptions as exc
from atlas.http import ErrorDetails, ResetFormat, error_from_response, error_from_transport
from tests.atlas.http.http_fakes import (
    RATE_LIMITS,
    FakeTime,
    Script,
    json_response,
    rate_limits,
    read_error,
)

URL = "https://api.example.test/v2/droplets"
WALL_NOW = 1_700_000_000.0


def respond(status: int, **kwargs: object) -> httpx.Response:
    request = httpx.Request("GET", URL)
    return httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]


def api_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    """An error answer in the test API's shape (read by its parser, ``read_error``)."""
    return respond(status, json={"id": code, "message": message}, headers=headers)


def fixed_wall() -> float:
    return WALL_NOW


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, exc.BadRequestError),
        (401, exc.AuthenticationError),
        (403, exc.PermissionDeniedError),
        (404, exc.NotFoundError),
        (409, exc.ConflictError),
        (410, exc.ProviderAPIError),
        (412, exc.ProviderAPIError),
        (418, exc.ProviderAPIError),
        (422, exc.BadRequestError),
        (429, exc.RateLimitError),
        (500, exc.ServerError),
        (502, exc.ServerError),
        (503, exc.ServerError),
        (504, exc.ServerError),
    ],
)
def test_each_status_maps_to_its_class(status: int, cls: type[exc.ProviderAPIError]) -> None:
    error = error_from_response(api_error(status, "some_id", "went wrong"), parse=read_error)
    assert type(error) is cls
    assert error.status == status
    assert error.code == "some_id"
    assert error.message == "went wrong"
    assert isinstance(error, exc.AtlasError)


def test_parsed_body_fields_and_context_in_message() -> None:
    response = respond(
        422,
        json={
            "id": "unprocessable_entity",
            "message": "You specified an invalid image.",
            "request_id": "4b7a3c1e-aaaa",
        },
        headers={"x-request-id": "from-header"},
    )
    error = error_from_response(response, parse=read_error, method="POST", url=URL, total_wait=2.5)
    assert error.request_id == "4b7a3c1e-aaaa"  # the parser's wins over the header
    assert str(error) == (
        "422 unprocessable_entity: You specified an invalid image. "
        f"[POST {URL}] (request id 4b7a3c1e-aaaa) (gave up after waiting 2.5s between retries)"
    )


def test_request_id_falls_back_to_header_and_method_url_to_request() -> None:
    response = api_error(404, "not_found", "gone", **{"x-request-id": "rid-1"})
    error = error_from_response(response, parse=read_error)
    assert error.request_id == "rid-1"
    assert (error.method, error.url) == ("GET", URL)


def test_without_a_parser_only_generic_fields_are_read() -> None:
    body = {"id": "not_found", "message": "gone", "request_id": "in-body"}
    error = error_from_response(respond(404, json=body, headers={"x-request-id": "rid-2"}))
    assert type(error) is exc.NotFoundError
    assert error.code == ""
    assert error.message == 'Not Found: {"id":"not_found","message":"gone","request_id":"in-body"}'
    assert error.request_id == "rid-2"


def test_what_the_parser_leaves_empty_falls_back() -> None:
    seen: list[object] = []

    def code_only(response: httpx.Response, body: object) -> ErrorDetails:
        seen.append((response.status_code, body))
        return ErrorDetails(code="E42")

    response = respond(409, json={"detail": "already exists"}, headers={"x-request-id": "h"})
    error = error_from_response(response, parse=code_only)
    assert (error.code, error.message, error.request_id) == ("E42", "already exists", "h")
    assert seen == [(409, {"detail": "already exists"})]
    # A body that is no JSON object reaches the parser as None.
    error = error_from_response(respond(500, text="oops"), parse=code_only)
    assert (error.code, error.message) == ("E42", "Internal Server Error: oops")
    assert seen[-1] == (500, None)


def test_response_without_request_still_maps() -> None:
    error = error_from_response(httpx.Response(500, text="oops"), method="GET", url=URL)
    assert isinstance(error, exc.ServerError)
    assert error.url == URL


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"text": "upstream exploded\n  badly"}, "Bad Gateway: upstream exploded badly"),
        ({"content": b""}, "Bad Gateway"),
        (
            {"text": "<html><body>502</body></html>", "headers": {"content-type": "text/html"}},
            "Bad Gateway",
        ),
        ({"json": ["not", "an", "object"]}, 'Bad Gateway: ["not","an","object"]'),
        ({"json": {"unexpected": True}}, 'Bad Gateway: {"unexpected":true}'),
        ({"json": {"detail": "from detail"}}, "from detail"),
        ({"content": b"\xff\xfe binary"}, "Bad Gateway: \ufffd\ufffd binary"),
    ],
)
@pytest.mark.parametrize("parse", [None, read_error])
def test_odd_bodies_still_give_a_message(
    kwargs: dict[str, object], expected: str, parse: object
) -> None:
    error = error_from_response(respond(502, **kwargs), parse=parse)  # type: ignore[arg-type]
    assert isinstance(error, exc.ServerError)
    assert error.message == expected
    assert error.code == ""


def test_long_text_body_is_cut_short() -> None:
    error = error_from_response(respond(500, text="x" * 5000))
    assert len(error.message) < 250
    assert error.message.endswith("…")


def test_429_retry_after_seconds() -> None:
    response = api_error(429, "too_many_requests", "slow", **{"retry-after": "7"})
    error = error_from_response(response, parse=read_error)
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after == 7.0
    assert error.code == "too_many_requests"


def test_429_retry_after_http_date_against_server_date() -> None:
    headers = {
        "date": email.utils.formatdate(WALL_NOW - 500, usegmt=True),
        "retry-after": email.utils.formatdate(WALL_NOW - 500 + 30, usegmt=True),
    }
    error = error_from_response(respond(429, json={}, headers=headers), wall_clock=fixed_wall)
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after == 30.0  # measured against the server's clock, not ours


def test_429_retry_after_http_date_against_wall_clock() -> None:
    headers = {"retry-after": email.utils.formatdate(WALL_NOW + 12, usegmt=True)}
    error = error_from_response(respond(429, headers=headers), wall_clock=fixed_wall)
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after == 12.0
    assert error.code == "too_many_requests"


def test_429_retry_after_date_in_the_past_is_zero() -> None:
    headers = {"retry-after": email.utils.formatdate(WALL_NOW - 60, usegmt=True)}
    error = error_from_response(respond(429, headers=headers), wall_clock=fixed_wall)
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after == 0.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"ratelimit-reset": str(int(WALL_NOW) + 40)}, 40.0),
        ({"ratelimit-reset": str(int(WALL_NOW) - 40)}, None),  # in the past: no advice
        ({"ratelimit-reset": "soon"}, None),
        ({"retry-after": "whenever"}, None),
        ({"retry-after": "3", "ratelimit-reset": str(int(WALL_NOW) + 40)}, 3.0),
        ({}, None),
    ],
)
def test_429_advice_from_headers(headers: dict[str, str], expected: float | None) -> None:
    response = respond(429, headers=headers)
    error = error_from_response(response, rate_limits=RATE_LIMITS, wall_clock=fixed_wall)
    assert isinstance(error, exc.RateLimitError)
    assert error.retry_after == expected


def advice(response: httpx.Response, **kwargs: Any) -> float | None:
    error = error_from_response(response, wall_clock=fixed_wall, **kwargs)
    assert isinstance(error, exc.RateLimitError)
    return error.retry_after


def test_429_advice_reads_the_headers_the_profile_names() -> None:
    future = {"ratelimit-reset": str(int(WALL_NOW) + 40)}
    assert advice(respond(429, headers=future), rate_limits=RATE_LIMITS) == 40.0
    # Without a profile only Retry-After is standard: a reset header means nothing.
    assert advice(respond(429, headers=future)) is None
    delta = rate_limits(reset_header="X-Reset-After", reset_format=ResetFormat.DELTA)
    response = respond(429, headers={"x-reset-after": "12", **future})
    assert advice(response, rate_limits=delta) == 12.0
    renamed = rate_limits(retry_after_header="X-Wait")
    response = respond(429, headers={"x-wait": "3", "retry-after": "9"})
    assert advice(response, rate_limits=renamed) == 3.0


def test_redact_scrubs_provider_text() -> None:
    response = api_error(401, "unauthorized-sekrit-value", "bad token sekrit-value")
    redact = lambda text: text.replace("sekrit-value", "***")  # noqa: E731
    error = error_from_response(response, parse=read_error, redact=redact)
    assert "sekrit" not in str(error)
    assert (error.code, error.message) == ("unauthorized-***", "bad token ***")


@pytest.mark.parametrize(
    ("httpx_error", "cls"),
    [
        (httpx.ConnectError("refused"), exc.ConnectError),
        (httpx.ConnectTimeout("slow handshake"), exc.ConnectError),
        (httpx.PoolTimeout("no free connection"), exc.ConnectError),
        (httpx.ReadTimeout("no answer"), exc.RequestTimeoutError),
        (httpx.WriteTimeout("stuck sending"), exc.RequestTimeoutError),
        (httpx.RemoteProtocolError("peer closed"), exc.TransportError),
        (httpx.ReadError("reset by peer"), exc.TransportError),
        (httpx.WriteError("broken pipe"), exc.TransportError),
    ],
)
def test_transport_errors_map_by_meaning(
    httpx_error: httpx.RequestError, cls: type[exc.TransportError]
) -> None:
    error = error_from_transport(httpx_error, method="GET", url=URL, total_wait=1.5)
    assert type(error) is cls
    assert (error.method, error.url, error.total_wait) == ("GET", URL, 1.5)
    assert str(error).startswith(f"GET {URL}: ")
    assert type(httpx_error).__name__ in str(error)
    assert "gave up after waiting 1.5s" in str(error)


async def test_client_raises_mapped_errors_from_the_httpx_cause(make_client, fake_time: FakeTime):
    from atlas.http import RetryPolicy

    script = Script(httpx.ReadError("reset by peer"))
    client = make_client(script, retry=RetryPolicy.never())
    with pytest.raises(exc.TransportError) as caught:
        await client.get_json("/v2/account")
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert caught.value.url == "https://api.example.test/v2/account"


async def test_client_raises_mapped_http_errors(make_client):
    script = Script(json_response(404, {"id": "not_found", "message": "nope"}))
    client = make_client(script)
    with pytest.raises(exc.NotFoundError, match=r"404 not_found: nope \[GET https://"):
        await client.get_json("/v2/droplets/1")
