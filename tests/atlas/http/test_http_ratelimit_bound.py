"""The in-process limiter's promise, tried on many random loads: whatever the arrivals, the
priorities and how long each request takes, no sliding window of the profile can have held
more than its limit at the server (which counts a request somewhere between send and answer).

This is the bound the 20-stacks benchmark once broke (262 in its busiest minute against 250),
when requests were counted from their send: one the server saw late fell into the next
minute's burst.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.http import Priority, RateLimiter, RateLimitProfile, Window
from tests.virtual_time import VirtualTime

PROFILE = RateLimitProfile(windows=(Window(6, 10.0), Window(15, 60.0)))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def worst_window(slots: Sequence[tuple[float, float]], span: float) -> int:
    """The most requests whose ``[send, end]`` meets one window of ``span`` (the worst
    windows end at a send)."""
    return max((sum(1 for s, e in slots if s <= t and e > t - span) for t, _ in slots), default=0)


async def run(load: Sequence[tuple[float, float, bool]]) -> list[tuple[float, float]]:
    clock = Clock()
    time = VirtualTime(clock)
    limiter = RateLimiter(PROFILE, clock=clock, sleep=time.sleep, wall_clock=clock)
    slots: list[tuple[float, float]] = []

    async def one(after: float, lasts: float, change: bool) -> None:
        await time.sleep(after)
        permit = await limiter.acquire(Priority.CHANGE if change else Priority.POLL)
        sent = clock()
        await time.sleep(lasts)
        limiter.release(permit)
        slots.append((sent, clock()))

    async with time.running():
        await asyncio.gather(*(one(*request) for request in load))
    return slots


@settings(max_examples=40, deadline=None)
@given(
    load=st.lists(
        st.tuples(st.floats(0.0, 120.0), st.floats(0.0, 15.0), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_no_sliding_window_holds_more_than_the_limit(load: list[tuple[float, float, bool]]) -> None:
    slots = asyncio.run(run(load))
    assert len(slots) == len(load)
    for window in PROFILE.windows:
        assert worst_window(slots, window.seconds) <= window.limit, window
