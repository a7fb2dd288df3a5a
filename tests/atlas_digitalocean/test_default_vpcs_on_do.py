"""Default VPCs through the whole lifecycle on the emulator: a fresh region gets DigitalOcean's
own ``default-<region>`` before the stack's VPC, a used region needs nothing, and a stack VPC
that is its region's default (recorded by an earlier atlas) is handed over or kept while the
rest of the destroy completes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import yaml

from atlas.cli.render import render_plan
from atlas.facade import AsyncAtlas
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import AccountStep, ProviderRegistry
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.conftest import EXAMPLES

TOKEN = "dop_v1_" + "d3fa" * 16  # made up
BILLABLE = ("droplets", "volumes", "databases", "load_balancers", "firewalls")


class EarlierProvider(DigitalOceanProvider):
    """The provider as atlas was before account steps: it never asks for one."""

    async def account_steps(
        self, spec: InfrastructureSpec, creates: Sequence[ResourceSpec]
    ) -> list[AccountStep]:
        del spec, creates
        return []


def stack() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / "stack.yaml").read_text())
    return doc


def vpcs(emulator: Emulator) -> dict[str, bool]:
    """Every VPC left, by name: whether it is its region's default."""
    return {v["name"]: v["default"] for v in emulator.objects("vpcs")}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def provider_on(
    emulator: Emulator, clock: ManualClock, cls: type[DigitalOceanProvider] = DigitalOceanProvider
) -> DigitalOceanProvider:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep)
    return cls(TOKEN, transport=emulator.transport(), env={}, settings=settings)


def on(
    emulator: Emulator,
    clock: ManualClock,
    registry: ProviderRegistry,
    cls: type[DigitalOceanProvider] = DigitalOceanProvider,
    store: SQLiteStore | None = None,
) -> AsyncAtlas:
    return AsyncAtlas(
        store=store or SQLiteStore(":memory:"),
        registry=registry,
        providers={"digitalocean": provider_on(emulator, clock, cls)},
    )


@pytest.fixture
def fresh(clock: ManualClock) -> Emulator:
    """An account that has never used any region (the emulator's default)."""
    return Emulator(EmulatorConfig(latency_scale=1.0, seed=5), clock=clock)


@pytest.fixture
async def atlas_(
    fresh: Emulator, clock: ManualClock, registry: ProviderRegistry
) -> AsyncIterator[AsyncAtlas]:
    async with on(fresh, clock, registry) as a:
        yield a


async def test_a_fresh_region_gets_its_own_default_first(
    atlas_: AsyncAtlas, fresh: Emulator
) -> None:
    assert (await atlas_.plan(stack())).account == ()  # without refresh, the cloud is not read
    plan = await atlas_.plan(stack(), refresh=True)
    [step] = plan.account
    assert (step.type, step.name, step.region) == ("vpc", "default-fra1", "fra1")
    assert "account: create vpc default-fra1 in fra1 \u2014 fra1 has no default VPC" in (
        render_plan(plan)
    )
    assert vpcs(fresh) == {}  # planning made nothing

    op = await atlas_.apply(stack())
    assert op.status == "completed", op.error
    first = atlas_.store.steps(op.id)[0]
    assert (first.action, first.resource, first.status) == ("prepare", "default-fra1", "done")
    assert op.total_steps == 8
    net = next(r for r in atlas_.get("shop").resources if r.name == "net")
    # default-fra1 came first, so the stack's VPC is an ordinary, deletable one.
    assert vpcs(fresh) == {"default-fra1": True, net.objects[0].name: False}
    assert (await atlas_.plan(stack(), refresh=True)).empty

    gone = await atlas_.destroy("shop")
    assert gone.status == "completed", gone.error
    assert not any(s.note for s in atlas_.store.steps(gone.id))
    assert vpcs(fresh) == {"default-fra1": True}
    assert fresh.is_empty()


async def test_a_used_region_needs_no_account_step(
    clock: ManualClock, registry: ProviderRegistry
) -> None:
    used = Emulator(
        EmulatorConfig(latency_scale=1.0, seed=5, default_vpc_regions=["fra1"]), clock=clock
    )
    async with on(used, clock, registry) as a:
        assert (await a.plan(stack(), refresh=True)).account == ()
        op = await a.apply(stack())
        assert op.status == "completed", op.error
        assert op.total_steps == 7
        assert not any(s.action == "prepare" for s in a.store.steps(op.id))
        assert (await a.destroy("shop")).status == "completed"
    assert vpcs(used) == {"default-fra1": True}
    assert used.is_empty()


async def test_a_recorded_default_alone_in_its_region_is_kept_and_the_rest_destroyed(
    fresh: Emulator, clock: ManualClock, registry: ProviderRegistry
) -> None:
    store = SQLiteStore(":memory:")
    async with on(fresh, clock, registry, EarlierProvider, store) as earlier:
        assert (await earlier.apply(stack())).status == "completed"
    [(name, is_default)] = vpcs(fresh).items()
    assert is_default  # the stack's VPC became fra1's default, as DigitalOcean does

    async with on(fresh, clock, registry, store=store) as a:
        op = await a.destroy("shop")
        assert op.status == "completed", op.error
        [kept] = [s for s in a.store.steps(op.id) if s.note]
        assert (kept.resource, kept.status) == ("net", "done")
        assert kept.note == (
            f"kept VPC {name}: it is fra1's default, which DigitalOcean never deletes; "
            f"it costs nothing"
        )
        assert a.get("shop").infrastructure.status == "destroyed"
        assert a.get("shop").resources == ()
        # The account's default now: not an orphan of the infrastructure, so neither
        # reported nor (in vain) deleted by reconcile.
        assert await a.reconcile("shop", delete=True) == []
    assert all(not fresh.objects(kind) for kind in BILLABLE)
    assert vpcs(fresh) == {name: True}


async def test_a_recorded_default_hands_over_to_another_vpc_and_goes(
    fresh: Emulator, clock: ManualClock, registry: ProviderRegistry
) -> None:
    store = SQLiteStore(":memory:")
    async with on(fresh, clock, registry, EarlierProvider, store) as earlier:
        assert (await earlier.apply(stack())).status == "completed"
    assert list(vpcs(fresh).values()) == [True]
    outside = provider_on(fresh, clock)
    await (await outside.api()).create_vpc({"name": "team-net", "region": "fra1"})
    await outside.aclose()
    assert vpcs(fresh)["team-net"] is False

    async with on(fresh, clock, registry, store=store) as a:
        op = await a.destroy("shop")
        assert op.status == "completed", op.error
        assert not any(s.note for s in a.store.steps(op.id))
    assert all(not fresh.objects(kind) for kind in BILLABLE)
    assert vpcs(fresh) == {"team-net": True}
