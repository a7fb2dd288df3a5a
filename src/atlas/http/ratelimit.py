"""Keeping every user of one API token under the provider's rate limits.

DigitalOcean allows 250 requests per sliding minute and 5,000 per hour, per token, across every
process using it. One ``RateLimiter`` per token (``RateLimiter.shared``) gates every request:

- it counts what it sent in a sliding minute and hour and holds requests back at the limits;
- as the server's ``ratelimit-remaining`` falls below ``slow_below`` it spaces requests out,
  approaching the sustainable hourly rate as remaining nears zero;
- after a 429, or when remaining reaches zero, it pauses everyone until the advised time;
- when several requests wait, changes (``Priority.CHANGE``) go before polling (``Priority.POLL``),
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
import threading
import time
from collections import deque
from collections.abc import Mapping

import attrs

from atlas.credentials import Secret
from atlas.http._headers import int_header, reset_in_seconds, retry_after_seconds
from atlas.http._types import Clock, Sleep

__all__ = ["Priority", "RateLimiter", "RateLimiterStats"]


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
    """Counters for benchmarks: requests let through, how many had to wait, and for how long."""

    requests: int
    waits: int
    time_waited: float


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
        self._minute: deque[float] = deque()
        self._hour: deque[float] = deque()
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
            return RateLimiterStats(self._requests, self._waits, self._time_waited)

    def __repr__(self) -> str:
        return (
            f"RateLimiter(per_minute={self.per_minute}, per_hour={self.per_hour}, "
            f"remaining={self._remaining}, waiting={len(self._queue)})"
        )

    async def acquire(self, priority: Priority = Priority.POLL) -> None:
        """Wait until one request may be sent now, and count it as sent."""
        loop = asyncio.get_running_loop()
        with self._lock:
            ticket = _Ticket(int(priority), next(self._seq), self._clock())
            heapq.heappush(self._queue, ticket)
        try:
            while (turn := self._step(ticket, loop)) is not None:
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

    def observe(self, headers: Mapping[str, str], *, status: int) -> None:
        """Learn from a response's rate-limit headers (every response, errors included)."""
        remaining = int_header(headers, "ratelimit-remaining")
        with self._lock:
            if remaining is not None:
                self._remaining = remaining
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

    # -- internals; every method below runs under self._lock or takes it -----------------------

    def _step(
        self, ticket: _Ticket, loop: asyncio.AbstractEventLoop
    ) -> float | asyncio.Future[None] | None:
        """``None``: go now (counted as sent). A delay: sleep it, then ask again (only one
        ticket at a time gets a delay). A future: park until it is resolved, then ask again."""
        with self._lock:
            if self._queue[0] is ticket:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._depart(ticket, now)
                    return None
                if not self._timer_running:
                    self._timer_running = True
                    return delay
                # else the previous head is still sleeping; it wakes the head when done.
            # Handed back, not read from the ticket later: another thread may clear the field.
            future: asyncio.Future[None] = loop.create_future()
            ticket.waiter = future
            return future

    def _delay(self, now: float) -> float:
        for window, span in ((self._minute, _MINUTE), (self._hour, _HOUR)):
            while window and window[0] <= now - span:
                window.popleft()
        delays = [self._paused_until - now]
        if len(self._minute) >= self.per_minute:
            delays.append(self._minute[0] + _MINUTE - now)
        if len(self._hour) >= self.per_hour:
            delays.append(self._hour[0] + _HOUR - now)
        if (
            self._remaining is not None
            and self._remaining < self.slow_below
            and self._last_sent is not None
        ):
            # From no spacing at slow_below to the sustainable hourly rate at zero remaining.
            fraction = 1.0 - max(self._remaining, 0) / self.slow_below
            delays.append(self._last_sent + fraction * _HOUR / self.per_hour - now)
        return max(delays)

    def _depart(self, ticket: _Ticket, now: float) -> None:
        heapq.heappop(self._queue)
        self._minute.append(now)
        self._hour.append(now)
        self._last_sent = now
        if self._remaining is not None:
            self._remaining -= 1
        self._requests += 1
        if now > ticket.arrived:
            self._waits += 1
            self._time_waited += now - ticket.arrived
        self._wake_head()

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
