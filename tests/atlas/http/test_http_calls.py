"""Every attempt of every call is reported to the observers of its context: by route template,
status and error class, never by raw path or message; waits too."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from atlas import exceptions as exc
from atlas.http import (
    OTHER_ROUTE,
    ApiCall,
    ApiEvent,
    ApiWait,
    RateLimiter,
    RetryPolicy,
    RouteTemplates,
    observe_calls,
    report_call,
)
from tests.atlas.http.http_fakes import FakeTime, Script, json_response, rate_limits

ROUTES = RouteTemplates(
    ("/v2/droplets", "/v2/droplets/{droplet_id}", "/v2/tags/{tag_id}/resources")
)


def test_a_path_is_named_by_its_template_and_an_unknown_one_is_other() -> None:
    assert ROUTES.match("/v2/droplets") == "/v2/droplets"
    assert ROUTES.match("/v2/droplets/12345") == "/v2/droplets/{droplet_id}"
    assert ROUTES.match("/v2/tags/atlas:shop/resources") == "/v2/tags/{tag_id}/resources"
    # A placeholder is one segment; the literal parts are literal (the dot is no wildcard).
    assert ROUTES.match("/v2/droplets/1/actions") == OTHER_ROUTE
    assert RouteTemplates(("/v2/a.b",)).match("/v2/axb") == OTHER_ROUTE


async def test_each_attempt_is_reported_with_its_status_and_error_class(make_client) -> None:
    script = Script(
        json_response(500, {"id": "server_error", "message": "dop_v1_secret echoed"}),
        json_response(429, {"id": "too_many_requests", "message": "slow"}, **{"retry-after": "1"}),
        json_response(200, {"droplet": {"id": 7}}),
    )
    heard: list[ApiEvent] = []
    client = make_client(script, provider="digitalocean", routes=ROUTES)
    with observe_calls(heard.append):
        await client.get_json("/v2/droplets/7")
    calls = [e for e in heard if isinstance(e, ApiCall)]
    route = "/v2/droplets/{droplet_id}"
    assert calls == [
        ApiCall("digitalocean", "GET", route, 500, "ServerError"),
        ApiCall("digitalocean", "GET", route, 429, "RateLimitError", throttled=True),
        ApiCall("digitalocean", "GET", route, 200),
    ]
    assert [c.failed for c in calls] == [True, False, False]
    # The wait the 429 asked for is reported as such.
    assert ApiWait("digitalocean", 1.0, "retry_after") in heard
    assert "secret" not in repr(heard)


async def test_no_answer_is_a_failure_with_no_status(make_client) -> None:
    script = Script(httpx.ConnectError("refused"))
    heard: list[ApiEvent] = []
    client = make_client(script, routes=ROUTES, retry=RetryPolicy.never())
    with observe_calls(heard.append), pytest.raises(exc.ConnectError):
        await client.get_json("/v2/droplets")
    # Without a provider name, the API's host stands in.
    assert heard == [ApiCall("api.example.test", "GET", "/v2/droplets", None, "ConnectError")]
    assert heard[0].failed
    assert heard[0].status_label == "none"


async def test_a_wait_in_the_rate_limiter_is_reported(make_client, fake_time: FakeTime) -> None:
    profile = rate_limits(per_minute=1)
    limiter = RateLimiter(profile, clock=fake_time.clock, sleep=fake_time.sleep)
    script = Script(json_response(200, {"droplets": []}))
    client = make_client(script, provider="p", routes=ROUTES, rate_limiter=limiter)
    heard: list[ApiEvent] = []
    with observe_calls(heard.append):
        await client.get_json("/v2/droplets")
        await client.get_json("/v2/droplets")
    waits = [e for e in heard if isinstance(e, ApiWait)]
    assert len(waits) == 1
    assert waits[0].reason == "rate_limiter"
    assert waits[0].seconds == pytest.approx(60.0, abs=1.0)


async def test_observers_belong_to_their_context() -> None:
    """A task started inside the block hears with it; work outside it does not, and two
    blocks (two apps) hear only their own."""
    first: list[ApiEvent] = []
    second: list[ApiEvent] = []
    call = ApiCall("p", "GET", "/x", 200)

    async def work() -> None:
        report_call(call)

    with observe_calls(first.append):
        task = asyncio.create_task(work())  # inherits the observers
        with observe_calls(first.append):  # the same observer again: still heard once
            report_call(call)
    await task
    with observe_calls(second.append):
        report_call(call)
    report_call(call)  # nobody listening
    assert first == [call, call]
    assert second == [call]


def test_an_observer_that_raises_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: ApiEvent) -> None:
        raise RuntimeError("observer bug")

    heard: list[ApiEvent] = []
    with observe_calls(broken), observe_calls(heard.append):
        report_call(ApiCall("p", "GET", "/x", 200))
    assert len(heard) == 1
    assert "call observer failed" in caplog.text
