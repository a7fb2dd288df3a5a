"""HandlerProvider.wait: concurrent waits of one owner's kind share their polling rounds (one
list call per round for all of them), and each returns the round its own resources are
ready, not when the others are. On the memory cloud, in virtual time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from atlas.exceptions import WaitTimeoutError
from atlas.model.cloud import Owner
from atlas.providers import StepContext, Timing
from atlas.spec.validate import validate_spec
from atlas.testing import memory
from atlas.testing.memory import Latencies, ManualClock, MemoryCloud, MemoryProvider
from tests.virtual_time import VirtualTime

TOKEN = "mem_" + "cd34" * 8  # made up
OWNER = Owner("ws", "demo")
SPEC: dict[str, Any] = {
    "name": "demo",
    "provider": "memory",
    "region": "mem-1",
    "resources": [
        {"type": "server", "name": name, "specifications": {"size": "small", "image": "x"}}
        for name in ("first", "second", "third")
    ]
    + [{"type": "disk", "name": "spare", "specifications": {"size_gb": 10}}],
}


def provider_on(cloud: MemoryCloud, clock: ManualClock, time: VirtualTime) -> MemoryProvider:
    """Polls a second apart, in virtual time."""
    timing = Timing(poll_interval=1.0, clock=clock, sleep=time.sleep)
    return MemoryProvider(cloud, token=TOKEN, timing=timing)


async def test_waits_of_a_kind_share_rounds_and_each_ends_when_its_own_are_ready() -> None:
    clock = ManualClock()
    cloud = MemoryCloud(
        clock=clock,
        tokens=[TOKEN],
        latencies=Latencies(create={"server": 5.0, "disk": 3.0}, list_lag=0.0),
    )
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    ended: dict[str, float] = {}

    async def make_and_wait(name: str, after: float) -> None:
        await time.sleep(after)
        state = await provider.create(StepContext(OWNER, spec, spec.resource(name)))
        [ready] = await provider.wait(OWNER, [state], timeout=60)
        assert ready.status == "active"
        ended[name] = clock()

    async with time.running():
        # Servers made at 0, 2 and 2 s, ready at 5, 7 and 7 s; a disk made at 0, ready at 3.
        await asyncio.gather(
            make_and_wait("first", 0.0),
            make_and_wait("second", 2.0),
            make_and_wait("third", 2.0),
            make_and_wait("spare", 0.0),
        )
    assert ended == {"first": 5.0, "second": 7.0, "third": 7.0, "spare": 3.0}
    # One list of servers a round, at 1, 2, ..., 7 s (none at 0 s: right after a create the
    # cloud would only repeat its answer), whatever the number of waits (each on its own
    # rounds: 5 + 5 + 5); the disk's rounds (1-3 s) are its kind's own.
    assert cloud.calls.count("list server") == 7
    assert cloud.calls.count("list disk") == 3


async def test_a_wait_that_just_missed_a_round_moves_the_next_one() -> None:
    clock = ManualClock()
    latencies = Latencies(create={"server": 5.0}, list_lag=0.0)
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=latencies)
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    ended: dict[str, float] = {}

    async def make_and_wait(name: str, after: float) -> None:
        await time.sleep(after)
        state = await provider.create(StepContext(OWNER, spec, spec.resource(name)))
        await provider.wait(OWNER, [state], timeout=60)
        ended[name] = clock()

    async with time.running():
        # "second" is made 0.2 s after the round of 0 s: the rounds move to 1.2 s, 2.2 s...,
        # so it is seen the moment it is ready (5.2 s), not a round later (6 s); "first",
        # ready at 5 s, is seen 0.2 s late, never more than half an interval.
        await asyncio.gather(make_and_wait("first", 0.0), make_and_wait("second", 0.2))
    assert ended == pytest.approx({"first": 5.2, "second": 5.2})


async def test_a_wait_that_times_out_leaves_the_others_of_its_kind_waiting() -> None:
    clock = ManualClock()
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=Latencies(list_lag=0.0))
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    first, second = [
        await provider.create(StepContext(OWNER, spec, spec.resource(n)))
        for n in ("first", "second")
    ]
    async with time.running():
        short = provider.wait(OWNER, [first], timeout=2.0)
        long = provider.wait(OWNER, [second], timeout=60.0)
        timed_out, waited = await asyncio.gather(short, long, return_exceptions=True)
    assert isinstance(timed_out, WaitTimeoutError)
    assert "not ready after 2s: first" in str(timed_out)
    assert isinstance(waited, list)
    assert [s.status for s in waited] == ["active"]


async def test_a_wait_given_up_stops_its_rounds() -> None:
    clock = ManualClock()
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=Latencies(list_lag=0.0))
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    state = await provider.create(StepContext(OWNER, spec, spec.resource("first")))
    async with time.running():
        waiting = asyncio.create_task(provider.wait(OWNER, [state], timeout=60.0))
        await time.sleep(1.5)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        polls = cloud.calls.count("list server")
        await time.sleep(10.0)
    assert polls == 1  # at 1 s, a poll interval after the create
    assert cloud.calls.count("list server") == polls  # nobody waits: no more rounds


async def test_waits_of_several_owners_share_one_list_a_round() -> None:
    # One provider instance is one account: the infrastructures applied through it at once
    # share the rounds of a kind, one search of the whole kind answering them all.
    clock = ManualClock()
    cloud = MemoryCloud(
        clock=clock, tokens=[TOKEN], latencies=Latencies(create={"server": 5.0}, list_lag=0.0)
    )
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    owners = [Owner("ws", f"demo-{i}") for i in range(5)]
    ended: dict[str, float] = {}

    async def make_and_wait(owner: Owner, after: float) -> None:
        await time.sleep(after)
        state = await provider.create(StepContext(owner, spec, spec.resource("first")))
        [ready] = await provider.wait(owner, [state], timeout=60)
        assert ready.status == "active"
        assert ready.ids == state.ids  # its own server, not another owner's
        ended[owner.infrastructure] = clock()

    async with time.running():
        # Made at 0, 1, 2, 3 and 4 s: each ready 5 s later, and seen then.
        await asyncio.gather(*(make_and_wait(o, float(i)) for i, o in enumerate(owners)))
    assert ended == {f"demo-{i}": 5.0 + i for i in range(5)}
    # Rounds at 1, 2, ..., 9 s: one list each for all five (on their own: 5 rounds each).
    assert cloud.calls.count("list server") == 9


async def test_a_lone_owner_keeps_its_own_filtered_poll() -> None:
    # One owner waiting polls by its mark as before (a shorter list at a real cloud); the
    # whole kind is searched only when several owners wait at once.
    clock = ManualClock()
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=Latencies(list_lag=0.0))
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    handler = await provider.handler("server")
    several = 0
    real = handler.poll_owners

    async def counted(wanted: Any) -> Any:
        nonlocal several
        several += 1
        return await real(wanted)

    handler.poll_owners = counted  # type: ignore[method-assign]
    state = await provider.create(StepContext(OWNER, spec, spec.resource("first")))
    async with time.running():
        [ready] = await provider.wait(OWNER, [state], timeout=60)
    assert ready.status == "active"
    assert several == 0
    assert cloud.calls.count("list server") >= 1


def polls_of(provider: MemoryProvider, handler: Any, clock: ManualClock) -> list[tuple[float, str]]:
    """Each server poll from now on, as (when, names polled), into the list returned."""
    seen: list[tuple[float, str]] = []
    real = handler.poll

    async def recorded(owner: Owner, states: Any) -> Any:
        seen.append((clock(), " ".join(sorted(s.name for s in states))))
        return await real(owner, states)

    handler.poll = recorded
    return seen


async def test_a_wait_right_after_a_create_polls_first_an_interval_later() -> None:
    clock = ManualClock()
    latencies = Latencies(create={"server": 2.5}, list_lag=0.0)
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=latencies)
    time = VirtualTime(clock)
    provider = provider_on(cloud, clock, time)
    spec = validate_spec(SPEC, registry=memory.registry())
    polls = polls_of(provider, await provider.handler("server"), clock)
    async with time.running():
        await time.sleep(0.3)
        state = await provider.create(StepContext(OWNER, spec, spec.resource("first")))
        [ready] = await provider.wait(OWNER, [state], timeout=60)
    assert ready.status == "active"
    # Made at 0.3 s, ready at 2.8 s: polled at 1.3, 2.3 and 3.3 s, never at 0.3 s.
    assert [when for when, _ in polls] == pytest.approx([1.3, 2.3, 3.3])


async def test_a_wait_on_a_resumed_state_polls_at_once() -> None:
    # A resume: the state was created by another provider instance (a process that crashed),
    # so nothing says the cloud's answer would be stale; and a wait long after a create.
    clock = ManualClock()
    latencies = Latencies(create={"server": 2.5}, list_lag=0.0)
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=latencies)
    time = VirtualTime(clock)
    spec = validate_spec(SPEC, registry=memory.registry())
    crashed = provider_on(cloud, clock, time)
    state = await crashed.create(StepContext(OWNER, spec, spec.resource("first")))
    other = await crashed.create(StepContext(OWNER, spec, spec.resource("second")))
    resumed = provider_on(cloud, clock, time)
    polls = polls_of(resumed, await resumed.handler("server"), clock)
    later = polls_of(crashed, await crashed.handler("server"), clock)
    async with time.running():
        await time.sleep(0.25)
        [ready] = await resumed.wait(OWNER, [state], timeout=60)
        assert ready.status == "active"
        await time.sleep(0.2)  # 3.45 s: long after the create of "second"
        [also] = await crashed.wait(OWNER, [other], timeout=60)
    assert also.status == "active"
    assert [when for when, _ in polls] == pytest.approx([0.25, 1.25, 2.25, 3.25])
    assert [when for when, _ in later] == pytest.approx([3.45])


async def test_a_create_does_not_put_off_the_rounds_of_other_waits() -> None:
    # A resumed wait polls at 0, 1, 2... s; a server created at 0.7 s is first due at 1.7 s,
    # too late to move the round of 1 s and too early for it: it joins the round of 2 s,
    # and the rounds stay where they were.
    clock = ManualClock()
    latencies = Latencies(create={"server": 5.0}, list_lag=0.0)
    cloud = MemoryCloud(clock=clock, tokens=[TOKEN], latencies=latencies)
    time = VirtualTime(clock)
    spec = validate_spec(SPEC, registry=memory.registry())
    earlier = await provider_on(cloud, clock, time).create(
        StepContext(OWNER, spec, spec.resource("first"))
    )
    provider = provider_on(cloud, clock, time)
    polls = polls_of(provider, await provider.handler("server"), clock)

    async def make_and_wait() -> None:
        await time.sleep(0.7)
        state = await provider.create(StepContext(OWNER, spec, spec.resource("second")))
        await provider.wait(OWNER, [state], timeout=60)

    async with time.running():
        await asyncio.gather(provider.wait(OWNER, [earlier], timeout=60), make_and_wait())
    assert polls[:3] == [(0.0, "first"), (1.0, "first"), (2.0, "first second")]
    assert [when for when, _ in polls] == pytest.approx([float(t) for t in range(7)])
