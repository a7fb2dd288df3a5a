"""Issue acceptance: the larger example stack over loopback, created, read, updated and deleted
by the provider with nothing left, every request checked against DigitalOcean's schema."""

from __future__ import annotations

import graphlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from atlas.model.cloud import Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext
from atlas.spec import dependencies, validate_spec
from atlas_digitalocean.emulator import EmulatorConfig, ServedEmulator, serve
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean import contract
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.loopback

TOKEN = "dop_v1_" + "5eed" * 16  # made up


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    # Latencies a hundredth of the real ones: the waits are real, but short.
    config = EmulatorConfig(latency_scale=0.01, seed=11)  # a fresh account
    with serve(port=0, config=config) as emulator:
        yield emulator


def order(spec: Any) -> list[str]:
    return list(graphlib.TopologicalSorter(dependencies(spec.resources)).static_order())


def updated(doc: dict[str, Any]) -> dict[str, Any]:
    """The stack with a change to every kind."""
    res = {r["name"]: r["specifications"] for r in doc["resources"]}
    res["net"]["description"] = "Private network, renamed"
    res["worker"]["size"] = "s-4vcpu-8gb"
    res["data"]["size_gigabytes"] = 150
    res["db"]["size"] = "db-s-2vcpu-4gb"
    res["lb"]["forwarding_rules"].append(
        {"entry_protocol": "tcp", "entry_port": 2222, "target_protocol": "tcp", "target_port": 22}
    )
    res["fw"]["inbound_rules"].append(
        {"protocol": "tcp", "ports": "443", "sources": {"addresses": ["0.0.0.0/0"]}}
    )
    doc["tags"]["owner"] = "platform-team"
    return doc


async def test_stack_lifecycle_over_loopback(
    served: ServedEmulator, registry: ProviderRegistry, openapi_spec: contract.LoadedSpec
) -> None:
    checker = contract.ContractChecker(openapi_spec)
    served.emulator.on_exchange.append(checker)
    provider = DigitalOceanProvider(
        TOKEN, base_url=served.url, env={}, settings=OpsSettings(poll_interval=0.02)
    )
    owner = Owner("acceptance", "shop")
    doc = yaml.safe_load((EXAMPLES / "stack.yaml").read_text())
    spec = validate_spec(doc, registry=registry)
    # As the core does before a plan's creates: fra1 has no VPC yet on this fresh account.
    [account] = await provider.account_steps(spec, list(spec.resources))
    assert account.name == "default-fra1"
    await provider.prepare(account)
    states: dict[str, ResourceState] = {}
    for name in order(spec):
        res = spec.resource(name)
        created = await provider.create(StepContext(owner, spec, res, states))
        [states[name]] = await provider.wait(owner, [created], timeout=30)
        assert states[name].status == "active", name
    assert len(states["web"].objects) == 3

    for name, state in states.items():
        again = await provider.read(owner, state)
        assert again is not None, name
        assert again.ids == state.ids, name
    discovered = {s.name for s in await provider.discover(owner)}
    assert discovered == set(states)

    new_spec = validate_spec(updated(doc), registry=registry)
    for name in order(new_spec):
        res = new_spec.resource(name)
        changed = await provider.update(StepContext(owner, new_spec, res, states), states[name])
        [states[name]] = await provider.wait(owner, [changed], timeout=30)
        assert states[name].status == "active", name
    assert states["worker"].attribute("size") == "s-4vcpu-8gb"
    assert states["data"].attribute("size_gigabytes") == 150
    assert states["db"].attribute("size") == "db-s-2vcpu-4gb"
    assert len(states["lb"].attribute("forwarding_rules")) == 2

    for name in reversed(order(new_spec)):
        await provider.delete(owner, states[name])
        assert await provider.read(owner, states[name]) is None, name
    await provider.aclose()
    assert served.emulator.is_empty()
    assert await_nothing_owned(served)
    assert [v["name"] for v in served.emulator.objects("vpcs")] == ["default-fra1"]
    checker.assert_clean()


def await_nothing_owned(served: ServedEmulator) -> bool:
    return all(
        not served.emulator.objects(kind)
        for kind in ("droplets", "volumes", "databases", "load_balancers", "firewalls")
    )
