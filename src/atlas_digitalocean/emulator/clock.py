"""A clock a test moves by hand, to drive the emulator's transitions without sleeping."""

from __future__ import annotations

import threading


class ManualClock:
    """Seconds since the epoch that only change when :meth:`advance` or :meth:`set` says so.

    Pass it as ``Emulator(clock=clock)``; every transition due by the new time is applied on
    the next request.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            if now < self._now:
                raise ValueError("time only moves forward")
            self._now = now
