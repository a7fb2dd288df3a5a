"""Holds are announced: each wait the rate limiter or a 429 imposes reaches the listeners, with
its length and why, and a listener can neither break a request nor outlive its ``with``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from atlas.http import (
    ApiClient,
    RateLimiter,
    add_hold_listener,
    hold_listener,
    remove_hold_listener,
)
from tests.atlas.http.http_fakes import FakeTime, Script, json_response, rate_limits

OK = json_response(200, {})
Heard = list[tuple[float, str]]


def _recorder() -> tuple[Heard, Callable[[float, str], None]]:
    heard: Heard = []
    return heard, lambda seconds, reason: heard.append((seconds, reason))


async def test_a_full_window_is_announced_with_its_length_and_limit(fake_time: FakeTime) -> None:
    limits = rate_limits(per_minute=3, per_hour=1000)
    limiter = RateLimiter(limits, clock=fake_time.clock, sleep=fake_time.sleep)
    heard, listener = _recorder()
    with hold_listener(listener):
        for _ in range(4):
            limiter.release(await limiter.acquire())
    # Three go at once; the fourth waits for the first to leave the minute.
    assert heard == [(60.0, "the limit of 3 requests per 60s is reached")]
    assert fake_time.sleeps == [60.0]


async def test_nothing_is_announced_when_nothing_waits(fake_time: FakeTime) -> None:
    limiter = RateLimiter(rate_limits(), clock=fake_time.clock, sleep=fake_time.sleep)
    heard, listener = _recorder()
    with hold_listener(listener):
        for _ in range(10):
            limiter.release(await limiter.acquire())
    assert heard == []


async def test_a_pause_after_a_429_is_announced(make_client: Callable[..., ApiClient]) -> None:
    limited = json_response(429, {"id": "too_many_requests", "message": "x"}, retry_after="7")
    client = make_client(Script(limited, OK))
    heard, listener = _recorder()
    with hold_listener(listener):
        await client.get_json("/v2/account")
    assert (7.0, "the API answered 429 Too Many Requests") in heard


async def test_a_failing_listener_does_not_fail_the_request(fake_time: FakeTime) -> None:
    limiter = RateLimiter(rate_limits(per_minute=1), clock=fake_time.clock, sleep=fake_time.sleep)

    def broken(seconds: float, reason: str) -> None:
        raise RuntimeError("display gone")

    with hold_listener(broken):
        limiter.release(await limiter.acquire())
        limiter.release(await limiter.acquire())  # waits, announces, and still goes
    assert limiter.stats.requests == 2


async def test_listeners_stop_hearing_when_removed(fake_time: FakeTime) -> None:
    limiter = RateLimiter(rate_limits(per_minute=1), clock=fake_time.clock, sleep=fake_time.sleep)
    heard, listener = _recorder()
    add_hold_listener(listener)
    remove_hold_listener(listener)
    remove_hold_listener(listener)  # twice: nothing to remove, no error
    with hold_listener(listener):
        pass
    limiter.release(await limiter.acquire())
    limiter.release(await limiter.acquire())
    assert heard == []


async def test_listeners_hear_limiters_of_other_threads() -> None:
    """The limiters are process-wide (the sync facade runs its own loop in a thread)."""
    heard, listener = _recorder()

    def in_thread() -> None:
        time = FakeTime()
        limiter = RateLimiter(rate_limits(per_minute=1), clock=time.clock, sleep=time.sleep)

        async def two() -> None:
            limiter.release(await limiter.acquire())
            limiter.release(await limiter.acquire())

        asyncio.run(two())

    with hold_listener(listener):
        await asyncio.gather(*(asyncio.to_thread(in_thread) for _ in range(2)))
    assert [reason for _, reason in heard] == ["the limit of 1 requests per 60s is reached"] * 2
