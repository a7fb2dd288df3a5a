"""The per-token rate limiter: sliding windows, slowing down, pausing, priorities, sharing."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence

import httpx
import pytest

from atlas.credentials import Secret
from atlas.http import Priority, RateLimiter, RateLimiterStats
from atlas.http import ratelimit as ratelimit_module
from tests.atlas.http.http_fakes import FakeTime, ManualTime, Script, settle


def most_in_any_window(times: Sequence[float], span: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, when in enumerate(ordered):
        while ordered[start] <= when - span:
            start += 1
        best = max(best, end - start + 1)
    return best


def limiter_on(time: FakeTime | ManualTime, **kwargs: object) -> RateLimiter:
    wall = time.wall if isinstance(time, FakeTime) else time.clock
    return RateLimiter(clock=time.clock, sleep=time.sleep, wall_clock=wall, **kwargs)  # type: ignore[arg-type]


async def test_burst_of_600_stays_under_250_per_minute(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time)
    sent: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        sent.append(fake_time.now)

    started = fake_time.now
    await asyncio.gather(*(one() for _ in range(600)))
    assert len(sent) == 600
    assert most_in_any_window(sent, 60.0) <= 250
    # As fast as allowed, no faster: 250 now, 250 a minute later, the last 100 after two.
    assert fake_time.now - started == 120.0
    # Only the head of the queue sleeps, once per window that fills: no busy waiting.
    assert len(fake_time.sleeps) <= 4
    assert limiter.stats.requests == 600
    assert limiter.stats.waits == 350
    assert limiter.stats.time_waited == 250 * 60.0 + 100 * 120.0


async def test_burst_through_the_client(make_client, fake_time: FakeTime) -> None:
    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(fake_time.now)
        return httpx.Response(200, json={"droplet": {"status": "active"}})

    client = make_client(Script(answer))
    await asyncio.gather(*(client.get_json(f"/v2/droplets/{n}") for n in range(600)))
    assert len(sent) == 600
    assert most_in_any_window(sent, 60.0) <= 250
    assert client.rate_limiter.stats.requests == 600


async def test_hourly_limit(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, per_minute=1000, per_hour=10)
    for _ in range(11):
        await limiter.acquire()
    assert fake_time.sleeps == [3600.0]


async def test_slows_down_as_remaining_falls(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, slow_below=500)
    gaps: list[float] = []
    for remaining in (4000, 600, 500, 250, 100, 1):
        limiter.observe({"ratelimit-remaining": str(remaining)}, status=200)
        before = fake_time.now
        await limiter.acquire()
        gaps.append(round(fake_time.now - before, 6))
    # Full speed above slow_below; then spacing grows towards 3600/5000 = 0.72 s per request.
    assert gaps[:3] == [0.0, 0.0, 0.0]
    assert gaps[3:] == sorted(gaps[3:])
    assert 0.0 < gaps[3] < gaps[5] <= 0.72


async def test_remaining_estimate_counts_down_between_answers(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, slow_below=10)
    limiter.observe({"ratelimit-remaining": "12"}, status=200)
    for _ in range(3):
        await limiter.acquire()
    assert fake_time.sleeps == []  # 12, 11, 10 remain before these go: still at full speed
    await limiter.acquire()  # 9 remain by its own count, with no answer having said so
    assert fake_time.sleeps == [pytest.approx(0.072)]


async def test_a_429_pauses_everyone_for_the_advised_time(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time)
    limiter.observe({"retry-after": "10"}, status=429)
    await limiter.acquire()
    assert fake_time.sleeps == [10.0]


async def test_remaining_zero_waits_for_reset_clamped(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, max_pause=60.0)
    reset = str(int(fake_time.wall()) + 3000)
    limiter.observe({"ratelimit-remaining": "0", "ratelimit-reset": reset}, status=200)
    await limiter.acquire()
    assert fake_time.sleeps == [60.0]


async def test_remaining_zero_with_reset_in_the_past_pauses_briefly(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, min_pause=1.0)
    reset = str(int(fake_time.wall()) - 100)
    limiter.observe({"ratelimit-remaining": "0", "ratelimit-reset": reset}, status=200)
    await limiter.acquire()
    await limiter.acquire()  # the stale estimate was dropped: no further slowing
    assert fake_time.sleeps == [1.0]


async def test_waiting_change_goes_before_waiting_polls() -> None:
    time = ManualTime()
    limiter = limiter_on(time, per_minute=1)
    order: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    await limiter.acquire()  # fills the minute: everyone after this waits
    polls = [asyncio.create_task(one(f"GET {n}", Priority.POLL)) for n in range(3)]
    await settle()
    change = asyncio.create_task(one("POST", Priority.CHANGE))
    await settle()
    assert order == []
    for _ in range(4):
        await time.advance(60.0)
    await asyncio.gather(*polls, change)
    assert order == ["POST", "GET 0", "GET 1", "GET 2"]


async def test_priority_follows_the_method() -> None:
    assert Priority.for_method("get") is Priority.POLL
    assert Priority.for_method("HEAD") is Priority.POLL
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert Priority.for_method(method) is Priority.CHANGE


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    time = ManualTime()
    limiter = limiter_on(time, per_minute=1)
    await limiter.acquire()
    first = asyncio.create_task(limiter.acquire())
    second = asyncio.create_task(limiter.acquire())
    await settle()
    first.cancel()  # it was the head, sleeping for the window
    await settle()
    await time.advance(60.0)
    await second
    assert first.cancelled()
    assert limiter.stats.requests == 2


async def test_clients_get_the_limiter_shared_by_their_token() -> None:
    from atlas.http import ApiClient

    token = Secret("dop_v1_" + "ab" * 32)
    other = Secret("dop_v1_" + "cd" * 32)
    transport = Script(httpx.Response(200)).transport
    first = ApiClient("https://api.example.test", token, transport=transport)
    second = ApiClient("https://api.example.test", Secret(token.reveal()), transport=transport)
    third = ApiClient("https://api.example.test", other, transport=transport)
    assert first.rate_limiter is second.rate_limiter is RateLimiter.shared(token)
    assert third.rate_limiter is not first.rate_limiter
    # The registry is keyed by a digest; the token itself is nowhere in it.
    digest = hashlib.sha256(token.reveal().encode()).hexdigest()
    assert digest in ratelimit_module._registry
    assert token.reveal() not in repr(ratelimit_module._registry)
    for client in (first, second, third):
        await client.aclose()


def test_stats_and_repr() -> None:
    limiter = RateLimiter()
    assert limiter.stats == RateLimiterStats(requests=0, waits=0, time_waited=0.0)
    assert repr(limiter).startswith("RateLimiter(per_minute=250, per_hour=5000")
    with pytest.raises(ValueError, match="at least one"):
        RateLimiter(per_minute=0)


def test_one_limiter_serves_event_loops_in_several_threads() -> None:
    # The sync facade may run its own loop per thread; the token's limit is still one.
    time = FakeTime()
    limiter = limiter_on(time, per_minute=5)
    sent: list[float] = []

    async def burst() -> None:
        for _ in range(10):
            await limiter.acquire()
            sent.append(time.now)

    threads = [threading.Thread(target=asyncio.run, args=(burst(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    assert len(sent) == 20
    assert most_in_any_window(sent, 60.0) <= 5
