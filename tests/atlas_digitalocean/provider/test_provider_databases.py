"""Databases against the emulator: adopted creates, one tagged list per round, resize, no
secret in any state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, Fault, FaultKind
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import spec_of

RESIZE = "PUT /v2/databases/{database_cluster_uuid}/resize"


def database(name: str = "db", /, **specs: object) -> dict[str, object]:
    return {
        "type": "database",
        "name": name,
        "specifications": {"engine": "postgresql", "size": "db-s-1vcpu-1gb", **specs},
    }


async def make(
    provider: DigitalOceanProvider,
    owner: Owner,
    spec: InfrastructureSpec,
    name: str = "db",
    deps: dict[str, ResourceState] | None = None,
    **kw: Any,
) -> ResourceState:
    state = await provider.create(StepContext(owner, spec, spec.resource(name), deps or {}), **kw)
    [ready] = await provider.wait(owner, [state], timeout=600)
    return ready


async def vpc(provider: DigitalOceanProvider, name: str) -> ResourceState:
    """A VPC made straight through the API, so these tests do not depend on the VPC ops."""
    made = await (await provider.api()).create_vpc({"name": name, "region": "nyc3"})
    return ResourceState("vpc", name, (CloudObject(str(made["id"]), name, "active"),))


async def test_create_wait_read_resize_delete(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    contract_checker: Any,
) -> None:
    emulator.on_exchange.append(contract_checker)
    spec = spec_of(registry, database(version="16"))
    seen: list[tuple[str, list[str]]] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        seen.append((name, [o.id for o in objects]))

    state = await provider.create(
        StepContext(owner, spec, spec.resource("db"), {}), on_created=on_created
    )
    assert seen == [("db", list(state.ids))]
    assert state.status == "creating"
    assert state.objects[0].name == f"shop-db-{owner.uid}"
    [ready] = await provider.wait(owner, [state], timeout=600)
    assert ready.status == "active"
    assert (ready.attribute("engine"), ready.attribute("version")) == ("pg", "16")
    assert ready.attribute("host")
    assert ready.attribute("port") == 25060
    assert set(ready.attribute("tags")) == {
        f"atlas:{owner.uid}",
        f"atlas:{owner.uid}:db",
        "env:test",
    }
    again = await provider.read(owner, ready)
    assert again is not None
    assert again.objects == ready.objects

    bigger = spec_of(registry, database(version="16", size="db-s-1vcpu-2gb", num_nodes=2))
    resized = await provider.update(StepContext(owner, bigger, bigger.resource("db"), {}), ready)
    assert resized.status == "updating"  # resizing: the caller waits
    [done] = await provider.wait(owner, [resized], timeout=600)
    assert (done.status, done.attribute("size"), done.attribute("num_nodes")) == (
        "active",
        "db-s-1vcpu-2gb",
        2,
    )
    assert emulator.log.count(RESIZE) == 1

    await provider.delete(owner, done)
    assert emulator.is_empty()
    assert await provider.read(owner, done) is None
    contract_checker.assert_clean()


async def test_no_state_ever_holds_a_connection_secret(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, database(size="db-s-1vcpu-2gb", num_nodes=2))
    created = await provider.create(StepContext(owner, spec, spec.resource("db"), {}))
    [raw] = emulator.objects("databases")
    secrets = {raw["connection"]["password"], *(u["password"] for u in raw["users"])}
    uris = {raw[k]["uri"] for k in raw if k.endswith("connection")}
    assert all(secrets)
    assert all(uris)
    [ready] = await provider.wait(owner, [created], timeout=600)
    read = await provider.read(owner, ready)
    assert read is not None
    states = [created, ready, read, *await provider.discover(owner)]
    for state in states:
        for text in (repr(state), json.dumps([dict(o.attributes) for o in state.objects])):
            for secret in secrets | uris:
                assert secret not in text
            assert "password" not in text
            assert "://" not in text
    assert read.attribute("private_host").startswith("private-")
    assert (read.attribute("user"), read.attribute("database")) == ("doadmin", "defaultdb")


async def test_polling_costs_one_tagged_list_per_round(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, *(database(f"db{i}") for i in range(4)))
    states = [await provider.create(StepContext(owner, spec, r, {})) for r in spec.resources]
    emulator.log.clear()
    ready = await provider.wait(owner, states, timeout=600)
    assert [s.status for s in ready] == ["active"] * 4
    rounds = emulator.log.count("GET /v2/databases")
    assert rounds == len(emulator.log)
    assert 1 <= rounds <= 12  # the create takes 10 s; one call per 1 s round
    assert {r.path for r in emulator.log.records} == {"/v2/databases"}


@pytest.mark.parametrize(
    ("kind", "posts"),
    [(FaultKind.ERROR_AFTER, 1), (FaultKind.DROP_AFTER, 1), (FaultKind.ERROR_BEFORE, 2)],
)
async def test_create_in_doubt_is_looked_for_before_any_second_post(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    *,
    owner: Owner,
    registry: ProviderRegistry,
    kind: FaultKind,
    posts: int,
) -> None:
    emulator.add_fault(Fault(kind, method="POST", path="/v2/databases", times=1))
    spec = spec_of(registry, database())
    state = await provider.create(StepContext(owner, spec, spec.resource("db"), {}))
    assert emulator.faults == []  # it did strike
    [only] = emulator.objects("databases")
    assert state.ids == (only["id"],)
    assert emulator.log.count("POST /v2/databases") == posts
    keys = [r.key for r in emulator.log.records]
    assert keys[:2] == ["POST /v2/databases", "GET /v2/databases"]  # looked before anything else
    [ready] = await provider.wait(owner, [state], timeout=600)
    assert ready.status == "active"


async def test_not_found_right_after_create_does_not_fail(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(
        Fault(FaultKind.NOT_FOUND_AFTER_CREATE, method="POST", path="/v2/databases", times=2)
    )
    spec = spec_of(registry, database())
    state = await make(provider, owner, spec)
    assert state.status == "active"
    assert await provider.read(owner, state) is not None  # a 404 by id is checked with a list
    assert emulator.log.count("GET /v2/databases/{database_cluster_uuid}", status=404) == 1
    await provider.delete(owner, state)
    assert emulator.is_empty()


async def test_recover_adopts_what_an_earlier_run_made(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, database())
    first = await provider.create(StepContext(owner, spec, spec.resource("db"), {}))
    emulator.log.clear()
    second = await provider.create(StepContext(owner, spec, spec.resource("db"), {}), recover=True)
    assert second.ids == first.ids
    assert emulator.log.count("POST /v2/databases") == 0


@pytest.mark.parametrize(
    ("changed", "top", "why"),
    [
        ({"engine": "mysql"}, {}, "change engine from pg to mysql"),
        ({"version": "15"}, {}, "change version from 16 to 15"),
        ({"vpc": "net"}, {}, "move to another VPC"),
        ({}, {"region": "sfo3"}, "move from nyc3 to sfo3"),
    ],
)
async def test_what_cannot_change_in_place_is_refused_untouched(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    *,
    owner: Owner,
    registry: ProviderRegistry,
    changed: dict[str, object],
    top: dict[str, object],
    why: str,
) -> None:
    extra: list[dict[str, object]] = [{"type": "vpc", "name": "net", "specifications": {}}]
    spec = spec_of(registry, database(version="16"), *extra)
    state = await make(provider, owner, spec)  # in the region's default VPC
    net = await vpc(provider, "shop-net")  # made after, so it is not the default
    before = emulator.objects("databases")
    new = spec_of(registry, database(**{"version": "16", **changed}), *extra, **top)
    emulator.log.clear()
    with pytest.raises(ProviderOperationError, match="needs a replacement") as caught:
        await provider.update(StepContext(owner, new, new.resource("db"), {"net": net}), state)
    assert why in str(caught.value)
    assert emulator.objects("databases") == before
    assert [r.key for r in emulator.log.records if not r.key.startswith("GET")] == []


async def test_joins_the_vpc_it_names(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    await vpc(provider, "shop-first")  # the region's default, where an unplaced cluster goes
    net = await vpc(provider, "shop-net")
    spec = spec_of(
        registry, database(vpc="net"), {"type": "vpc", "name": "net", "specifications": {}}
    )
    state = await make(provider, owner, spec, deps={"net": net})
    assert state.attribute("private_network_uuid") == net.ids[0]
    same = await provider.update(StepContext(owner, spec, spec.resource("db"), {"net": net}), state)
    assert emulator.log.count(RESIZE) == 0  # nothing to change
    assert same.objects[0].attributes == state.objects[0].attributes


async def test_more_storage_is_a_resize(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, database())
    state = await make(provider, owner, spec)
    more = spec_of(registry, database(storage_size_mib=20480))
    new = await provider.update(StepContext(owner, more, more.resource("db"), {}), state)
    [done] = await provider.wait(owner, [new], timeout=600)
    assert done.attribute("storage_size_mib") == 20480
    assert emulator.log.count(RESIZE) == 1


async def test_a_resize_whose_answer_was_lost_is_not_an_error(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, database())
    state = await make(provider, owner, spec)
    emulator.add_fault(
        Fault(FaultKind.ERROR_AFTER, method="PUT", path="/v2/databases/[^/]+/resize")
    )
    bigger = spec_of(registry, database(size="db-s-1vcpu-2gb"))
    new = await provider.update(StepContext(owner, bigger, bigger.resource("db"), {}), state)
    assert emulator.faults == []  # it did strike
    assert new.status == "updating"
    [done] = await provider.wait(owner, [new], timeout=600)
    assert done.attribute("size") == "db-s-1vcpu-2gb"


async def test_tags_are_set_at_creation_and_then_kept(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    # DigitalOcean's published schema offers no way to retag a cluster (the tag-resources
    # enum omits "database"), so a cluster keeps the tags it was created with.
    state = await make(provider, owner, spec_of(registry, database()))
    created = set(state.attribute("tags"))
    assert "env:test" in created
    retagged = spec_of(registry, database(), tags={"env": "prod", "team": "shop"})
    emulator.log.clear()
    new = await provider.update(StepContext(owner, retagged, retagged.resource("db"), {}), state)
    assert set(new.attribute("tags")) == created
    assert not [r for r in emulator.log.records if "/v2/tags" in r.path]
    assert emulator.log.count(RESIZE) == 0


async def test_a_cluster_missing_from_the_list_gets_a_grace_period(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, database())
    state = await provider.create(StepContext(owner, spec, spec.resource("db"), {}))
    ghost = attrs.evolve(state, objects=(attrs.evolve(state.objects[0], id="no-such-cluster"),))
    [real, gone] = await provider.wait(
        owner, [attrs.evolve(state, name="real"), ghost], timeout=600
    )
    assert real.status == "active"
    assert gone.status == "error"


async def test_discover_groups_by_resource(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, database("a"), database("b"))
    for r in spec.resources:
        await provider.create(StepContext(owner, spec, r, {}))
    other = Owner("other", "shop")
    await provider.create(StepContext(other, spec, spec.resource("a"), {}))
    found = [s for s in await provider.discover(owner) if s.type == "database"]
    assert [(s.name, len(s.objects)) for s in found] == [("a", 1), ("b", 1)]
    assert [s.name for s in await provider.discover(other) if s.type == "database"] == ["a"]
