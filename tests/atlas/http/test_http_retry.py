"""The retry policy: what is retried for which method, how long it waits, when it stops."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from atlas import exceptions as exc
from atlas.http import FailureKind, RetryPolicy, classify
from tests.atlas.http.http_fakes import FakeTime, Script, json_response

OK = json_response(200, {"ok": True})

FAILURES: dict[str, httpx.Response | Exception] = {
    "connect": httpx.ConnectError("refused"),
    "connect-timeout": httpx.ConnectTimeout("slow handshake"),
    "pool-timeout": httpx.PoolTimeout("pool full"),
    "429": json_response(429, {"id": "too_many_requests", "message": "slow"}),
    "500": json_response(500, {"id": "server_error", "message": "boom"}),
    "503": json_response(503, {"id": "unavailable", "message": "later"}),
    "read-timeout": httpx.ReadTimeout("no answer"),
    "write-timeout": httpx.WriteTimeout("stuck"),
    "read-error": httpx.ReadError("reset by peer"),
    "protocol-error": httpx.RemoteProtocolError("peer closed"),
    "400": json_response(400, {"id": "bad_request", "message": "no"}),
    "401": json_response(401, {"id": "unauthorized", "message": "no"}),
    "404": json_response(404, {"id": "not_found", "message": "no"}),
    "409": json_response(409, {"id": "conflict", "message": "no"}),
    "422": json_response(422, {"id": "unprocessable_entity", "message": "no"}),
    "501": json_response(501, {"id": "not_implemented", "message": "no"}),
}
NEVER_APPLIED = {"connect", "connect-timeout", "pool-timeout", "429"}
MAYBE_APPLIED = {"500", "503", "read-timeout", "write-timeout", "read-error", "protocol-error"}

MATRIX = [
    (method, failure, failure in NEVER_APPLIED | MAYBE_APPLIED)
    for method in ("GET", "HEAD", "PUT", "DELETE")
    for failure in FAILURES
] + [
    (method, failure, failure in NEVER_APPLIED)
    for method in ("POST", "PATCH")
    for failure in FAILURES
]


@pytest.mark.parametrize(("method", "failure", "retried"), MATRIX)
async def test_retry_matrix(make_client, method: str, failure: str, retried: bool) -> None:
    script = Script(FAILURES[failure], OK)
    client = make_client(script)
    if retried:
        response = await client.request(method, "/v2/things")
        assert response.status_code == 200
        assert script.calls == 2
    else:
        with pytest.raises(exc.AtlasError) as caught:
            await client.request(method, "/v2/things")
        assert script.calls == 1
        assert caught.value.total_wait == 0.0  # type: ignore[attr-defined]
        assert "gave up" not in str(caught.value)


@pytest.mark.parametrize("failure", sorted(MAYBE_APPLIED))
async def test_post_is_never_repeated_after_it_may_have_been_applied(
    make_client, fake_time: FakeTime, failure: str
) -> None:
    script = Script(FAILURES[failure], OK)
    client = make_client(script)
    with pytest.raises((exc.ServerError, exc.TransportError)) as caught:
        await client.post_json("/v2/droplets", {"name": "web"})
    assert not isinstance(caught.value, exc.ConnectError)
    assert script.calls == 1
    assert fake_time.sleeps == []


async def test_retry_after_seconds_is_honoured(make_client, fake_time: FakeTime) -> None:
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, retry_after="7")
    script = Script(limited, OK)
    await make_client(script).post_json("/v2/droplets", {"name": "web"})
    assert fake_time.sleeps == [7.0]
    assert script.calls == 2


async def test_retry_after_http_date_is_honoured(make_client, fake_time: FakeTime) -> None:
    when = email.utils.formatdate(fake_time.wall() + 9, usegmt=True)
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, retry_after=when)
    await make_client(Script(limited, OK)).get_json("/v2/account")
    assert fake_time.sleeps == [9.0]


async def test_ratelimit_reset_in_future_is_waited_for(make_client, fake_time: FakeTime) -> None:
    reset = str(int(fake_time.wall()) + 20)
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, ratelimit_reset=reset)
    await make_client(Script(limited, OK)).get_json("/v2/account")
    assert fake_time.sleeps == [20.0]


async def test_ratelimit_reset_in_the_past_falls_back_to_backoff(
    make_client, fake_time: FakeTime
) -> None:
    reset = str(int(fake_time.wall()) - 300)
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, ratelimit_reset=reset)
    started = fake_time.now
    await make_client(Script(limited, OK)).get_json("/v2/account")
    # The retry backs off (backoff_initial), not a negative or zero wait; the limiter's own
    # minimum pause after a 429 then holds the request for the rest of its 1 s.
    assert fake_time.sleeps == [0.5, 0.5]
    assert fake_time.now - started == 1.0


async def test_advice_beyond_the_cap_is_clamped(make_client, fake_time: FakeTime) -> None:
    reset = str(int(fake_time.wall()) + 3600)
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, ratelimit_reset=reset)
    await make_client(Script(limited, OK)).get_json("/v2/account")
    # An hour away is clamped to the 60 s cap (the retry's and the limiter's pause agree).
    assert fake_time.sleeps == [60.0]


async def test_backoff_doubles_up_to_its_cap_and_error_says_how_long(
    make_client, fake_time: FakeTime
) -> None:
    policy = RetryPolicy(max_attempts=6, backoff_initial=1.0, backoff_max=4.0, jitter=False)
    script = Script(FAILURES["503"])
    with pytest.raises(exc.ServerError) as caught:
        await make_client(script, retry=policy).get_json("/v2/account")
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert script.calls == 6
    assert caught.value.total_wait == 15.0
    assert "(gave up after waiting 15.0s between retries)" in str(caught.value)


async def test_jittered_backoff_stays_within_bounds(make_client, fake_time: FakeTime) -> None:
    policy = RetryPolicy(max_attempts=30, max_total_wait=1000.0, backoff_max=3.0)
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(exc.ConnectError) as caught:
        await make_client(script, retry=policy).post_json("/v2/droplets", {})
    assert script.calls == 30
    assert all(0.0 <= wait <= 3.0 for wait in fake_time.sleeps)
    assert len(set(fake_time.sleeps)) > 1  # jittered, not fixed
    assert caught.value.total_wait == pytest.approx(sum(fake_time.sleeps))
    assert f"gave up after waiting {sum(fake_time.sleeps):.1f}s" in str(caught.value)


async def test_total_wait_budget_stops_before_overrunning(make_client, fake_time: FakeTime) -> None:
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, retry_after="4")
    policy = RetryPolicy(max_attempts=10, max_total_wait=10.0, jitter=False)
    script = Script(limited)
    with pytest.raises(exc.RateLimitError) as caught:
        await make_client(script, retry=policy).get_json("/v2/account")
    # 4 + 4 = 8 fits; a third wait would reach 12 > 10, so it gives up instead.
    assert fake_time.sleeps == [4.0, 4.0]
    assert script.calls == 3
    assert caught.value.total_wait == 8.0
    assert caught.value.retry_after == 4.0
    assert "gave up after waiting 8.0s" in str(caught.value)


async def test_a_final_error_after_retries_carries_the_wait(make_client, fake_time: FakeTime):
    script = Script(FAILURES["500"], FAILURES["404"])
    with pytest.raises(exc.NotFoundError) as caught:
        await make_client(script).get_json("/v2/droplets/1")
    assert caught.value.total_wait == 0.5
    assert script.calls == 2


async def test_never_policy_sends_once(make_client, fake_time: FakeTime) -> None:
    script = Script(FAILURES["503"], OK)
    with pytest.raises(exc.ServerError):
        await make_client(script, retry=RetryPolicy.never()).get_json("/v2/account")
    assert script.calls == 1
    assert fake_time.sleeps == []


async def test_a_429_pause_is_not_waited_twice(make_client, fake_time: FakeTime) -> None:
    # The limiter pauses everyone after a 429 too; the retry must not add that pause again.
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, retry_after="5")
    started = fake_time.now
    await make_client(Script(limited, OK)).get_json("/v2/account")
    assert fake_time.now - started == 5.0


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (exc.ConnectError("x"), FailureKind.NOT_SENT),
        (exc.RequestTimeoutError("x"), FailureKind.TIMEOUT),
        (exc.TransportError("x"), FailureKind.DROPPED),
        (exc.RateLimitError("x"), FailureKind.RATE_LIMITED),
        (exc.ServerError("x", status=502), FailureKind.SERVER_ERROR),
        (exc.ServerError("x", status=501), FailureKind.FINAL),
        (exc.ConflictError("x", status=409), FailureKind.FINAL),
        (ValueError("x"), FailureKind.FINAL),
    ],
)
def test_classify(error: BaseException, kind: FailureKind) -> None:
    assert classify(error) is kind


def test_policy_is_a_validated_value() -> None:
    assert RetryPolicy() == RetryPolicy()
    assert RetryPolicy.never().max_attempts == 1
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="max_total_wait"):
        RetryPolicy(max_total_wait=-1)


def test_idempotent_methods_are_tunable() -> None:
    policy = RetryPolicy(idempotent_methods=frozenset({"GET"}))
    server_error = exc.ServerError("x", status=500)
    assert policy.should_retry("get", server_error)
    assert not policy.should_retry("DELETE", server_error)
    assert policy.should_retry("DELETE", exc.ConnectError("x"))
