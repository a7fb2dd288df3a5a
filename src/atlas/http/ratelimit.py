"""Keeping every user of one API credential under the provider's rate limits.

An API counts requests per credential across every process using it, in one or more sliding
windows (a cloud that allows 250 requests a minute and 5,000 an hour has two); its
:class:`~atlas.http.RateLimitProfile` says which, and which headers report the count. One
``RateLimiter`` per credential and profile (``RateLimiter.shared``) gates every request:
``acquire`` before sending, and ``release`` once the request is over, answered or not.

- A request counts against every window from the moment it is sent. While it is in flight it
  holds a place; once over, it is stamped with the time it ended and stays in each window for
  that window's span from then. The server counted it at some moment between send and end, so
  counting from the end is never early: however long a request queued in the connection pool
  or at the server, the server's window never holds more than the limiter let through.
  (Counting from the send alone lets a request the server saw late overlap the next minute's
  burst, and that is a 429.) When the windows are full of requests still in flight, the next
  request waits for one of them to end.
- The server's count is the truth (other processes may share the credential): the remaining
  count in every answer (the profile's ``remaining_header``) replaces the limiter's estimate,
  less the requests that may have reached the server after the answered one. The estimate
  then counts down with each request sent. As it falls below ``slow_below`` requests are
  spaced out, approaching the rate every window can sustain as it nears zero; at zero,
  requests wait for the answers still in flight.
- After a 429, or when none remain, everyone pauses until the advised time (``Retry-After``,
  else the profile's reset header): the latest such deadline any answer gave. A request let
  through before the pause began, but not yet on the wire (connecting, say), is held at the
  wire by the client (:meth:`pause_left`).
- When several requests wait, changes (``Priority.CHANGE``) go before polling (``Priority.POLL``),
  first come first served within a priority.

- With a :class:`~atlas.http.budget.SharedBudget` (``RateLimiter.shared`` asks one of the
  factory :func:`~atlas.http.budget.set_budget_factory` set), the head of the queue also asks
  it for a slot before going: the budget's window is every process's using the account, and
  the provider's remaining count it shares caps this limiter's own estimate.

Waiting requests park on futures; only the head of the queue ever sleeps, so nothing busy-waits
and an injected fake sleep advances a fake clock exactly once per wait. Each such sleep is
announced, with its length and why (:func:`atlas.http.hold_listener`): a display can say that
requests are held back rather than look hung.
"""

from __future__ import annotations

import asyncio
import enum
import functools
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
from atlas.http._types import Clock, Sleep
from atlas.http.budget import Grant, SharedBudget, account_key, budget_factory
from atlas.http.holds import announce_hold
from atlas.http.profile import RateLimitProfile

__all__ = ["Permit", "Priority", "RateLimiter", "RateLimiterStats"]


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
    is how many others were in flight when it left. Both bound what the remaining count in its
    answer cannot yet include.
    """

    number: int
    overlapping: int
    released: bool = False
    #: The shared budget's slot (of ``budget``), and how many of the account's were in
    #: flight when it was granted.
    slot: int | None = None
    shared_overlapping: int = 0
    budget: SharedBudget | None = None
    #: Seconds (on the limiter's clock) it waited in the queue before it was let through.
    waited: float = 0.0


#: The least wait for a place that frees up "now" by rounding, but not by the window's rule.
_TICK = 1e-6

#: What _step answers the head when the shared budget must be asked before it goes.
_ASK = object()


@attrs.define(order=True)
class _Ticket:
    priority: int
    seq: int
    arrived: float = attrs.field(order=False, eq=False)
    waiter: asyncio.Future[None] | None = attrs.field(default=None, order=False, eq=False)
    #: It was made to wait (slept, or parked behind others), not let straight through.
    held: bool = attrs.field(default=False, order=False, eq=False)


_registry: dict[tuple[RateLimitProfile, str], RateLimiter] = {}
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
    """A per-credential request gate; see the module docstring for what it enforces."""

    def __init__(
        self,
        profile: RateLimitProfile,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
        budget: SharedBudget | None = None,
    ) -> None:
        self.profile = profile
        #: Asked for a slot before every request when set; times it with ``wall_clock``.
        self.budget = budget
        self._budget_source: object = None  # the factory that made ``budget``, if shared
        self._clock, self._sleep, self._wall_clock = clock, sleep, wall_clock
        self._lock = threading.Lock()
        # Per window: when each request that is over ended. Requests in flight are only counted.
        self._windows: list[tuple[deque[float], float, int]] = [
            (deque(), window.seconds, window.limit) for window in profile.windows
        ]
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
    def shared(cls, profile: RateLimitProfile, *secrets: Secret) -> RateLimiter:
        """The process-wide limiter for the credential made of ``secrets`` under ``profile``,
        created on first use.

        Keyed by a SHA-256 of the secrets, so the registry never holds a secret itself. When a
        budget factory is set (:func:`~atlas.http.budget.set_budget_factory`), the limiter asks
        the account's shared budget too.
        """
        if not secrets:
            raise ValueError("a shared limiter is keyed by the credential's secrets; none given")
        digest = hashlib.sha256("\0".join(s.reveal() for s in secrets).encode()).hexdigest()
        factory = budget_factory()
        with _registry_lock:
            limiter = _registry.get((profile, digest))
            if limiter is None:
                limiter = _registry[profile, digest] = cls(profile)
            if limiter._budget_source is not factory:
                # Another store, or none: permits given before keep the budget that granted them.
                made = None if factory is None else factory(profile, account_key(profile, *secrets))
                limiter.budget, limiter._budget_source = made, factory
            return limiter

    @property
    def stats(self) -> RateLimiterStats:
        with self._lock:
            return RateLimiterStats(self._requests, self._waits, self._time_waited, self._in_flight)

    def __repr__(self) -> str:
        limits = ", ".join(str(window) for window in self.profile.windows) or "none"
        return (
            f"RateLimiter(limits=[{limits}], remaining={self._remaining}, "
            f"in_flight={self._in_flight}, waiting={len(self._queue)})"
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
                if isinstance(turn, tuple):
                    delay, why = turn
                else:  # _ASK: the shared budget says whether the head may go
                    grant = await self._ask_budget()
                    if grant.slot is not None:
                        return self._granted(ticket, grant)
                    delay, why = grant.delay, grant.why
                # Only the head of the queue sleeps: one announcement per wait, not per request.
                announce_hold(delay, why)
                try:
                    await self._sleep(delay)
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
        answer's, if it got one. It stays counted in each window for that window's span from now.
        Releasing a permit twice does nothing."""
        with self._lock:
            if permit.released:
                return
            permit.released = True
            self._in_flight -= 1
            now = self._clock()
            for ended, _, _ in self._windows:
                ended.append(now)
            if headers is not None:
                self._learn(headers, status, permit)
            self._wake_head()  # it may have been waiting for a request in flight to end
        if permit.budget is not None and permit.slot is not None:
            self._tell_budget(permit, headers)

    def pause_left(self) -> float:
        """Seconds until the pause the latest 429 (or none remaining) set is over; zero or
        less when there is none."""
        with self._lock:
            return self._paused_until - self._clock()

    def observe(self, headers: Mapping[str, str], *, status: int) -> None:
        """Learn from a response's rate-limit headers, for an answer to a request this limiter
        did not let through (:meth:`release` learns from its own requests' answers)."""
        with self._lock:
            self._learn(headers, status, None)
            self._wake_head()

    # -- internals; every method below runs under self._lock or takes it -----------------------

    def _learn(self, headers: Mapping[str, str], status: int | None, permit: Permit | None) -> None:
        profile = self.profile
        remaining = profile.remaining(headers)
        if remaining is not None:
            self._remaining = remaining
            if permit is not None:
                # The server counted this request at some moment before answering; what was
                # in flight when it left, and all sent since, may have reached it later.
                self._remaining -= permit.overlapping + (self._requests - permit.number)
        if status != 429 and remaining != 0:
            return
        advised = profile.retry_after(headers, self._wall_clock)
        if advised is None:
            advised = profile.reset_in(headers, self._wall_clock)
        # A reset already in the past (it happens) still earns a short pause.
        pause = min(max(advised or 0.0, profile.min_pause), profile.max_pause)
        self._paused_until = max(self._paused_until, self._clock() + pause)
        # The estimate is stale after a pause: the next answer says where we stand.
        self._remaining = None

    def _step(
        self, ticket: _Ticket, loop: asyncio.AbstractEventLoop
    ) -> Permit | tuple[float, str] | asyncio.Future[None] | object:
        """A permit: go now (counted as in flight). A delay and why: sleep it, then ask again
        (only one ticket at a time gets a delay). A future: park until it is resolved, then ask
        again. ``_ASK``: ask the shared budget for a slot (only one ticket at a time)."""
        with self._lock:
            if self._queue[0] is ticket:
                now = self._clock()
                delay, why = self._delay(now)
                if delay <= 0 and self.budget is None:
                    return self._depart(ticket, now)
                if delay <= 0 and not self._timer_running:
                    self._timer_running = True  # others park while the head asks
                    return _ASK
                # An infinite delay waits for a request in flight to end: release wakes the head.
                if delay < math.inf and not self._timer_running:
                    self._timer_running = True
                    ticket.held = True
                    return delay, why
                # else the previous head is still sleeping; it wakes the head when done.
            # Handed back, not read from the ticket later: another thread may clear the field.
            ticket.held = True
            future: asyncio.Future[None] = loop.create_future()
            ticket.waiter = future
            return future

    def _delay(self, now: float) -> tuple[float, str]:
        """Seconds until the next request may go (``math.inf`` until a request in flight
        ends), and why it waits, in words."""
        delays = [(self._paused_until - now, "the API asked for a pause (429, or none left)")]
        for window, span, limit in self._windows:
            while window and window[0] <= now - span:
                window.popleft()
            # How many counted requests must leave the window before one more fits.
            excess = len(window) + self._in_flight - limit + 1
            if excess > len(window):
                # The rest are in flight: they leave a span after they end.
                return math.inf, "waiting for requests in flight"
            if excess > 0:
                why = f"the limit of {limit} requests per {span:g}s is reached"
                # Never zero while the request still counts by the test above: a sum that
                # rounds (end + span == now, end > now - span) must not let one more through.
                delays.append((max(window[excess - 1] + span - now, _TICK), why))
        slow_below, remaining = self.profile.slow_below, self._remaining
        if remaining is not None and remaining < slow_below and self._last_sent is not None:
            if remaining <= 0 and self._in_flight:
                # Spent, by our count: let the answers in flight say for sure.
                return math.inf, "waiting for requests in flight"
            # From no spacing at slow_below to the rate every window sustains at zero remaining.
            fraction = 1.0 - remaining / slow_below if remaining > 0 else 1.0
            why = f"{max(remaining, 0)} requests left by the API's count: spacing them out"
            delays.append((self._last_sent + fraction * self.profile.sustained_interval - now, why))
        return max(delays, key=lambda d: d[0])

    def _depart(self, ticket: _Ticket, now: float) -> Permit:
        if self._queue[0] is ticket:
            heapq.heappop(self._queue)
        else:  # a more urgent ticket arrived while this one asked the shared budget
            self._queue.remove(ticket)
            heapq.heapify(self._queue)
        self._requests += 1
        permit = Permit(number=self._requests, overlapping=self._in_flight)
        self._in_flight += 1
        self._last_sent = now
        if self._remaining is not None:
            self._remaining -= 1
        if now > ticket.arrived:
            self._waits += 1
            self._time_waited += now - ticket.arrived
            if ticket.held:
                permit.waited = now - ticket.arrived
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

    # -- the shared budget ---------------------------------------------------------------------

    async def _ask_budget(self) -> Grant:
        """A slot from the shared budget, asked in a worker thread (it is a database
        transaction); a slot granted after the asker was cancelled is handed straight back."""
        budget = self.budget
        assert budget is not None
        asked = asyncio.ensure_future(asyncio.to_thread(budget.grant, self._wall_clock()))
        try:
            grant = await asyncio.shield(asked)
        except BaseException:
            asked.add_done_callback(functools.partial(self._return_unused, budget))
            self._timer_done()
            raise
        return attrs.evolve(grant, budget=budget)

    def _return_unused(self, budget: SharedBudget, asked: asyncio.Future[Grant]) -> None:
        if asked.cancelled() or asked.exception() is not None:
            return
        if (slot := asked.result().slot) is not None:
            budget.end(slot, self._wall_clock())

    def _granted(self, ticket: _Ticket, grant: Grant) -> Permit:
        with self._lock:
            self._timer_running = False
            permit = self._depart(ticket, self._clock())
            permit.slot, permit.shared_overlapping = grant.slot, grant.overlapping
            permit.budget = grant.budget
            if grant.remaining is not None:
                # The provider's word as every process's answers told it: the lower wins.
                mine = self._remaining
                self._remaining = grant.remaining if mine is None else min(mine, grant.remaining)
            return permit

    def _tell_budget(self, permit: Permit, headers: Mapping[str, str] | None) -> None:
        budget, now = permit.budget, self._wall_clock()
        assert budget is not None
        assert permit.slot is not None
        budget.end(permit.slot, now)
        remaining = None if headers is None else self.profile.remaining(headers)
        if headers is None or remaining is None:
            return
        profile = self.profile
        if remaining > 0:
            valid = min((w.seconds for w in profile.windows), default=profile.max_pause)
        else:
            advised = profile.reset_in(headers, self._wall_clock)
            valid = min(max(advised or 0.0, profile.min_pause), profile.max_pause)
        budget.learn(permit.slot, permit.shared_overlapping, remaining, now, valid)
