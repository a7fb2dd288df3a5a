"""The per-token rate limiter: sliding windows, slowing down, pausing, priorities, sharing."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence

import httpx
import pytest

from atlas import exceptions as exc
from atlas.credentials import Secret
from atlas.http import (
    ApiClient,
    BearerAuth,
    Priority,
    RateLimiter,
    RateLimiterStats,
    RateLimitProfile,
    ResetFormat,
    RetryPolicy,
    Window,
)
from atlas.http import ratelimit as ratelimit_module
from tests.atlas.http.http_fakes import (
    BASE_URL,
    PAGINATION,
    RATE_LIMITS,
    FakeTime,
    ManualTime,
    Script,
    rate_limits,
    settle,
)


def most_in_any_window(times: Sequence[float], span: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, when in enumerate(ordered):
        while ordered[start] <= when - span:
            start += 1
        best = max(best, end - start + 1)
    return best


async def send(limiter: RateLimiter, priority: Priority = Priority.POLL) -> None:
    """One request answered at once: acquired and released at the same instant."""
    limiter.release(await limiter.acquire(priority))


def limiter_on(time: FakeTime | ManualTime, **profile: object) -> RateLimiter:
    """A limiter on fake time for the test API, with other limits or settings."""
    wall = time.wall if isinstance(time, FakeTime) else time.clock
    limits = rate_limits(**profile)  # type: ignore[arg-type]
    return RateLimiter(limits, clock=time.clock, sleep=time.sleep, wall_clock=wall)


async def test_burst_of_600_stays_under_250_per_minute(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time)
    sent: list[float] = []

    async def one() -> None:
        await send(limiter)
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
        await send(limiter)
    assert fake_time.sleeps == [3600.0]


async def test_slows_down_as_remaining_falls(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, slow_below=500)
    gaps: list[float] = []
    for remaining in (4000, 600, 500, 250, 100, 1):
        limiter.observe({"ratelimit-remaining": str(remaining)}, status=200)
        before = fake_time.now
        await send(limiter)
        gaps.append(round(fake_time.now - before, 6))
    # Full speed above slow_below; then spacing grows towards 3600/5000 = 0.72 s per request.
    assert gaps[:3] == [0.0, 0.0, 0.0]
    assert gaps[3:] == sorted(gaps[3:])
    assert 0.0 < gaps[3] < gaps[5] <= 0.72


async def test_remaining_estimate_counts_down_between_answers(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, slow_below=10)
    limiter.observe({"ratelimit-remaining": "12"}, status=200)
    for _ in range(3):
        await send(limiter)
    assert fake_time.sleeps == []  # 12, 11, 10 remain before these go: still at full speed
    await send(limiter)  # 9 remain by its own count, with no answer having said so
    assert fake_time.sleeps == [pytest.approx(0.072)]


async def test_a_429_pauses_everyone_for_the_advised_time(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time)
    limiter.observe({"retry-after": "10"}, status=429)
    await send(limiter)
    assert fake_time.sleeps == [10.0]


async def test_remaining_zero_waits_for_reset_clamped(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, max_pause=60.0)
    reset = str(int(fake_time.wall()) + 3000)
    limiter.observe({"ratelimit-remaining": "0", "ratelimit-reset": reset}, status=200)
    await send(limiter)
    assert fake_time.sleeps == [60.0]


async def test_remaining_zero_with_reset_in_the_past_pauses_briefly(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, min_pause=1.0)
    reset = str(int(fake_time.wall()) - 100)
    limiter.observe({"ratelimit-remaining": "0", "ratelimit-reset": reset}, status=200)
    await send(limiter)
    await send(limiter)  # the stale estimate was dropped: no further slowing
    assert fake_time.sleeps == [1.0]


async def test_waiting_change_goes_before_waiting_polls() -> None:
    time = ManualTime()
    limiter = limiter_on(time, per_minute=1)
    order: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        await send(limiter, priority)
        order.append(name)

    await send(limiter)  # fills the minute: everyone after this waits
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
    await send(limiter)
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
    token = Secret("dop_v1_" + "ab" * 32)
    other = Secret("dop_v1_" + "cd" * 32)
    transport = Script(httpx.Response(200)).transport

    def client(secret: Secret, limits: RateLimitProfile = RATE_LIMITS) -> ApiClient:
        auth = BearerAuth(secret)
        return ApiClient(
            BASE_URL, auth=auth, rate_limits=limits, paginator=PAGINATION, transport=transport
        )

    first, second, third = client(token), client(Secret(token.reveal())), client(other)
    assert first.rate_limiter is second.rate_limiter is RateLimiter.shared(RATE_LIMITS, token)
    assert third.rate_limiter is not first.rate_limiter
    # Another API's limits are counted apart, even with the same token.
    fourth = client(token, rate_limits(per_minute=10))
    assert fourth.rate_limiter is not first.rate_limiter
    assert fourth.rate_limiter.profile.windows[0] == Window(10, 60.0)
    # The registry is keyed by a digest; the token itself is nowhere in it.
    digest = hashlib.sha256(token.reveal().encode()).hexdigest()
    assert (RATE_LIMITS, digest) in ratelimit_module._registry
    assert token.reveal() not in repr(ratelimit_module._registry)
    with pytest.raises(ValueError, match="none given"):
        RateLimiter.shared(RATE_LIMITS)
    for each in (first, second, third, fourth):
        await each.aclose()


def test_stats_and_repr() -> None:
    limiter = RateLimiter(RATE_LIMITS)
    assert limiter.stats == RateLimiterStats(requests=0, waits=0, time_waited=0.0, in_flight=0)
    assert repr(limiter).startswith("RateLimiter(limits=[250 per 60s, 5000 per 3600s]")
    with pytest.raises(ValueError, match="at least one"):
        rate_limits(per_minute=0)
    with pytest.raises(ValueError, match="seconds must be positive"):
        Window(10, 0)
    with pytest.raises(ValueError, match="slow_below"):
        rate_limits(slow_below=-1)


def test_profile_defaults() -> None:
    # Only standard HTTP is assumed: Retry-After, no remaining or reset header.
    bare = RateLimitProfile(windows=[Window(100, 1.0), Window(1000, 60.0)])
    assert bare.windows == (Window(100, 1.0), Window(1000, 60.0))
    assert (bare.remaining_header, bare.reset_header) == (None, None)
    assert bare.retry_after_header == "retry-after"
    assert bare.remaining({"ratelimit-remaining": "3"}) is None
    assert bare.reset_in({"ratelimit-reset": "3"}, lambda: 0.0) is None
    assert bare.slow_below == 100  # a tenth of the largest window's limit
    assert bare.sustained_interval == pytest.approx(0.06)  # 60 s / 1000, the slower window
    assert RATE_LIMITS.slow_below == 500
    assert RATE_LIMITS.sustained_interval == pytest.approx(0.72)
    # Header names are matched lower-case, as httpx and HTTP/2 give them.
    assert RateLimitProfile((), remaining_header="X-Left").remaining({"x-left": "7"}) == 7


async def test_a_delta_reset_is_seconds_from_now(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, reset_header="x-reset-in", reset_format=ResetFormat.DELTA)
    limiter.observe({"ratelimit-remaining": "0", "x-reset-in": "7"}, status=200)
    await send(limiter)
    assert fake_time.sleeps == [7.0]


async def test_an_api_that_publishes_no_limits_only_pauses_when_told(fake_time: FakeTime) -> None:
    limiter = RateLimiter(
        RateLimitProfile(windows=()),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        wall_clock=fake_time.wall,
    )
    assert repr(limiter).startswith("RateLimiter(limits=[none]")
    for _ in range(1000):
        await send(limiter)
    assert fake_time.sleeps == []
    limiter.observe({"retry-after": "4", "ratelimit-remaining": "0"}, status=429)
    await send(limiter)
    assert fake_time.sleeps == [4.0]


def test_one_limiter_serves_event_loops_in_several_threads() -> None:
    # The sync facade may run its own loop per thread; the token's limit is still one.
    time = FakeTime()
    limiter = limiter_on(time, per_minute=5)
    sent: list[float] = []

    async def burst() -> None:
        for _ in range(10):
            await send(limiter)
            sent.append(time.now)

    threads = [threading.Thread(target=asyncio.run, args=(burst(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    assert len(sent) == 20
    assert most_in_any_window(sent, 60.0) <= 5


# -- the server counts a request when it arrives, somewhere between send and answer -------------


class SlidingWindowServer:
    """Counts each request when it arrives, as DigitalOcean and the emulator do, and answers 429
    to one more than ``limit`` in a sliding minute. ``hold`` delays a path's arrival until
    ``deliver``, as a full connection pool or a busy server does."""

    def __init__(self, limit: int, time: ManualTime) -> None:
        self.limit, self.time = limit, time
        self.arrived: list[float] = []
        self.refused = 0
        self._held: dict[str, asyncio.Future[None]] = {}
        self.transport = httpx.MockTransport(self._handle)

    def hold(self, path: str) -> None:
        self._held[path] = asyncio.get_running_loop().create_future()

    def deliver(self, path: str) -> None:
        self._held.pop(path).set_result(None)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if (gate := self._held.get(request.url.path)) is not None:
            await gate
        now = self.time.now
        if sum(1 for at in self.arrived if at > now - 60.0) >= self.limit:
            self.refused += 1
            return httpx.Response(429, json={"id": "too_many_requests", "message": "slow"})
        self.arrived.append(now)
        return httpx.Response(200, json={})


def client_on(time: ManualTime, server: SlidingWindowServer, token: Secret) -> ApiClient:
    limiter = limiter_on(time, per_minute=server.limit)
    return ApiClient(
        BASE_URL,
        auth=BearerAuth(token),
        rate_limits=limiter.profile,
        paginator=PAGINATION,
        transport=server.transport,
        retry=RetryPolicy.never(),  # a 429 surfaces as an error
        rate_limiter=limiter,
        sleep=time.sleep,
        clock=time.clock,
    )


async def test_a_request_the_server_saw_late_counts_until_a_minute_after_it_ended(
    token: Secret,
) -> None:
    # Counted from its send, the held-up request would leave the client's minute 5 s before
    # the server's, and the next minute's second request would get a 429.
    time = ManualTime()
    server = SlidingWindowServer(limit=2, time=time)
    client = client_on(time, server, token)
    server.hold("/v2/a")
    first = [asyncio.create_task(client.get_json(path)) for path in ("/v2/a", "/v2/b")]
    await settle()  # both sent at 0; b arrives at once, a is held up...
    await time.advance(5.0)
    server.deliver("/v2/a")  # ...and arrives at 5
    await asyncio.gather(*first)
    await time.advance(55.0)  # at 60, b has left the server's minute but a has not
    second = [asyncio.create_task(client.get_json(path)) for path in ("/v2/c", "/v2/d")]
    await settle()
    await time.advance(5.0)
    await asyncio.gather(*second)
    assert server.refused == 0
    assert server.arrived == [0.0, 5.0, 60.0, 65.0]
    assert client.rate_limiter.stats.in_flight == 0


async def test_a_request_in_flight_holds_its_place_until_a_minute_after_it_ends() -> None:
    time = ManualTime()
    limiter = limiter_on(time, per_minute=1)
    permit = await limiter.acquire()
    following = asyncio.create_task(send(limiter))
    await settle()
    await time.advance(120.0)  # no amount of time frees the place of a request in flight
    assert not following.done()
    limiter.release(permit)  # ended at 120: counted until 180
    await settle()
    await time.advance(59.0)
    assert not following.done()
    await time.advance(1.0)
    await following
    assert limiter.stats.in_flight == 0
    limiter.release(permit)  # a second release changes nothing
    assert limiter.stats == RateLimiterStats(requests=2, waits=1, time_waited=180.0, in_flight=0)


async def test_failed_and_cancelled_requests_give_their_place_back(
    make_client, token: Secret
) -> None:
    failing = make_client(Script(httpx.ConnectError("refused")), retry=RetryPolicy.never())
    with pytest.raises(exc.ConnectError):
        await failing.get_json("/v2/account")
    assert failing.rate_limiter.stats.in_flight == 0

    time = ManualTime()
    server = SlidingWindowServer(limit=10, time=time)
    client = client_on(time, server, token)
    server.hold("/v2/slow")
    task = asyncio.create_task(client.get_json("/v2/slow"))
    await settle()
    assert client.rate_limiter.stats.in_flight == 1
    task.cancel()
    await settle()
    assert task.cancelled()
    assert client.rate_limiter.stats.in_flight == 0


async def test_remaining_allows_for_requests_its_answer_cannot_include(
    fake_time: FakeTime,
) -> None:
    limiter = limiter_on(fake_time, slow_below=10)
    permits = [await limiter.acquire() for _ in range(5)]
    # The server counted them in order, 12 remaining before: 11, 10, 9, 8, 7 after each.
    # The answers come back last first: the first one's 11 is stale by four requests.
    limiter.release(permits[4], {"ratelimit-remaining": "7"}, status=200)
    limiter.release(permits[0], {"ratelimit-remaining": "11"}, status=200)
    await send(limiter)  # 7 remain, not 11: below slow_below, so spaced out
    assert fake_time.sleeps == [pytest.approx((1 - 7 / 10) * 3600 / 5000)]
    for permit in permits[1:4]:
        limiter.release(permit)


async def test_when_none_remain_by_our_count_requests_wait_for_the_answers_in_flight() -> None:
    time = ManualTime()
    limiter = limiter_on(time, slow_below=10)
    first, second = await limiter.acquire(), await limiter.acquire()
    limiter.release(first, {"ratelimit-remaining": "1"}, status=200)  # the second took it
    following = asyncio.create_task(send(limiter))
    await settle()
    await time.advance(10.0)
    assert not following.done()
    # The server says more are left after all (requests from elsewhere left its window).
    limiter.release(second, {"ratelimit-remaining": "5"}, status=200)
    await settle()
    assert following.done()


async def test_a_request_still_connecting_waits_out_a_pause_another_answer_began(
    make_client, fake_time: FakeTime
) -> None:
    """Both requests pass the limiter at once; the first is still connecting when the second
    is answered with a 429: its headers go out only once that Retry-After has passed."""
    answered = asyncio.Event()
    sent: dict[str, float] = {}

    async def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/slow":
            await answered.wait()  # connecting, while the other request is answered
            # What httpcore does as it writes the request (a mock transport does not).
            await request.extensions["trace"]("http11.send_request_headers.started", {})
            sent[path] = fake_time.now
            return httpx.Response(200, json={})
        sent[path] = fake_time.now
        return httpx.Response(429, headers={"retry-after": "5"}, json={"id": "too_many_requests"})

    client = make_client(Script(), retry=RetryPolicy.never())
    client._http._transport = httpx.MockTransport(handle)  # Script answers synchronously

    async def fast() -> None:
        try:
            await client.get_json("/v2/fast")
        finally:
            answered.set()

    results = await asyncio.gather(client.get_json("/v2/slow"), fast(), return_exceptions=True)
    assert isinstance(results[1], exc.RateLimitError)
    assert sent["/v2/slow"] >= sent["/v2/fast"] + 5.0
