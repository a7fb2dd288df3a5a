"""VPCs against the emulator: synchronous creates, PATCH updates, deletes that wait for members."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

import httpx
import pytest

from atlas.exceptions import LeftInPlaceError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, Fault, FaultKind, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import TOKEN, spec_of

if TYPE_CHECKING:  # the fixture's module is imported by conftest under its own name
    from tests.atlas_digitalocean.contract import ContractChecker


def vpc(name: str = "net", **specs: object) -> dict[str, object]:
    return {"type": "vpc", "name": name, "specifications": specs}


def droplet(name: str = "web", **specs: object) -> dict[str, object]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", **specs},
    }


@pytest.fixture
async def region_has_default(
    provider: DigitalOceanProvider, emulator: Emulator, registry: ProviderRegistry
) -> None:
    """The first VPC made in a region becomes its default, which can never be deleted; an
    account that has had a droplet in the region has a default already, as most have."""
    spec = spec_of(registry, droplet("seed"))
    seeder = Owner("default", "seed")
    await provider.delete(
        seeder, await provider.create(StepContext(seeder, spec, spec.resources[0], {}))
    )
    emulator.log.clear()


@pytest.fixture
async def hooked(
    emulator: Emulator, clock: ManualClock
) -> AsyncIterator[tuple[DigitalOceanProvider, list[Callable[[], None]]]]:
    """A provider whose fake sleeps run the test's callbacks (the cloud moving meanwhile)."""
    on_sleep: list[Callable[[], None]] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        for callback in on_sleep:
            callback()

    settings = OpsSettings(poll_interval=1.0, action_timeout=20.0, clock=clock, sleep=sleep)
    do = DigitalOceanProvider(TOKEN, transport=emulator.transport(), settings=settings, env={})
    yield do, on_sleep
    await do.aclose()


def delete_raw(emulator: Emulator, path: str) -> int:
    """A delete made outside atlas."""
    request = httpx.Request(
        "DELETE",
        f"https://api.digitalocean.com{path}",
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    return emulator.handle(request).status_code


@pytest.mark.usefixtures("region_has_default")
async def test_create_wait_read_update_delete(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    contract_checker: ContractChecker,
) -> None:
    emulator.on_exchange.append(contract_checker)
    spec = spec_of(registry, vpc(ip_range="10.200.0.0/24", description="private"))
    seen: list[tuple[str, list[str]]] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        seen.append((name, [o.id for o in objects]))

    state = await provider.create(
        StepContext(owner, spec, spec.resources[0], {}), on_created=on_created
    )
    assert [o.name for o in state.objects] == [f"shop-net-{owner.uid}"]
    assert state.status == "active"  # a 201: there is nothing to wait for
    assert seen == [("net", list(state.ids))]
    assert state.attribute("ip_range") == "10.200.0.0/24"
    assert state.attribute("default") is False
    emulator.log.clear()
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    assert len(emulator.log) == 0
    again = await provider.read(owner, ready)
    assert again is not None
    assert again.ids == ready.ids

    described = spec_of(registry, vpc(ip_range="10.200.0.0/24", description="shop network"))
    updated = await provider.update(
        StepContext(owner, described, described.resources[0], {}), ready
    )
    assert updated.attribute("description") == "shop network"
    assert emulator.log.count("PATCH /v2/vpcs/{vpc_id}") == 1
    emulator.log.clear()
    same = await provider.update(StepContext(owner, described, described.resources[0], {}), updated)
    assert same == updated
    assert emulator.log.count("PATCH /v2/vpcs/{vpc_id}") == 0  # nothing to change

    emulator.log.clear()
    await provider.delete(owner, updated)
    assert emulator.log.count("DELETE /v2/vpcs/{vpc_id}", status=204) == 1
    assert emulator.log.count("GET /v2/vpcs/{vpc_id}", status=404) == 1
    assert await provider.read(owner, updated) is None
    assert emulator.is_empty()
    contract_checker.assert_clean()


@pytest.mark.usefixtures("region_has_default")
async def test_ip_range_change_needs_a_replacement(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc(ip_range="10.200.0.0/24"))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    wider = spec_of(registry, vpc(ip_range="10.200.0.0/20"))
    with pytest.raises(ProviderOperationError, match=r"IP range.*replacement"):
        await provider.update(StepContext(owner, wider, wider.resources[0], {}), state)


@pytest.mark.usefixtures("region_has_default")
async def test_delete_waits_out_403_while_members_leave(
    hooked: tuple[DigitalOceanProvider, list[Callable[[], None]]],
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
) -> None:
    provider, on_sleep = hooked
    spec = spec_of(registry, vpc(), droplet(vpc="net"))
    net = await provider.create(StepContext(owner, spec, spec.resource("net"), {}))
    web = await provider.create(StepContext(owner, spec, spec.resource("web"), {"net": net}))
    [web] = await provider.wait(owner, [web], timeout=60)
    sleeps = 0

    def droplet_goes_later() -> None:
        # DigitalOcean lets go of a deleted droplet's VPC a little after the droplet's 204.
        nonlocal sleeps
        sleeps += 1
        if sleeps == 3:
            assert delete_raw(emulator, f"/v2/droplets/{web.ids[0]}") == 204

    on_sleep.append(droplet_goes_later)
    emulator.log.clear()
    await provider.delete(owner, net)
    assert emulator.log.count("DELETE /v2/vpcs/{vpc_id}", status=403) == 3
    assert emulator.log.count("DELETE /v2/vpcs/{vpc_id}", status=204) == 1
    assert emulator.is_empty()


@pytest.mark.usefixtures("region_has_default")
async def test_delete_gives_up_naming_the_members(
    hooked: tuple[DigitalOceanProvider, list[Callable[[], None]]],
    owner: Owner,
    registry: ProviderRegistry,
) -> None:
    provider, _ = hooked
    spec = spec_of(registry, vpc(), droplet(vpc="net"))
    net = await provider.create(StepContext(owner, spec, spec.resource("net"), {}))
    await provider.create(StepContext(owner, spec, spec.resource("web"), {"net": net}))
    with pytest.raises(ProviderOperationError, match=r"could not be deleted in 20s.*shop-web"):
        await provider.delete(owner, net)


async def test_a_default_vpc_alone_in_its_region_is_kept_and_said(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert state.attribute("default") is True  # the region had none: this one became it
    emulator.log.clear()
    with pytest.raises(LeftInPlaceError) as kept:
        await provider.delete(owner, state)
    assert str(kept.value) == (
        f"kept VPC {state.objects[0].name}: it is nyc3's default, which DigitalOcean never "
        f"deletes; it costs nothing"
    )
    assert emulator.log.count("DELETE /v2/vpcs/{vpc_id}") == 1  # refused at once, no waiting
    assert emulator.log.count("PATCH /v2/vpcs/{vpc_id}") == 0
    assert [v["name"] for v in emulator.objects("vpcs")] == [state.objects[0].name]


async def test_a_default_vpc_hands_the_default_over_then_is_deleted(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc(), vpc("other"))
    net = await provider.create(StepContext(owner, spec, spec.resource("net"), {}))
    other = await provider.create(StepContext(owner, spec, spec.resource("other"), {}))
    api = await provider.api()
    own = await api.create_vpc({"name": "default-nyc3", "region": "nyc3"})  # made after other
    assert net.attribute("default") is True
    emulator.log.clear()
    await provider.delete(owner, net)
    left = {v["name"]: v["default"] for v in emulator.objects("vpcs")}
    # DigitalOcean's own default-nyc3 is preferred to an older VPC of the region.
    assert left == {other.objects[0].name: False, "default-nyc3": True}
    assert emulator.log.count("PATCH /v2/vpcs/{vpc_id}") == 1
    assert (await api.get_vpc(str(own["id"])))["default"] is True


async def test_account_steps_ask_for_the_regions_default_only_where_there_is_none(
    provider: DigitalOceanProvider, emulator: Emulator, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc(), droplet(vpc="net"))
    assert await provider.account_steps(spec, [spec.resource("web")]) == []  # no VPC made
    assert emulator.log.count("GET /v2/vpcs") == 0
    [step] = await provider.account_steps(spec, list(spec.resources))
    assert (step.type, step.name, step.region) == ("vpc", "default-nyc3", "nyc3")
    assert "free" in step.reason
    assert emulator.objects("vpcs") == []  # planning changed nothing

    await provider.prepare(step)
    [made] = emulator.objects("vpcs")
    assert (made["name"], made["region"], made["default"]) == ("default-nyc3", "nyc3", True)
    await provider.prepare(step)  # safe to repeat: nothing more is made
    assert emulator.log.count("POST /v2/vpcs") == 1
    assert await provider.account_steps(spec, list(spec.resources)) == []  # used now


@pytest.mark.parametrize("kind", [FaultKind.ERROR_AFTER, FaultKind.DROP_AFTER])
async def test_prepare_whose_answer_is_lost_finds_what_it_made(
    provider: DigitalOceanProvider, emulator: Emulator, registry: ProviderRegistry, kind: FaultKind
) -> None:
    spec = spec_of(registry, vpc())
    [step] = await provider.account_steps(spec, list(spec.resources))
    emulator.add_fault(Fault(kind, "POST", "/v2/vpcs"))
    await provider.prepare(step)
    assert [(v["name"], v["default"]) for v in emulator.objects("vpcs")] == [("default-nyc3", True)]


@pytest.mark.usefixtures("region_has_default")
async def test_a_used_region_needs_no_account_step(
    provider: DigitalOceanProvider, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc())
    assert await provider.account_steps(spec, list(spec.resources)) == []


@pytest.mark.usefixtures("region_has_default")
@pytest.mark.parametrize(
    "case",
    [(FaultKind.ERROR_AFTER, 1), (FaultKind.DROP_AFTER, 1), (FaultKind.ERROR_BEFORE, 2)],
    ids=["error_after", "drop_after", "error_before"],
)
async def test_ambiguous_create_ends_with_one_vpc(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    case: tuple[FaultKind, int],
) -> None:
    kind, posts = case  # posts: how many creates went out (one more when none was applied)
    emulator.add_fault(Fault(kind, method="POST", path="/v2/vpcs", times=1))
    spec = spec_of(registry, vpc())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    mine = [v for v in emulator.objects("vpcs") if v["name"] == state.objects[0].name]
    assert [v["id"] for v in mine] == list(state.ids)
    keys = [r.key for r in emulator.log.records]
    # Each POST in doubt is followed by a look for the name before anything else.
    assert keys == ["POST /v2/vpcs", "GET /v2/vpcs", "POST /v2/vpcs"][: 2 * posts]
    assert emulator.log.count("POST /v2/vpcs") == posts


@pytest.mark.usefixtures("region_has_default")
async def test_not_found_right_after_create_does_not_fail(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(
        Fault(FaultKind.NOT_FOUND_AFTER_CREATE, method="POST", path="/v2/vpcs", times=3)
    )
    spec = spec_of(registry, vpc())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    seen = await provider.read(owner, state)
    assert seen is not None
    assert seen.ids == state.ids
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"


@pytest.mark.usefixtures("region_has_default")
async def test_recover_adopts_what_an_earlier_run_made(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc())
    first = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    emulator.log.clear()
    second = await provider.create(StepContext(owner, spec, spec.resources[0], {}), recover=True)
    assert second.ids == first.ids
    assert emulator.log.count("POST /v2/vpcs") == 0


@pytest.mark.usefixtures("region_has_default")
async def test_discover_finds_by_name_and_ignores_other_owners(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, vpc("net"), vpc("db-net"))
    for r in spec.resources:
        await provider.create(StepContext(owner, spec, r, {}))
    other = Owner("other", "shop")
    await provider.create(StepContext(other, spec, spec.resources[0], {}))
    found: list[ResourceState] = [s for s in await provider.discover(owner) if s.type == "vpc"]
    assert [(s.name, len(s.objects)) for s in found] == [("db-net", 1), ("net", 1)]
    theirs = [s for s in await provider.discover(other) if s.type == "vpc"]
    assert [s.name for s in theirs] == ["net"]
