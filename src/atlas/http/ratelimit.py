"""Keeping every user of one API token under the provider's rate limits.

DigitalOcean allows 250 requests per sliding minute and 5,000 per hour, per token, across every
process using it. One ``RateLimiter`` per token (``RateLimiter.shared``) gates every request:
``acquire`` before sending, and ``release`` once the request is over, answered or not.

- A request counts against both windows from the moment it is sent. While it is in flight it
  holds a place; once over, it is stamped with the time it ended and stays in the window for a
  minute (an hour) from then. The server counted it at some moment between send and end, so
  counting from the end is never early: however long a request queued in the connection pool
  or at the server, the server's window never holds more than the limiter let through.
  (Counting from the send alone lets a request the server saw late overlap the next minute's
  burst, and that is a 429.) When the windows are full of requests still in flight, the next
  request waits for one of them to end.
- The server's count is the truth (other processes may share the token): every answer's
  ``ratelimit-remaining`` replaces the limiter's estimate, less the requests that may have
  reached the server after the answered one. The estimate then counts down with each request
  sent. As it falls below ``slow_below`` requests are spaced out, approaching the sustainable
  hourly rate as it nears zero; at zero, requests wait for the answers still in flight.
- After a 429, or when ``ratelimit-remaining`` is 0, everyone pauses until the advised time.
- When several requests wait, changes (``Priority.CHANGE``) go before polling (``Priority.POLL``),
  first come first served within a priority.

Waiting requests park on futures; only the head of the queue ever sleeps, so nothing busy-waits
and an injected fake sleep advances a fake clock exactly once per wait.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import heapq
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Mapping

import attrs

from atlas.credentials import Secret
from atlas.http._headers import int_header, reset_in_seconds, retry_after_seconds
from atlas.http._types import Clock, Sleep

__all__ = ["Permit", "Priority", "RateLimiter", "RateLimiterStats"]


_MINUTE = 60.0
_HOUR = 3600.0


class Priority(enum.IntEnum):
    """Who goes first when requests wait; lower values first."""

    CHANGE = 0  # creates, updates, deletes: someone is waiting on the result
    POLL = 1  # status reads: a little later costs nothing

    @classmethod
    def for_method(cls, method: str) -> Priority:
        return cls.POLL if method.upper() in {"GET", "HEAD", "OPTIONS"} else cls.CHANGE


@attrs.frozen
class RateLimiterStats:
    """Counters for benchmarks: requests let through, how many had to wait, for how long, and
    how many are still in flight (acquired, not yet released)."""

    requests: int
    waits: int
    time_waited: float
    in_flight: int = 0


@attrs.define(eq=False)
class Permit:
    """One request let through by :meth:`RateLimiter.acquire`; give it back to
    :meth:`RateLimiter.release` when the request is over, however it ended.

    ``number`` is the request's rank among all those the limiter sent (from 1); ``overlapping``
    is how many others were in flight when it left. Both bound what its answer's
    ``ratelimit-remaining`` cannot yet include.
    """

    number: int
    overlapping: int
    released: bool = False


@attrs.define(order=True)
class _Ticket:
    priority: int
    seq: int
    arrived: float = attrs.field(order=False, eq=False)
    waiter: asyncio.Future[None] | None = attrs.field(default=None, order=False, eq=False)


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake(future: asyncio.Future[None]) -> None:
    # The limiter may be shared by event loops in several threads (the sync facade).
    loop = future.get_loop()
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _resolve(future)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(_resolve, future)


class RateLimiter:
    """A per-token request gate; see the module docstring for what it enforces."""

    def __init__(
        self,
        *,
        per_minute: int = 250,
        per_hour: int = 5000,
        slow_below: int = 500,
        min_pause: float = 1.0,
        max_pause: float = 60.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
    ) -> None:
        if per_minute < 1 or per_hour < 1:
            raise ValueError("rate limits must allow at least one request")
        self.per_minute, self.per_hour, self.slow_below = per_minute, per_hour, slow_below
        self.min_pause, self.max_pause = min_pause, max_pause
        self._clock, self._sleep, self._wall_clock = clock, sleep, wall_clock
        self._lock = threading.Lock()
        # When each request that is over ended; requests in flight are only counted.
        self._minute: deque[float] = deque()
        self._hour: deque[float] = deque()
        self._in_flight = 0
        self._queue: list[_Ticket] = []
        self._seq = itertools.count()
        self._timer_running = False
        self._remaining: int | None = None
        self._last_sent: float | None = None
        self._paused_until = float("-inf")
        self._requests = self._waits = 0
        self._time_waited = 0.0

    @classmethod
    def shared(cls, token: Secret) -> RateLimiter:
        """The process-wide limiter for ``token``, created with default limits on first use.

        Keyed by a SHA-256 of the token, so the registry never holds the token itself.
        """
        key = hashlib.sha256(token.reveal().encode()).hexdigest()
        with _registry_lock:
            limiter = _registry.get(key)
            if limiter is None:
                limiter = _registry[key] = cls()
            return limiter

    @property
    def stats(self) -> RateLimiterStats:
        with self._lock:
            return RateLimiterStats(self._requests, self._waits, self._time_waited, self._in_flight)

    def __repr__(self) -> str:
        return (
            f"RateLimiter(per_minute={self.per_minute}, per_hour={self.per_hour}, "
            f"remaining={self._remaining}, in_flight={self._in_flight}, "
            f"waiting={len(self._queue)})"
        )

    async def acquire(self, priority: Priority = Priority.POLL) -> Permit:
        """Wait until one request may be sent now, and count it as in flight.

        Every permit must be handed back to :meth:`release` once the request is over (answered,
        failed or cancelled): until then it holds its place in the windows.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            ticket = _Ticket(int(priority), next(self._seq), self._clock())
            heapq.heappush(self._queue, ticket)
        try:
            while not isinstance(turn := self._step(ticket, loop), Permit):
                if isinstance(turn, asyncio.Future):
                    await turn
                    continue
                try:
                    await self._sleep(turn)
                finally:
                    self._timer_done()
        except BaseException:
            self._abandon(ticket)
            raise
        return turn

    def release(
        self, permit: Permit, headers: Mapping[str, str] | None = None, *, status: int | None = None
    ) -> None:
        """The request ``permit`` let through is over; ``headers`` and ``status`` are its
        answer's, if it got one. It stays counted for a minute (an hour) from now. Releasing a
        permit twice does nothing."""
        with self._lock:
            if permit.released:
                return
            permit.released = True
            self._in_flight -= 1
            now = self._clock()
            self._minute.append(now)
            self._hour.append(now)
            if headers is not None:
                self._learn(headers, status, permit)
            self._wake_head()  # it may have been waiting for a request in flight to end

    def observe(self, headers: Mapping[str, str], *, status: int) -> None:
        """Learn from a response's rate-limit headers, for an answer to a request this limiter
        did not let through (:meth:`release` learns from its own requests' answers)."""
        with self._lock:
            self._learn(headers, status, None)
            self._wake_head()

    # -- internals; every method below runs under self._lock or takes it -----------------------

    def _learn(self, headers: Mapping[str, str], status: int | None, permit: Permit | None) -> None:
        remaining = int_header(headers, "ratelimit-remaining")
        if remaining is not None:
            self._remaining = remaining
            if permit is not None:
                # The server counted this request at some moment before answering; what was
                # in flight when it left, and all sent since, may have reached it later.
                self._remaining -= permit.overlapping + (self._requests - permit.number)
        if status != 429 and remaining != 0:
            return
        advised = retry_after_seconds(headers, self._wall_clock)
        if advised is None:
            advised = reset_in_seconds(headers, self._wall_clock)
        # A reset already in the past (it happens) still earns a short pause.
        pause = min(max(advised or 0.0, self.min_pause), self.max_pause)
        self._paused_until = max(self._paused_until, self._clock() + pause)
        # The estimate is stale after a pause: the next answer says where we stand.
        self._remaining = None

    def _step(
        self, ticket: _Ticket, loop: asyncio.AbstractEventLoop
    ) -> Permit | float | asyncio.Future[None]:
        """A permit: go now (counted as in flight). A delay: sleep it, then ask again (only one
        ticket at a time gets a delay). A future: park until it is resolved, then ask again."""
        with self._lock:
            if self._queue[0] is ticket:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    return self._depart(ticket, now)
                # An infinite delay waits for a request in flight to end: release wakes the head.
                if delay < math.inf and not self._timer_running:
                    self._timer_running = True
                    return delay
                # else the previous head is still sleeping; it wakes the head when done.
            # Handed back, not read from the ticket later: another thread may clear the field.
            future: asyncio.Future[None] = loop.create_future()
            ticket.waiter = future
            return future

    def _delay(self, now: float) -> float:
        """Seconds until the next request may go; ``math.inf`` until a request in flight ends."""
        delays = [self._paused_until - now]
        for window, span, limit in (
            (self._minute, _MINUTE, self.per_minute),
            (self._hour, _HOUR, self.per_hour),
        ):
            while window and window[0] <= now - span:
                window.popleft()
            # How many counted requests must leave the window before one more fits.
            excess = len(window) + self._in_flight - limit + 1
            if excess > len(window):
                return math.inf  # the rest are in flight: they leave a span after they end
            if excess > 0:
                delays.append(window[excess - 1] + span - now)
        if (
            self._remaining is not None
            and self._remaining < self.slow_below
            and self._last_sent is not None
        ):
            if self._remaining <= 0 and self._in_flight:
                return math.inf  # spent, by our count: let the answers in flight say for sure
            # From no spacing at slow_below to the sustainable hourly rate at zero remaining.
            fraction = 1.0 - max(self._remaining, 0) / self.slow_below
            delays.append(self._last_sent + fraction * _HOUR / self.per_hour - now)
        return max(delays)

    def _depart(self, ticket: _Ticket, now: float) -> Permit:
        heapq.heappop(self._queue)
        self._requests += 1
        permit = Permit(number=self._requests, overlapping=self._in_flight)
        self._in_flight += 1
        self._last_sent = now
        if self._remaining is not None:
            self._remaining -= 1
        if now > ticket.arrived:
            self._waits += 1
            self._time_waited += now - ticket.arrived
        self._wake_head()
        return permit

    def _wake_head(self) -> None:
        if self._queue and (waiter := self._queue[0].waiter) is not None:
            self._queue[0].waiter = None
            _wake(waiter)

    def _timer_done(self) -> None:
        with self._lock:
            self._timer_running = False
            self._wake_head()

    def _abandon(self, ticket: _Ticket) -> None:
        with self._lock:
            if ticket in self._queue:
                self._queue.remove(ticket)
                heapq.heapify(self._queue)
            self._wake_head()
