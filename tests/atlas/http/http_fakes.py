"""Fakes for the HTTP layer's tests: scripted transports and time that never really passes.

A plain module (not conftest) so tests can import the classes by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from atlas.http import ErrorDetails, NextLink, RateLimitProfile, ResetFormat, Window

BASE_URL = "https://api.example.test"
# Made up, shaped like a real provider's token, so a leak is easy to spot.
CANARY = "dop_v1_" + "c0ffee" * 10 + "abcd"

#: The API the tests talk to: 250 requests a minute and 5,000 an hour, counted down in
#: ``ratelimit-remaining``, reset at the Unix time in ``ratelimit-reset``.
RATE_LIMITS = RateLimitProfile(
    windows=(Window(250, 60.0), Window(5000, 3600.0)),
    remaining_header="ratelimit-remaining",
    reset_header="ratelimit-reset",
    reset_format=ResetFormat.EPOCH,
)
#: Its lists: 200 to a page, the next page's URL at ``links.pages.next``.
PAGINATION = NextLink(("links", "pages", "next"), size_param="per_page", page_size=200)


def rate_limits(per_minute: int = 250, per_hour: int = 5000, **changes: Any) -> RateLimitProfile:
    """The test API's profile with other limits or settings."""
    windows = (Window(per_minute, 60.0), Window(per_hour, 3600.0))
    return attrs.evolve(RATE_LIMITS, windows=windows, **changes)


def read_error(response: httpx.Response, body: Mapping[str, Any] | None) -> ErrorDetails:
    """The test API's error bodies: ``{"id", "message", "request_id"}``."""
    del response
    fields = [(body or {}).get(key) for key in ("message", "id", "request_id")]
    message, code, request_id = (value if isinstance(value, str) else "" for value in fields)
    return ErrorDetails(message, code, request_id or None)


class FakeTime:
    """A monotonic clock, a wall clock and a sleep: sleeping moves the clocks on at once."""

    def __init__(self, start: float = 1_000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self.now = start
        self.wall_offset = wall_offset
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    async def sleep(self, seconds: float) -> None:
        # Yield first, so tasks already queued to run start at the time they were queued.
        self.sleeps.append(seconds)
        await asyncio.sleep(0)
        self.now += max(seconds, 0.0)


Outcome = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport answering from a list of outcomes, recording every request it saw.

    The last outcome repeats once the list runs out.
    """

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.outcomes)) - 1
        outcome = self.outcomes[index]
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, httpx.Response):
            return httpx.Response(
                outcome.status_code, headers=outcome.headers, content=outcome.content
            )
        return outcome(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


def json_response(status: int = 200, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json=body if body is not None else {}, headers=headers_of(headers)
    )


def headers_of(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}


class ManualTime:
    """Sleeps that last until the test calls ``advance``: lets requests pile up in a queue."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in list(self._sleepers):
            if entry[0] <= self.now:
                self._sleepers.remove(entry)
                if not entry[1].done():  # a cancelled sleeper is already gone
                    entry[1].set_result(None)
        await settle()


async def settle(rounds: int = 20) -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(rounds):
        await asyncio.sleep(0)
