"""Issue acceptance: every fault type x every create endpoint ends with exactly one resource,
and a create whose outcome was in doubt is never followed by a blind second POST."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.model.cloud import Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, Fault, FaultKind
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import spec_of

DROPLET = {
    "type": "droplet",
    "name": "web",
    "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
}
TARGETS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # kind: (create path, emulator collection, resource)
    "droplet": ("/v2/droplets", "droplets", {**DROPLET, "name": "app"}),
    "volume": (
        "/v2/volumes",
        "volumes",
        {"type": "volume", "name": "data", "specifications": {"size_gigabytes": 10}},
    ),
    "database": (
        "/v2/databases",
        "databases",
        {
            "type": "database",
            "name": "db",
            "specifications": {"engine": "pg", "size": "db-s-1vcpu-1gb"},
        },
    ),
    "load_balancer": (
        "/v2/load_balancers",
        "load_balancers",
        {
            "type": "load_balancer",
            "name": "lb",
            "specifications": {
                "droplets": ["web"],
                "forwarding_rules": [
                    {
                        "entry_protocol": "http",
                        "entry_port": 80,
                        "target_protocol": "http",
                        "target_port": 80,
                    }
                ],
            },
        },
    ),
    "firewall": (
        "/v2/firewalls",
        "firewalls",
        {
            "type": "firewall",
            "name": "fw",
            "specifications": {
                "droplets": ["web"],
                "inbound_rules": [
                    {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
                ],
            },
        },
    ),
    "vpc": (
        "/v2/vpcs",
        "vpcs",
        {"type": "vpc", "name": "net", "specifications": {"ip_range": "10.40.0.0/24"}},
    ),
}
AMBIGUOUS = (FaultKind.ERROR_AFTER, FaultKind.DROP_AFTER)


def own(emulator: Emulator, collection: str, owner: Owner) -> list[dict[str, Any]]:
    """The target kind's objects that this test made (not the droplet it depends on, nor the
    region's default VPC)."""
    objs = emulator.objects(collection)
    if collection == "droplets":
        return [o for o in objs if o["name"].startswith(f"{owner.infrastructure}-app")]
    if collection == "vpcs":
        return [o for o in objs if o["name"].endswith(owner.uid)]
    return objs


@pytest.mark.parametrize("fault", list(FaultKind), ids=lambda f: f.value)
@pytest.mark.parametrize("kind", list(TARGETS))
async def test_fault_matrix(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    kind: str,
    fault: FaultKind,
) -> None:
    path, collection, resource = TARGETS[kind]
    spec = spec_of(registry, DROPLET, resource)
    deps: dict[str, ResourceState] = {}
    if kind in ("load_balancer", "firewall"):
        web = await provider.create(StepContext(owner, spec, spec.resource("web"), {}))
        [deps["web"]] = await provider.wait(owner, [web], timeout=60)
    emulator.log.clear()
    emulator.add_fault(Fault(fault, method="POST", path=path, times=1))

    state = await provider.create(StepContext(owner, spec, spec.resource(resource["name"]), deps))
    [ready] = await provider.wait(owner, [state], timeout=600)

    assert ready.status == "active"
    assert [f for f, _ in emulator.faults] == []  # the fault did strike
    made = own(emulator, collection, owner)
    assert len(made) == 1, made
    assert ready.ids == (str(made[0]["id"]),)
    posts = [r for r in emulator.log.records if r.key == f"POST {path}"]
    if fault in AMBIGUOUS:
        assert len(posts) == 1, "a create in doubt was followed by a blind second POST"
    elif fault is FaultKind.ERROR_BEFORE:
        # Tried again only after looking for what the first attempt made and finding nothing.
        assert len(posts) == 2
        records = emulator.log.records
        first, second = (records.index(p) for p in posts)
        looked = [r for r in records[first:second] if r.key.startswith("GET ")]
        assert looked, "the second POST was not preceded by a look for the first one's result"
    elif fault is FaultKind.RATE_LIMIT_BURST:
        assert [p.status for p in posts] == [429, posts[-1].status]
    else:
        assert len(posts) == 1
