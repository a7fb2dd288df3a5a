"""Load balancers against the emulator: found by name, one list per round, full-PUT updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, Fault, FaultKind
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import TOKEN, spec_of

if TYPE_CHECKING:  # the fixture's module is imported by conftest under its own name
    from tests.atlas_digitalocean.contract import ContractChecker

RULE = {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}


def droplet(name: str = "web", **specs: object) -> dict[str, object]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", **specs},
    }


def lb(name: str = "lb", **specs: object) -> dict[str, object]:
    return {
        "type": "load_balancer",
        "name": name,
        "specifications": {"droplets": ["web"], "forwarding_rules": [RULE], **specs},
    }


async def make_droplets(
    provider: DigitalOceanProvider, owner: Owner, spec: InfrastructureSpec
) -> dict[str, ResourceState]:
    """Every droplet resource of ``spec``, created and ready: the ``deps`` of the rest."""
    made = [
        await provider.create(StepContext(owner, spec, r, {}))
        for r in spec.resources
        if r.type == "droplet"
    ]
    return {s.name: s for s in await provider.wait(owner, made, timeout=60)}


async def delete_all(
    provider: DigitalOceanProvider, owner: Owner, states: Sequence[ResourceState]
) -> None:
    for state in states:
        await provider.delete(owner, state)


def put_raw(emulator: Emulator, path: str, body: dict[str, object]) -> httpx.Response:
    """A change made outside atlas (the control panel, say)."""
    request = httpx.Request(
        "PUT",
        f"https://api.digitalocean.com{path}",
        json=body,
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    return emulator.handle(request)


async def test_create_wait_read_update_delete(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    contract_checker: ContractChecker,
) -> None:
    emulator.on_exchange.append(contract_checker)
    spec = spec_of(registry, droplet(count=2), lb())
    deps = await make_droplets(provider, owner, spec)
    seen: list[tuple[str, list[str]]] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        seen.append((name, [o.id for o in objects]))

    state = await provider.create(
        StepContext(owner, spec, spec.resource("lb"), deps), on_created=on_created
    )
    assert [o.name for o in state.objects] == [f"shop-lb-{owner.uid}"]
    assert state.status == "creating"
    assert seen == [("lb", list(state.ids))]
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    assert ready.attribute("ip")
    assert sorted(ready.attribute("droplet_ids")) == sorted(int(i) for i in deps["web"].ids)
    assert ready.attribute("forwarding_rules")[0]["target_port"] == 8080
    assert ready.attribute("size_unit") == 1
    again = await provider.read(owner, ready)
    assert again is not None
    assert again.ids == ready.ids

    bigger = spec_of(registry, droplet(count=2), lb(size_unit=2))
    emulator.log.clear()
    updated = await provider.update(StepContext(owner, bigger, bigger.resource("lb"), deps), ready)
    assert updated.ids == ready.ids
    assert updated.attribute("size_unit") == 2
    assert emulator.log.count("PUT /v2/load_balancers/{lb_id}") == 1

    emulator.log.clear()
    await provider.delete(owner, updated)
    assert emulator.log.count("DELETE /v2/load_balancers/{lb_id}") == 1
    assert emulator.log.count("GET /v2/load_balancers/{lb_id}", status=404) == 1  # verified
    assert await provider.read(owner, updated) is None
    await delete_all(provider, owner, list(deps.values()))
    assert emulator.is_empty()
    contract_checker.assert_clean()


async def test_update_sends_the_full_representation(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    settings: dict[str, Any] = {
        "health_check": {"protocol": "tcp", "port": 8080, "check_interval_seconds": 30},
        "sticky_sessions": {"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 60},
        "redirect_http_to_https": True,
    }
    spec = spec_of(registry, droplet(count=2), lb(**settings))
    deps = await make_droplets(provider, owner, spec)
    state = await provider.create(StepContext(owner, spec, spec.resource("lb"), deps))
    [ready] = await provider.wait(owner, [state], timeout=60)
    # Someone lengthens the idle timeout outside atlas; atlas does not manage that setting.
    [current] = emulator.objects("load_balancers")
    outside = {**current, "region": "nyc3", "http_idle_timeout_seconds": 120}
    del outside["tag"]  # the balancer targets droplet_ids; the two are exclusive
    r = put_raw(emulator, f"/v2/load_balancers/{ready.ids[0]}", outside)
    assert r.status_code == 200, r.text

    bigger = spec_of(registry, droplet(count=2), lb(size_unit=3, **settings))
    await provider.update(StepContext(owner, bigger, bigger.resource("lb"), deps), ready)
    [after] = emulator.objects("load_balancers")
    assert after["size_unit"] == 3
    assert after["sticky_sessions"] == settings["sticky_sessions"]
    assert after["health_check"]["protocol"] == "tcp"
    assert after["health_check"]["check_interval_seconds"] == 30
    assert after["redirect_http_to_https"] is True
    assert sorted(after["droplet_ids"]) == sorted(int(i) for i in deps["web"].ids)
    assert after["forwarding_rules"] == current["forwarding_rules"]
    assert after["vpc_uuid"] == current["vpc_uuid"]
    assert after["http_idle_timeout_seconds"] == 120


async def test_region_change_needs_a_replacement(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, lb(droplets=[]))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    moved = spec_of(registry, lb(droplets=[]), region="ams3")
    with pytest.raises(ProviderOperationError, match="replacement"):
        await provider.update(StepContext(owner, moved, moved.resources[0], {}), state)


async def test_tag_targets_make_the_tag_first(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, lb(droplets=[], tag="frontend"))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert emulator.log.count("POST /v2/tags") == 1
    [made] = emulator.objects("load_balancers")
    assert made["tag"] == "frontend"
    assert state.attribute("tag") == "frontend"


@pytest.mark.parametrize("kind", [FaultKind.ERROR_AFTER, FaultKind.DROP_AFTER])
async def test_ambiguous_create_is_adopted_not_repeated(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    kind: FaultKind,
) -> None:
    spec = spec_of(registry, droplet(), lb())
    deps = await make_droplets(provider, owner, spec)
    emulator.add_fault(Fault(kind, method="POST", path="/v2/load_balancers", times=1))
    state = await provider.create(StepContext(owner, spec, spec.resource("lb"), deps))
    assert [d["id"] for d in emulator.objects("load_balancers")] == list(state.ids)
    assert emulator.log.count("POST /v2/load_balancers") == 1


async def test_error_before_create_is_looked_for_then_tried_again(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, method="POST", path="/v2/load_balancers"))
    spec = spec_of(registry, lb(droplets=[]))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert [d["id"] for d in emulator.objects("load_balancers")] == list(state.ids)
    keys = [r.key for r in emulator.log.records if "load_balancers" in r.key]
    assert keys == ["POST /v2/load_balancers", "GET /v2/load_balancers", "POST /v2/load_balancers"]


async def test_not_found_right_after_create_does_not_fail(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(
        Fault(FaultKind.NOT_FOUND_AFTER_CREATE, method="POST", path="/v2/load_balancers", times=3)
    )
    spec = spec_of(registry, lb(droplets=[]))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    seen = await provider.read(owner, state)  # the id 404s; the name finds it
    assert seen is not None
    assert seen.ids == state.ids
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    assert len(emulator.objects("load_balancers")) == 1


async def test_recover_adopts_what_an_earlier_run_made(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, lb(droplets=[]))
    first = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    emulator.log.clear()
    second = await provider.create(StepContext(owner, spec, spec.resources[0], {}), recover=True)
    assert second.ids == first.ids
    assert emulator.log.count("POST /v2/load_balancers") == 0


async def test_discover_finds_by_name_and_ignores_other_owners(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, lb("front", droplets=[]), lb("back-end", droplets=[]))
    for r in spec.resources:
        await provider.create(StepContext(owner, spec, r, {}))
    other = Owner("other", "shop")
    await provider.create(StepContext(other, spec, spec.resources[0], {}))
    found = [s for s in await provider.discover(owner) if s.type == "load_balancer"]
    assert [(s.name, len(s.objects)) for s in found] == [("back-end", 1), ("front", 1)]
    theirs = [s for s in await provider.discover(other) if s.type == "load_balancer"]
    assert [s.name for s in theirs] == ["front"]
