"""DigitalOcean's per-token rate limits: 250 requests a sliding minute, 5,000 a sliding hour.

Each request has its own timer, so ``ratelimit-reset`` is when the oldest request in the
hour leaves the window, not the top of some fixed hour.
"""

from __future__ import annotations

import math
from collections import deque

import attrs

from atlas_digitalocean.emulator.config import RateLimits

_MINUTE = 60.0
_HOUR = 3600.0


@attrs.frozen
class Verdict:
    """Whether a request may proceed, and the numbers for the ``ratelimit-*`` headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    # Only burst (per-minute) refusals carry retry-after, as on DigitalOcean.
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset),
        }


@attrs.define
class _Window:
    minute: deque[float] = attrs.field(factory=deque)
    hour: deque[float] = attrs.field(factory=deque)

    def prune(self, now: float) -> None:
        while self.minute and self.minute[0] <= now - _MINUTE:
            self.minute.popleft()
        while self.hour and self.hour[0] <= now - _HOUR:
            self.hour.popleft()


class RateLimiter:
    def __init__(self, limits: RateLimits) -> None:
        self._limits = limits
        self._windows: dict[str, _Window] = {}

    def hit(self, token: str, now: float) -> Verdict:
        """Count one request for ``token`` if the limits allow it; refusals are not counted."""
        if not self._limits.enabled:
            # Unlimited: report a full quota so a client-side scheduler never holds back.
            return Verdict(True, self._limits.per_hour, self._limits.per_hour, math.ceil(now))
        window = self._windows.setdefault(token, _Window())
        window.prune(now)
        if len(window.hour) >= self._limits.per_hour:
            return self._verdict(window, now, allowed=False)
        if len(window.minute) >= self._limits.per_minute:
            retry = max(1, math.ceil(window.minute[0] + _MINUTE - now))
            return attrs.evolve(self._verdict(window, now, allowed=False), retry_after=retry)
        window.minute.append(now)
        window.hour.append(now)
        return self._verdict(window, now, allowed=True)

    def peek(self, token: str, now: float) -> Verdict:
        """The current numbers for ``token`` without counting a request."""
        window = self._windows.get(token)
        if window is None or not self._limits.enabled:
            return Verdict(True, self._limits.per_hour, self._limits.per_hour, math.ceil(now))
        window.prune(now)
        return self._verdict(window, now, allowed=True)

    def _verdict(self, window: _Window, now: float, *, allowed: bool) -> Verdict:
        return Verdict(
            allowed=allowed,
            limit=self._limits.per_hour,
            remaining=max(0, self._limits.per_hour - len(window.hour)),
            reset=math.ceil(window.hour[0] + _HOUR) if window.hour else math.ceil(now),
        )
