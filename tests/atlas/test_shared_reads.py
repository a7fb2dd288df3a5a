"""SharedReads: one fetch per fact at a time, kept a while, failures never kept; no real
sleeping (a manual clock, and futures the tests resolve themselves)."""

from __future__ import annotations

import asyncio

import pytest

from atlas.providers import SharedReads


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A fetch the test answers: each call waits until :meth:`answer` or :meth:`fail`."""

    def __init__(self) -> None:
        self.calls = 0
        self._pending: list[asyncio.Future[str]] = []

    async def fetch(self) -> str:
        self.calls += 1
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append(future)
        return await future

    async def answer(self, value: str) -> None:
        await _settle()
        self._pending.pop(0).set_result(value)
        await _settle()

    async def fail(self, exc: Exception) -> None:
        await _settle()
        self._pending.pop(0).set_exception(exc)
        await _settle()


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_asks_while_a_fetch_is_in_flight_share_it(clock: Clock) -> None:
    reads, source = SharedReads(clock), Source()
    asks = [asyncio.create_task(reads.get("sizes", source.fetch, ttl=60)) for _ in range(5)]
    await source.answer("prices")
    assert [await a for a in asks] == ["prices"] * 5
    assert source.calls == 1


async def test_an_answer_is_kept_for_its_ttl_then_fetched_again(clock: Clock) -> None:
    reads, source = SharedReads(clock), Source()
    first = asyncio.create_task(reads.get("sizes", source.fetch, ttl=60))
    await source.answer("old")
    assert await first == "old"
    clock.now += 59.9
    assert await reads.get("sizes", source.fetch, ttl=60) == "old"
    assert source.calls == 1
    clock.now += 0.1
    later = asyncio.create_task(reads.get("sizes", source.fetch, ttl=60))
    await source.answer("new")
    assert await later == "new"
    assert source.calls == 2


async def test_a_ttl_of_zero_shares_only_the_fetch_in_flight(clock: Clock) -> None:
    reads, source = SharedReads(clock), Source()
    both = [asyncio.create_task(reads.get("vpc", source.fetch, ttl=0)) for _ in range(2)]
    await source.answer("made")
    assert [await b for b in both] == ["made", "made"]
    again = asyncio.create_task(reads.get("vpc", source.fetch, ttl=0))
    await source.answer("looked again")
    assert await again == "looked again"
    assert source.calls == 2


async def test_a_failure_reaches_every_asker_of_its_fetch_and_is_not_kept(clock: Clock) -> None:
    reads, source = SharedReads(clock), Source()
    asks = [asyncio.create_task(reads.get("account", source.fetch, ttl=60)) for _ in range(3)]
    await source.fail(RuntimeError("503"))
    for ask in asks:
        with pytest.raises(RuntimeError, match="503"):
            await ask
    retry = asyncio.create_task(reads.get("account", source.fetch, ttl=60))
    await source.answer("limits")
    assert await retry == "limits"
    assert source.calls == 2


async def test_one_asker_cancelled_leaves_the_fetch_to_the_others(clock: Clock) -> None:
    reads, source = SharedReads(clock), Source()
    gives_up = asyncio.create_task(reads.get("sizes", source.fetch, ttl=60))
    waits = asyncio.create_task(reads.get("sizes", source.fetch, ttl=60))
    await _settle()
    gives_up.cancel()
    await source.answer("prices")
    assert await waits == "prices"
    assert gives_up.cancelled()
    assert await reads.get("sizes", source.fetch, ttl=60) == "prices"  # kept, too
    assert source.calls == 1


async def test_keys_are_separate_and_forget_drops_an_answer(clock: Clock) -> None:
    reads, sizes, vpcs = SharedReads(clock), Source(), Source()
    a = asyncio.create_task(reads.get("sizes", sizes.fetch, ttl=60))
    b = asyncio.create_task(reads.get("vpcs", vpcs.fetch, ttl=60))
    await sizes.answer("prices")
    await vpcs.answer("no default")
    assert (await a, await b) == ("prices", "no default")
    reads.forget("vpcs")
    again = asyncio.create_task(reads.get("vpcs", vpcs.fetch, ttl=60))
    await vpcs.answer("a default")
    assert await again == "a default"
    assert await reads.get("sizes", sizes.fetch, ttl=60) == "prices"
    assert (sizes.calls, vpcs.calls) == (1, 2)
