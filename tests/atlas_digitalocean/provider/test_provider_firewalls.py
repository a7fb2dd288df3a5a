"""Firewalls against the emulator: found by name, ready only once no change is pending."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import (
    Emulator,
    EmulatorConfig,
    Fault,
    FaultKind,
    Latencies,
    ManualClock,
)
from atlas_digitalocean.ops.firewalls import FirewallHandler
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import provider_on, spec_of

if TYPE_CHECKING:  # the fixture's module is imported by conftest under its own name
    from tests.atlas_digitalocean.contract import ContractChecker

ANYWHERE = {"addresses": ["0.0.0.0/0", "::/0"]}


def droplet(name: str = "web", **specs: object) -> dict[str, object]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", **specs},
    }


def lb(name: str = "lb") -> dict[str, object]:
    rule = {
        "entry_protocol": "http",
        "entry_port": 80,
        "target_protocol": "http",
        "target_port": 80,
    }
    return {
        "type": "load_balancer",
        "name": name,
        "specifications": {"droplets": ["web"], "forwarding_rules": [rule]},
    }


def firewall(name: str = "fw", **specs: object) -> dict[str, object]:
    base: dict[str, object] = {
        "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": ANYWHERE}],
        "outbound_rules": [{"protocol": "tcp", "ports": "all", "destinations": ANYWHERE}],
    }
    return {"type": "firewall", "name": name, "specifications": {**base, **specs}}


async def make(
    provider: DigitalOceanProvider, owner: Owner, spec: InfrastructureSpec, *names: str
) -> dict[str, ResourceState]:
    """The named resources, created in order and ready: the ``deps`` of the rest."""
    deps: dict[str, ResourceState] = {}
    for name in names:
        state = await provider.create(StepContext(owner, spec, spec.resource(name), deps))
        [deps[name]] = await provider.wait(owner, [state], timeout=60)
    return deps


async def test_create_wait_read_update_delete(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    contract_checker: ContractChecker,
) -> None:
    emulator.on_exchange.append(contract_checker)
    rules: dict[str, Any] = {
        "inbound_rules": [
            {"protocol": "tcp", "ports": "80", "sources": {"load_balancers": ["lb"]}},
            {"protocol": "tcp", "ports": "22", "sources": {"droplets": ["bastion"]}},
            {"protocol": "icmp", "sources": ANYWHERE},
        ],
        "outbound_rules": [
            {"protocol": "udp", "ports": "0", "destinations": {"tags": ["dns-servers"]}},
            {"protocol": "tcp", "ports": "all", "destinations": ANYWHERE},
        ],
        "droplets": ["web"],
        "tags": ["frontend"],
    }
    spec = spec_of(registry, droplet(count=2), droplet("bastion"), lb(), firewall(**rules))
    deps = await make(provider, owner, spec, "web", "bastion", "lb")
    seen: list[tuple[str, list[str]]] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        seen.append((name, [o.id for o in objects]))

    emulator.log.clear()
    state = await provider.create(
        StepContext(owner, spec, spec.resource("fw"), deps), on_created=on_created
    )
    assert [o.name for o in state.objects] == [f"shop-fw-{owner.uid}"]
    assert seen == [("fw", list(state.ids))]
    assert state.status == "creating"  # waiting, with a change pending per droplet
    assert emulator.log.count("POST /v2/tags") == 2  # frontend and dns-servers, made first

    [made] = emulator.objects("firewalls")
    inbound, outbound = made["inbound_rules"], made["outbound_rules"]
    assert inbound[0]["sources"] == {"load_balancer_uids": list(deps["lb"].ids)}
    assert inbound[1]["sources"] == {"droplet_ids": [int(deps["bastion"].ids[0])]}
    assert [r["ports"] for r in inbound] == ["80", "22", "0"]
    assert [r["ports"] for r in outbound] == ["0", "0"]
    assert sorted(made["droplet_ids"]) == sorted(int(i) for i in deps["web"].ids)
    assert made["tags"] == ["frontend"]

    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    assert ready.attribute("pending_changes") == []
    again = await provider.read(owner, ready)
    assert again is not None
    assert again.ids == ready.ids

    fewer = {**rules, "inbound_rules": rules["inbound_rules"][:1], "tags": []}
    changed = spec_of(registry, droplet(count=2), droplet("bastion"), lb(), firewall(**fewer))
    updated = await provider.update(
        StepContext(owner, changed, changed.resource("fw"), deps), ready
    )
    assert updated.status == "creating"  # the change is on its way to the droplets
    [settled] = await provider.wait(owner, [updated], timeout=60)
    assert settled.status == "active"
    [after] = emulator.objects("firewalls")
    assert len(after["inbound_rules"]) == 1
    assert after["outbound_rules"] == outbound  # a full PUT: what did not change is kept
    assert sorted(after["droplet_ids"]) == sorted(made["droplet_ids"])
    assert after["tags"] == []

    emulator.log.clear()
    await provider.delete(owner, settled)
    assert emulator.log.count("DELETE /v2/firewalls/{firewall_id}") == 1
    assert emulator.log.count("GET /v2/firewalls/{firewall_id}", status=404) == 1
    for name in ("lb", "web", "bastion"):
        await provider.delete(owner, deps[name])
    assert emulator.is_empty()
    contract_checker.assert_clean()


async def test_wait_needs_pending_changes_empty(
    clock: ManualClock, owner: Owner, registry: ProviderRegistry
) -> None:
    # Changes that take 2.5 s: the first poll (a second after the create) still sees them.
    config = EmulatorConfig(latencies=Latencies(firewall=2.5), latency_scale=1.0, seed=7)
    emulator = Emulator(config, clock=clock)
    provider = provider_on(emulator, clock)
    try:
        spec = spec_of(registry, droplet(), firewall(droplets=["web"]))
        deps = await make(provider, owner, spec, "web")
        state = await provider.create(StepContext(owner, spec, spec.resource("fw"), deps))
        emulator.log.clear()
        made = clock()
        [ready] = await provider.wait(owner, [state], timeout=60)
    finally:
        await provider.aclose()
    assert ready.status == "active"
    assert clock() - made >= 2.5
    assert emulator.log.count("GET /v2/firewalls") == len(emulator.log) == 3  # one a round

    handler = await provider.handler("firewall")
    assert isinstance(handler, FirewallHandler)
    body = {"id": "f", "name": "n", "status": "succeeded"}
    pending = [{"droplet_id": 1, "removing": False, "status": "waiting"}]
    assert handler.obj({**body, "pending_changes": pending}).status == "creating"
    assert handler.obj({**body, "pending_changes": []}).status == "active"
    assert handler.obj({**body, "status": "failed"}).status == "error"


@pytest.mark.parametrize("kind", [FaultKind.ERROR_AFTER, FaultKind.DROP_AFTER])
async def test_ambiguous_create_is_adopted_not_repeated(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    kind: FaultKind,
) -> None:
    emulator.add_fault(Fault(kind, method="POST", path="/v2/firewalls", times=1))
    spec = spec_of(registry, firewall())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert [d["id"] for d in emulator.objects("firewalls")] == list(state.ids)
    assert emulator.log.count("POST /v2/firewalls") == 1


async def test_error_before_create_is_looked_for_then_tried_again(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, method="POST", path="/v2/firewalls"))
    spec = spec_of(registry, firewall())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert [d["id"] for d in emulator.objects("firewalls")] == list(state.ids)
    keys = [r.key for r in emulator.log.records]
    assert keys == ["POST /v2/firewalls", "GET /v2/firewalls", "POST /v2/firewalls"]


async def test_not_found_right_after_create_does_not_fail(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(
        Fault(FaultKind.NOT_FOUND_AFTER_CREATE, method="POST", path="/v2/firewalls", times=3)
    )
    spec = spec_of(registry, firewall())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    seen = await provider.read(owner, state)
    assert seen is not None
    assert seen.ids == state.ids
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    assert len(emulator.objects("firewalls")) == 1


async def test_recover_adopts_what_an_earlier_run_made(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, firewall())
    first = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    emulator.log.clear()
    second = await provider.create(StepContext(owner, spec, spec.resources[0], {}), recover=True)
    assert second.ids == first.ids
    assert emulator.log.count("POST /v2/firewalls") == 0


async def test_discover_finds_by_name_and_ignores_other_owners(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, firewall("a"), firewall("b"))
    for r in spec.resources:
        await provider.create(StepContext(owner, spec, r, {}))
    other = Owner("other", "shop")
    await provider.create(StepContext(other, spec, spec.resources[0], {}))
    found = [s for s in await provider.discover(owner) if s.type == "firewall"]
    assert [(s.name, len(s.objects)) for s in found] == [("a", 1), ("b", 1)]
    theirs = [s for s in await provider.discover(other) if s.type == "firewall"]
    assert [s.name for s in theirs] == ["a"]
