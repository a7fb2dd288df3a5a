"""Time for the memory cloud: a clock a test moves by hand, or the real one."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "RealClock"]


class Clock(Protocol):
    """Seconds on some monotonic scale, and a way to wait on that scale."""

    def __call__(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class ManualClock:
    """A clock that moves only when told: :meth:`advance`, or :meth:`sleep` (which advances
    by the time slept and yields once, so a provider that waits makes time pass at once).

    Shared by the cloud (for its transitions) and the provider (for its polls and retries),
    a whole lifecycle runs in no real time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds``; the new time."""
        if seconds < 0:
            raise ValueError(f"time only moves forward; got {seconds}")
        self._now += seconds
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now:g})"


class RealClock:
    """The real monotonic clock (for a memory cloud that plays a cloud in real time)."""

    def __call__(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
