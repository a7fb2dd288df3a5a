"""Providers whose API keeps failing: marked degraded, refused new operations, recovered alone.

The service hears every attempt of every cloud call its requests and operations make
(:func:`atlas.http.observe_calls`). A provider is **degraded** once ``degrade_after`` attempts
in a row failed the way an unwell cloud fails (no answer: refused, dropped, timed out; or a
5xx that is not throttling) and all of them fell within ``degrade_window`` seconds. A 4xx is
the API working, and a 429 the API asking for patience: neither counts, neither clears.

While degraded, new operations for the provider are refused (503 ``PROVIDER_DEGRADED``, with
``Retry-After``) instead of being started to fail halfway; operations already running carry on.
``degrade_cooldown`` seconds after the last failure one operation is let through (half-open)
to try the API. The first call that succeeds, that operation's or any other's, clears the mark;
a failure sends it back to waiting out the cooldown.

What health and the refusal say is the provider, since when, and the class of the last error
(``ServerError``, ``ConnectError``): never an error's message, which could carry what the
cloud echoed back. Time comes from the injected clocks: the monotonic ``timer`` for windows
and cooldowns, the wall ``clock`` for "since".
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable

import attrs

from atlas.http import ApiCall, ApiEvent
from atlas.model.records import utcnow
from atlas.server.errors import ApiError
from atlas.server.responses import iso

__all__ = ["Degraded", "ProviderHealth"]

logger = logging.getLogger("atlas.server")


@attrs.frozen
class Degraded:
    """One degraded provider, as health shows it."""

    provider: str
    since: dt.datetime
    last_error: str
    #: Seconds until an operation may try it again (0: one may now).
    retry_after: int


@attrs.define
class _Tracked:
    streak: int = 0
    streak_began: float = 0.0
    last_error: str = ""
    since: dt.datetime | None = None
    retry_at: float = 0.0
    #: The probe let through while half-open, if one is out (its number).
    probe: int | None = None


class ProviderHealth:
    """See the module docstring."""

    def __init__(
        self,
        *,
        after: int,
        window: float,
        cooldown: float,
        timer: Callable[[], float] = time.monotonic,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._after, self._window, self._cooldown = after, window, cooldown
        self._timer, self._clock = timer, clock
        self._tracked: dict[str, _Tracked] = {}
        self._probes = 0

    def observe(self, event: ApiEvent) -> None:
        """Learn from one attempt (waits teach nothing)."""
        if not isinstance(event, ApiCall) or event.throttled:
            return
        if not event.failed:  # the API answered: whatever streak there was is over
            tracked = self._tracked.pop(event.provider, None)
            if tracked is not None and tracked.since is not None:
                logger.warning("provider %s answers again: no longer degraded", event.provider)
            return
        tracked = self._tracked.setdefault(event.provider, _Tracked())
        now = self._timer()
        tracked.last_error = event.error or "Error"
        if tracked.since is not None:  # still failing: wait out another cooldown
            tracked.retry_at = now + self._cooldown
            tracked.probe = None
            return
        if tracked.streak == 0 or now - tracked.streak_began > self._window:
            tracked.streak, tracked.streak_began = 0, now
        tracked.streak += 1
        if tracked.streak >= self._after:
            tracked.since = self._clock()
            tracked.retry_at = now + self._cooldown
            logger.warning(
                "provider %s is degraded: %d calls in a row failed within %gs (last: %s); "
                "new operations for it are refused for %gs, then one tries it",
                event.provider,
                tracked.streak,
                self._window,
                tracked.last_error,
                self._cooldown,
            )

    def admit(self, provider: str) -> int | None:
        """Let a new operation for ``provider`` start, or refuse it (:class:`ApiError` 503
        ``PROVIDER_DEGRADED``). The number of the probe when it is let through to try a
        degraded provider (hand it to :meth:`probe_ended` when the operation ends)."""
        tracked = self._tracked.get(provider)
        if tracked is None or tracked.since is None:
            return None
        wait = tracked.retry_at - self._timer()
        if wait <= 0 and tracked.probe is None:
            self._probes += 1
            tracked.probe = self._probes
            logger.info("provider %s is degraded: letting one operation try it", provider)
            return tracked.probe
        seconds = max(1, math.ceil(wait if wait > 0 else self._cooldown))
        since = iso(tracked.since)
        raise ApiError(
            503,
            "PROVIDER_DEGRADED",
            f"provider {provider} is degraded since {since}: its API failed "
            f"{self._after} times in a row (last: {tracked.last_error}); new operations for it "
            f"are refused until it answers again; retry after {seconds}s",
            headers={"Retry-After": str(seconds)},
            extra={
                "provider": provider,
                "degraded_since": since,
                "last_error": tracked.last_error,
                "retry_after": seconds,
            },
        )

    def probe_ended(self, provider: str, probe: int) -> None:
        """The operation let through as ``probe`` is over: another may try, if need be."""
        tracked = self._tracked.get(provider)
        if tracked is not None and tracked.probe == probe:
            tracked.probe = None

    def degraded(self) -> list[Degraded]:
        """The degraded providers, by name."""
        now = self._timer()
        return [
            Degraded(name, t.since, t.last_error, max(0, math.ceil(t.retry_at - now)))
            for name, t in sorted(self._tracked.items())
            if t.since is not None
        ]
