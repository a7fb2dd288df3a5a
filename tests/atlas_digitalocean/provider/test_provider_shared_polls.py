"""Waits of several infrastructures on one account share each polling round: one droplet
list answers them all (without the tag filter, while the account's droplets fit in fewer
pages than one tagged list per infrastructure would cost). Against the emulator, in
virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from atlas.model.cloud import Owner
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, ManualClock
from atlas_digitalocean.ops.base import RECOUNT, OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import TOKEN, spec_of
from tests.virtual_time import VirtualTime


def droplet(name: str = "web", **specs: object) -> dict[str, object]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", **specs},
    }


@pytest.fixture
def time(clock: ManualClock) -> VirtualTime:
    return VirtualTime(clock)


@pytest.fixture
def lists() -> dict[float, list[httpx.URL]]:
    """The droplet list calls the provider makes, by when: the URLs of each round."""
    return {}


@pytest.fixture
async def shared(
    emulator: Emulator,
    clock: ManualClock,
    time: VirtualTime,
    lists: dict[float, list[httpx.URL]],
) -> AsyncIterator[DigitalOceanProvider]:
    """One provider (one token, one account) on virtual time, polling a second apart; its
    droplet lists noted in ``lists`` (the emulator's log keeps no query strings)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v2/droplets":
            lists.setdefault(clock(), []).append(request.url)
        return emulator.handle(request)

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=time.sleep)
    transport = httpx.MockTransport(handle)
    do = DigitalOceanProvider(TOKEN, transport=transport, settings=settings, env={})
    yield do
    await do.aclose()


def tagged(url: httpx.URL) -> bool:
    return "tag_name" in url.params


async def test_owners_waiting_on_droplets_share_one_list_a_round(
    shared: DigitalOceanProvider,
    emulator: Emulator,
    clock: ManualClock,
    time: VirtualTime,
    registry: ProviderRegistry,
    lists: dict[float, list[httpx.URL]],
) -> None:
    spec = spec_of(registry, droplet())
    owners = [Owner("default", f"shop-{i}") for i in range(5)]
    start = clock()
    made: dict[str, float] = {}
    ended: dict[str, float] = {}

    async def make_and_wait(owner: Owner, after: float) -> None:
        await time.sleep(after)
        state = await shared.create(StepContext(owner, spec, spec.resources[0], {}))
        made[owner.infrastructure] = clock() - start
        [ready] = await shared.wait(owner, [state], timeout=60)
        assert ready.status == "active"
        assert ready.ids == state.ids  # its own droplet, though the list shows them all
        ended[owner.infrastructure] = clock() - start

    async with time.running():
        await asyncio.gather(*(make_and_wait(o, float(i)) for i, o in enumerate(owners)))
    # Each droplet boots in 3 s and its wait ends then, not when the others' do.
    assert ended == pytest.approx({name: at + 3.0 for name, at in made.items()})
    # One list a round for all five, from a second after the first create to the last boot
    # (on their own: three rounds each, fifteen calls); untagged while several wait, tagged
    # when one does (in the round of 1 s, the droplet created then is not due until 2 s).
    assert [len(urls) for urls in lists.values()] == [1] * len(lists)
    assert {at - start: tagged(url) for at, [url] in lists.items()} == {
        1.0: True,
        **{float(t): False for t in range(2, 7)},
        7.0: True,
    }


async def test_an_account_of_many_droplets_keeps_one_tagged_list_per_owner(
    shared: DigitalOceanProvider,
    emulator: Emulator,
    clock: ManualClock,
    time: VirtualTime,
    registry: ProviderRegistry,
    lists: dict[float, list[httpx.URL]],
) -> None:
    # 401 droplets of someone else: the whole list is three pages of 200, dearer than the
    # two tagged lists of the two owners that wait.
    other = Owner("default", "big")
    big = spec_of(registry, droplet("fleet", count=401))
    async with time.running():
        fleet = await shared.create(StepContext(other, big, big.resources[0], {}))
        await shared.wait(other, [fleet], timeout=600)
        spec = spec_of(registry, droplet())
        owners = [Owner("default", f"shop-{i}") for i in range(2)]
        states = [await shared.create(StepContext(o, spec, spec.resources[0], {})) for o in owners]
        lists.clear()
        ready = await asyncio.gather(
            *(shared.wait(o, [s], timeout=60) for o, s in zip(owners, states, strict=True))
        )
    assert [r.status for [r] in ready] == ["active", "active"]
    rounds = list(lists.values())
    assert len(rounds) >= 3
    # The whole list once (three pages: that is how its length is learnt), then one tagged
    # list per owner.
    assert [tagged(url) for url in rounds[0]] == [False] * 3
    assert all([tagged(url) for url in urls] == [True, True] for urls in rounds[1:])


async def test_the_whole_list_is_tried_again_once_the_account_has_shrunk(
    shared: DigitalOceanProvider,
    time: VirtualTime,
    registry: ProviderRegistry,
    lists: dict[float, list[httpx.URL]],
) -> None:
    other = Owner("default", "big")
    big = spec_of(registry, droplet("fleet", count=401))
    spec = spec_of(registry, droplet())
    owners = [Owner("default", f"shop-{i}") for i in range(2)]
    handler = await shared.handler("droplet")

    async def one_round() -> list[bool]:
        """Which calls of one round for both owners were tagged."""
        lists.clear()
        await handler.poll_owners(dict(zip(owners, [[s] for s in states], strict=True)))
        return [tagged(url) for urls in lists.values() for url in urls]

    async with time.running():
        fleet = await shared.create(StepContext(other, big, big.resources[0], {}))
        states = [await shared.create(StepContext(o, spec, spec.resources[0], {})) for o in owners]
        assert await one_round() == [False] * 3  # three pages of the whole list
        await shared.delete(other, fleet)  # the account shrinks to two droplets
        tagged_rounds = [await one_round() for _ in range(RECOUNT)]
        assert tagged_rounds == [[True, True]] * RECOUNT
        assert await one_round() == [False]  # tried again: one page, so kept
        assert await one_round() == [False]
