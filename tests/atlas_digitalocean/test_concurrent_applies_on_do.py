"""Applies started together by one AsyncAtlas (one token, one account) read the account's
facts once between them: the price list, the account's limits, the droplet count, whether the
region has its default VPC; and one of them makes that default. Against the emulator, in
virtual time."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import yaml

from atlas import CapacityError, Owner
from atlas.facade import AsyncAtlas
from atlas.providers import ProviderRegistry, StepContext
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DROPLET_COUNT_FOR, DigitalOceanProvider
from tests.conftest import EXAMPLES
from tests.virtual_time import VirtualTime

TOKEN = "dop_v1_" + "c0b1" * 16  # made up
COPIES = 4


def stack_copy(index: int) -> dict[str, Any]:
    """examples/stack.yaml under its own name, with a VPC range of its own."""
    doc: dict[str, Any] = copy.deepcopy(yaml.safe_load((EXAMPLES / "stack.yaml").read_text()))
    doc["name"] = f"shop-{index}"
    for res in doc["resources"]:
        if res["type"] == "vpc":
            res["specifications"]["ip_range"] = f"10.{30 + index}.0.0/20"
    return doc


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def time(clock: ManualClock) -> VirtualTime:
    return VirtualTime(clock)


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    """A fresh account: no default VPC in any region yet."""
    return Emulator(EmulatorConfig(latency_scale=1.0, seed=11, droplet_limit=50), clock=clock)


@pytest.fixture
def calls() -> Counter[str]:
    """Every request, as ``METHOD path`` plus ``?per_page=1`` for the droplet count."""
    return Counter()


@pytest.fixture
def provider(
    emulator: Emulator, time: VirtualTime, clock: ManualClock, calls: Counter[str]
) -> DigitalOceanProvider:
    def handle(request: httpx.Request) -> httpx.Response:
        count = request.url.params.get("per_page") == "1"
        calls[f"{request.method} {request.url.path}{'?per_page=1' * count}"] += 1
        return emulator.handle(request)

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=time.sleep)
    transport = httpx.MockTransport(handle)
    return DigitalOceanProvider(TOKEN, transport=transport, settings=settings, env={})


@pytest.fixture
async def atlas_(
    provider: DigitalOceanProvider, registry: ProviderRegistry
) -> AsyncIterator[AsyncAtlas]:
    store, providers = SQLiteStore(":memory:"), {"digitalocean": provider}
    async with AsyncAtlas(store=store, registry=registry, providers=providers) as a:
        yield a


async def test_applies_started_together_read_the_account_once(
    atlas_: AsyncAtlas, emulator: Emulator, time: VirtualTime, calls: Counter[str]
) -> None:
    specs = [stack_copy(i) for i in range(COPIES)]
    async with time.running():
        ops = await asyncio.gather(*(atlas_.apply(s) for s in specs))
    assert [op.status for op in ops] == ["completed"] * COPIES, [op.error for op in ops]
    # Once for all of them, not once per apply:
    assert calls["GET /v2/sizes"] == 1  # the live prices each plan is costed with
    assert calls["GET /v2/account"] == 1  # the droplet limit
    assert calls["GET /v2/droplets?per_page=1"] == 1  # the droplet count
    # One list says fra1 has no default; one apply makes it (and looks first), the others
    # wait for it: one POST for the default, one per stack VPC.
    assert calls["GET /v2/vpcs"] == 2
    assert calls["POST /v2/vpcs"] == 1 + COPIES
    vpcs = {v["name"]: v["default"] for v in emulator.objects("vpcs")}
    assert vpcs.pop("default-fra1") is True
    assert sorted(vpcs.values()) == [False] * COPIES  # every stack VPC stays deletable
    steps = [s for op in ops for s in atlas_.store.steps(op.id) if s.action == "prepare"]
    assert [s.status for s in steps] == ["done"] * COPIES

    # A later apply in the same region knows fra1 has its default: no step, no list.
    async with time.running():
        later = await atlas_.apply(stack_copy(COPIES))
    assert later.status == "completed", later.error
    assert not any(s.action == "prepare" for s in atlas_.store.steps(later.id))
    assert calls["GET /v2/vpcs"] == 2


async def test_capacity_checks_made_together_are_held_to_the_limit_together(
    provider: DigitalOceanProvider, clock: ManualClock, calls: Counter[str]
) -> None:
    """Limit 50: twelve checks of 4 droplets pass on one count (48), the thirteenth is
    refused though the account has none yet (each alone would have passed)."""
    owners = [Owner("default", f"shop-{i}") for i in range(13)]
    outcomes = await asyncio.gather(
        *(provider.check_capacity(o, {"droplet": 4}) for o in owners), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, CapacityError)]
    assert len(refused) == 1
    assert "would take the account past its droplet limit of 50" in str(refused[0])
    assert calls["GET /v2/droplets?per_page=1"] == 1
    # The count is read again once it is old, and starts from what the account has.
    clock.advance(DROPLET_COUNT_FOR)
    await provider.check_capacity(owners[0], {"droplet": 50})
    assert calls["GET /v2/droplets?per_page=1"] == 2
    await provider.aclose()


async def test_a_delete_of_droplets_has_the_next_check_count_again(
    provider: DigitalOceanProvider,
    registry: ProviderRegistry,
    clock: ManualClock,
    time: VirtualTime,
    calls: Counter[str],
) -> None:
    """The count kept would still hold droplets just deleted: the next check counts again,
    though the count is younger than its 10 s."""
    owner = Owner("default", "shop")
    droplet = {"size": "s-1vcpu-1gb", "image": "debian-12-x64", "count": 2}
    spec = validate_spec(
        {
            "name": "shop",
            "provider": "digitalocean",
            "region": "fra1",
            "resources": [{"type": "droplet", "name": "web", "specifications": droplet}],
        },
        registry=registry,
    )
    start = clock()
    async with time.running():
        await provider.check_capacity(owner, {"droplet": 2})
        state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
        await provider.check_capacity(owner, {"droplet": 2})
        assert calls["GET /v2/droplets?per_page=1"] == 1  # one count, with 2 + 2 reserved
        await provider.delete(owner, state)
        await provider.check_capacity(owner, {"droplet": 50})
    assert clock() - start < DROPLET_COUNT_FOR
    assert calls["GET /v2/droplets?per_page=1"] == 2
    await provider.aclose()
