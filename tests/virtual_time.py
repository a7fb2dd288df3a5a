"""Virtual time for tests of concurrent waits: sleeps end in the order of their due times, and
the clock jumps to the next due time only once every task has done what it can.

A clock that moves by each sleep (``ManualClock.sleep``) runs faster the more tasks sleep at
once: two waits of one second each move it two seconds. Here two waits of one second end
together, one virtual second later, as they would in real time; so a test can say when, in
virtual seconds, each step of a concurrent operation ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator
from typing import Protocol

__all__ = ["VirtualTime"]

#: Turns of the event loop given to the other tasks before the clock moves: enough for a
#: chain of futures and callbacks to settle (nothing here waits on real I/O).
IDLE_TURNS = 50


class Advancing(Protocol):
    def __call__(self) -> float: ...

    def advance(self, seconds: float) -> float: ...


class VirtualTime:
    """Sleeps on ``clock`` (a manual clock), ended by :meth:`running`'s driver task."""

    def __init__(self, clock: Advancing) -> None:
        self.clock = clock
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        due = self.clock() + max(0.0, seconds)
        heapq.heappush(self._sleepers, (due, next(self._order), future))
        await future

    async def _drive(self) -> None:
        while True:
            for _ in range(IDLE_TURNS):
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():  # given up (cancelled)
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                continue
            due = self._sleepers[0][0]
            if due > self.clock():
                self.clock.advance(due - self.clock())
            while self._sleepers and self._sleepers[0][0] <= self.clock():
                future = heapq.heappop(self._sleepers)[2]
                if not future.done():
                    future.set_result(None)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[VirtualTime]:
        """Drive the sleeps while the block runs."""
        driver = asyncio.create_task(self._drive())
        try:
            yield self
        finally:
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
