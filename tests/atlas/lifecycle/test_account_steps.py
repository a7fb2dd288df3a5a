"""Account steps and resources a cloud keeps on delete, on the memory cloud through a toy
provider: a cloud where the first network made in a region becomes that region's default,
which it never deletes (as DigitalOcean's VPCs)."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.cli.render import render_operation, render_plan
from atlas.exceptions import LeftInPlaceError, ProviderOperationError
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import AccountStep, OnCreated, StepContext
from atlas.providers.registry import ProviderRegistry
from atlas.store import SQLiteStore
from atlas.testing.memory import MemoryCloud, MemoryProvider
from tests.atlas.lifecycle.conftest import TOKEN, stack

REGION = "mem-1"
DEFAULT = f"default-{REGION}"


class DefaultNetworks(MemoryProvider):
    """The memory provider on a cloud with per-region default networks.

    :param used: regions that already have their default network (a used account).
    :param offer: whether the provider asks for the account step (``False`` is an earlier
        atlas, which did not).
    """

    def __init__(self, cloud: MemoryCloud, *, used: Sequence[str] = (), offer: bool = True) -> None:
        super().__init__(cloud, token=TOKEN)
        self.defaults: dict[str, str] = dict.fromkeys(used, "elsewhere")  # region -> object id
        self.offer = offer
        self.asked: list[list[str]] = []
        self.calls: list[str] = []
        self.fail_prepare = False

    async def account_steps(
        self, spec: InfrastructureSpec, creates: Sequence[ResourceSpec]
    ) -> list[AccountStep]:
        self.asked.append([c.name for c in creates])
        wanted = self.offer and any(c.type == "network" for c in creates)
        if not wanted or spec.region in self.defaults:
            return []
        reason = f"{spec.region} has no default network yet; free"
        return [AccountStep("network", f"default-{spec.region}", reason, spec.region)]

    async def prepare(self, step: AccountStep) -> None:
        self.calls.append(f"prepare {step.name}")
        if self.fail_prepare:
            raise ProviderOperationError("the cloud refused the default network")
        self.defaults.setdefault(step.region, "made-by-prepare")

    async def create(
        self, ctx: StepContext, *, on_created: OnCreated | None = None, recover: bool = False
    ) -> ResourceState:
        self.calls.append(f"create {ctx.name}")
        state = await super().create(ctx, on_created=on_created, recover=recover)
        if ctx.resource.type == "network":
            self.defaults.setdefault(ctx.spec.region, state.objects[0].id)
        return state

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        if state.objects and state.objects[0].id in self.defaults.values():
            raise LeftInPlaceError(f"kept network {state.objects[0].name}: the region's default")
        await super().delete(owner, state)


def atlas_on(provider: MemoryProvider, registry: ProviderRegistry) -> AsyncAtlas:
    return AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=registry, providers={"memory": provider}
    )


async def test_a_fresh_region_gets_its_default_first_and_destroy_leaves_it(
    cloud: MemoryCloud, registry: ProviderRegistry
) -> None:
    provider = DefaultNetworks(cloud)
    async with atlas_on(provider, registry) as a:
        assert (await a.plan(stack())).account == ()  # a plan that reads nothing asks nothing
        assert provider.asked == []
        plan = await a.plan(stack(), refresh=True)
        [step] = plan.account
        assert (step.type, step.name, step.region) == ("network", DEFAULT, REGION)
        assert provider.asked == [["net", "web", "worker", "data", "db", "dbdata"]]
        out = plan.to_dict()
        assert out["account_steps"] == [
            {
                "type": "network",
                "name": DEFAULT,
                "region": REGION,
                "reason": f"{REGION} has no default network yet; free",
                "details": {},
            }
        ]
        text = render_plan(plan)
        assert f"account: create network {DEFAULT} in {REGION} \u2014 {step.reason}" in text

        op = await a.apply(stack())
        assert op.status == "completed", op.error
        assert provider.calls[:2] == [f"prepare {DEFAULT}", "create net"]
        steps = a.store.steps(op.id)
        first = steps[0]
        assert (first.action, first.type, first.resource, first.status) == (
            "prepare",
            "network",
            DEFAULT,
            "done",
        )
        assert op.total_steps == op.completed_steps == 7
        assert DEFAULT not in op.created_resources
        assert DEFAULT not in {r.name for r in a.get("shop").resources}
        assert provider.defaults[REGION] == "made-by-prepare"  # the stack's net is not it

        again = await a.plan(stack(), refresh=True)
        assert again.empty
        assert len(provider.asked) == 2  # asked by the apply, not by a plan creating nothing

        gone = await a.destroy("shop")
        assert gone.status == "completed", gone.error
        assert all(s.action == "delete" and s.note is None for s in a.store.steps(gone.id))
        assert cloud.objects("network") == []
        assert cloud.objects("server") == []
        assert provider.calls.count(f"prepare {DEFAULT}") == 1


async def test_a_used_region_needs_no_account_step(
    cloud: MemoryCloud, registry: ProviderRegistry
) -> None:
    provider = DefaultNetworks(cloud, used=[REGION])
    async with atlas_on(provider, registry) as a:
        plan = await a.plan(stack(), refresh=True)
        assert plan.account == ()
        op = await a.apply(stack())
        assert op.status == "completed", op.error
        assert op.total_steps == 6
        assert not any(s.action == "prepare" for s in a.store.steps(op.id))


async def test_a_recorded_default_is_kept_and_the_rest_destroyed(
    cloud: MemoryCloud, registry: ProviderRegistry
) -> None:
    provider = DefaultNetworks(cloud, offer=False)  # as an earlier atlas: net became the default
    async with atlas_on(provider, registry) as a:
        op = await a.apply(stack())
        assert op.status == "completed", op.error
        net = next(r for r in a.get("shop").resources if r.name == "net")
        assert provider.defaults[REGION] == net.objects[0].id

        gone = await a.destroy("shop")
        assert gone.status == "completed", gone.error
        assert a.get("shop").infrastructure.status == "destroyed"
        assert a.get("shop").resources == ()
        [kept] = [s for s in a.store.steps(gone.id) if s.note]
        assert (kept.resource, kept.status) == ("net", "done")
        assert kept.note == f"kept network {net.objects[0].name}: the region's default"
        assert cloud.objects("server") == []
        assert cloud.objects("disk") == []
        assert [o.id for o in cloud.objects("network")] == [net.objects[0].id]
        rendered = render_operation(gone, a.store.steps(gone.id))
        assert f"note: net: {kept.note}" in rendered.splitlines()


async def test_a_failed_account_step_stops_before_anything_is_made(
    cloud: MemoryCloud, registry: ProviderRegistry
) -> None:
    provider = DefaultNetworks(cloud)
    provider.fail_prepare = True
    async with atlas_on(provider, registry) as a:
        op = await a.apply(stack())
        assert op.status == "failed"
        assert "the cloud refused the default network" in (op.error or "")
        assert provider.calls == [f"prepare {DEFAULT}"]
        first = a.store.steps(op.id)[0]
        assert (first.action, first.status) == ("prepare", "failed")
        assert cloud.objects("network") == []

        provider.fail_prepare = False  # a second try does it, then the rest
        again = await a.apply(stack())
        assert again.status == "completed", again.error
        assert provider.calls[1:3] == [f"prepare {DEFAULT}", "create net"]
