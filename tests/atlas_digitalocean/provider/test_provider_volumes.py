"""Volumes against the emulator: adopted creates, attach and growth by action, verified deletes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from atlas.exceptions import AtlasError, ProviderOperationError, WaitTimeoutError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, Fault, FaultKind
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import spec_of

ACTIONS = "POST /v2/volumes/{volume_id}/actions"


def volume(name: str = "data", /, **specs: object) -> dict[str, object]:
    return {"type": "volume", "name": name, "specifications": {"size_gigabytes": 10, **specs}}


def droplet(name: str = "web") -> dict[str, object]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
    }


async def make(
    provider: DigitalOceanProvider,
    owner: Owner,
    spec: InfrastructureSpec,
    name: str,
    deps: dict[str, ResourceState] | None = None,
    **kw: Any,
) -> ResourceState:
    state = await provider.create(StepContext(owner, spec, spec.resource(name), deps or {}), **kw)
    [ready] = await provider.wait(owner, [state], timeout=120)
    return ready


def attached(emulator: Emulator, droplet_state: ResourceState) -> list[str]:
    [d] = [d for d in emulator.objects("droplets") if str(d["id"]) == droplet_state.ids[0]]
    return list(d["volume_ids"])


async def test_create_attach_read_grow_retag_delete(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    contract_checker: Any,
) -> None:
    emulator.on_exchange.append(contract_checker)
    spec = spec_of(
        registry,
        droplet(),
        volume(attach_to="web", filesystem_type="ext4", description="orders"),
    )
    web = await make(provider, owner, spec, "web")
    seen: list[tuple[str, list[CloudObject]]] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        seen.append((name, list(objects)))

    state = await provider.create(
        StepContext(owner, spec, spec.resource("data"), {"web": web}), on_created=on_created
    )
    assert [(n, [o.id for o in objs]) for n, objs in seen] == [("data", list(state.ids))]
    assert seen[0][1][0].status == "creating"  # reported before the attach was done
    assert state.status == "active"
    assert state.objects[0].name == f"shop-data-{owner.uid}"
    assert state.attribute("droplet_ids") == [web.ids[0]]
    assert state.attribute("filesystem_type") == "ext4"
    assert set(state.attribute("tags")) == {
        f"atlas:{owner.uid}",
        f"atlas:{owner.uid}:data",
        "env:test",
    }
    assert attached(emulator, web) == [state.ids[0]]
    [ready] = await provider.wait(owner, [state], timeout=60)
    again = await provider.read(owner, ready)
    assert again is not None
    assert again.objects == ready.objects

    bigger = spec_of(
        registry,
        droplet(),
        volume(size_gigabytes=25, attach_to="web", filesystem_type="ext4", description="orders"),
        tags={"env": "prod"},
    )
    grown = await provider.update(
        StepContext(owner, bigger, bigger.resource("data"), {"web": web}), ready
    )
    assert grown.attribute("size_gigabytes") == 25
    assert "env:prod" in grown.attribute("tags")
    assert "env:test" not in grown.attribute("tags")
    assert grown.attribute("droplet_ids") == [web.ids[0]]

    await provider.delete(owner, grown)  # detaches first: DigitalOcean refuses otherwise
    assert attached(emulator, web) == []
    assert await provider.read(owner, grown) is None
    await provider.delete(owner, web)
    assert emulator.is_empty()
    contract_checker.assert_clean()


async def test_attach_move_and_detach(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet("a"), droplet("b"), volume())
    a, b = await make(provider, owner, spec, "a"), await make(provider, owner, spec, "b")
    deps = {"a": a, "b": b}
    state = await make(provider, owner, spec, "data", deps)
    assert state.attribute("droplet_ids") == []
    for target, want in (("a", [a.ids[0]]), ("b", [b.ids[0]]), (None, [])):
        new = spec_of(registry, droplet("a"), droplet("b"), volume(attach_to=target))
        state = await provider.update(StepContext(owner, new, new.resource("data"), deps), state)
        assert state.attribute("droplet_ids") == want
        assert attached(emulator, a) == ([state.ids[0]] if target == "a" else [])
        assert attached(emulator, b) == ([state.ids[0]] if target == "b" else [])
    # a → b was a detach then an attach, each its own action
    assert emulator.log.count(ACTIONS) == 4


async def test_grow_is_one_resize_action(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, volume())
    state = await make(provider, owner, spec, "data")
    bigger = spec_of(registry, volume(size_gigabytes=100))
    emulator.log.clear()
    grown = await provider.update(StepContext(owner, bigger, bigger.resource("data"), {}), state)
    assert grown.attribute("size_gigabytes") == 100
    assert emulator.log.count(ACTIONS) == 1
    assert emulator.objects("volumes")[0]["size_gigabytes"] == 100


@pytest.mark.parametrize(
    ("changed", "top", "why"),
    [
        ({"size_gigabytes": 5}, {}, "shrink from 10 to 5 GiB"),
        ({"filesystem_type": "xfs"}, {}, "reformatted as xfs"),
        ({"description": "other"}, {}, "description"),
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
    spec = spec_of(registry, volume(filesystem_type="ext4", description="d"))
    state = await make(provider, owner, spec, "data")
    before = emulator.objects("volumes")
    new = spec_of(
        registry, volume(**{"filesystem_type": "ext4", "description": "d", **changed}), **top
    )
    emulator.log.clear()
    with pytest.raises(ProviderOperationError, match="needs a replacement") as caught:
        await provider.update(StepContext(owner, new, new.resource("data"), {}), state)
    assert why in str(caught.value)
    assert emulator.objects("volumes") == before
    assert [r.key for r in emulator.log.records if not r.key.startswith("GET")] == []


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
    emulator.add_fault(Fault(kind, method="POST", path="/v2/volumes", times=1))
    spec = spec_of(registry, volume())
    state = await provider.create(StepContext(owner, spec, spec.resource("data"), {}))
    assert emulator.faults == []  # it did strike
    [only] = emulator.objects("volumes")
    assert state.ids == (only["id"],)
    assert emulator.log.count("POST /v2/volumes") == posts
    keys = [r.key for r in emulator.log.records if r.key in ("POST /v2/volumes", "GET /v2/volumes")]
    assert keys[:2] == ["POST /v2/volumes", "GET /v2/volumes"]  # looked before anything else


async def test_attach_in_doubt_is_not_sent_twice(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(), volume(attach_to="web"))
    web = await make(provider, owner, spec, "web")
    emulator.add_fault(
        Fault(FaultKind.ERROR_AFTER, method="POST", path="/v2/volumes/[^/]+/actions")
    )
    state = await make(provider, owner, spec, "data", {"web": web})
    assert emulator.faults == []  # it did strike
    assert state.attribute("droplet_ids") == [web.ids[0]]
    assert emulator.log.count(ACTIONS) == 1
    assert emulator.log.count(ACTIONS, status=500) == 1
    assert attached(emulator, web) == [state.ids[0]]


async def test_not_found_right_after_create_does_not_fail(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(
        Fault(FaultKind.NOT_FOUND_AFTER_CREATE, method="POST", path="/v2/volumes", times=3)
    )
    spec = spec_of(registry, volume())
    state = await make(provider, owner, spec, "data")
    assert state.status == "active"
    assert emulator.log.count("GET /v2/volumes/{volume_id}", status=404) == 0  # hidden reads left
    assert await provider.read(owner, state) is not None  # a 404 by id is checked with a list
    bigger = spec_of(registry, volume(size_gigabytes=20))
    grown = await provider.update(StepContext(owner, bigger, bigger.resource("data"), {}), state)
    assert grown.attribute("size_gigabytes") == 20
    assert emulator.log.count("GET /v2/volumes/{volume_id}", status=404) == 3  # all were met
    await provider.delete(owner, grown)
    assert emulator.is_empty()


async def test_a_volume_missing_from_the_list_gets_a_grace_period(
    provider: DigitalOceanProvider, owner: Owner
) -> None:
    ghost = CloudObject(
        "0f0f0f0f-0000-4000-8000-000000000000", "shop-data", "creating", {"region": "nyc3"}
    )
    state = ResourceState("volume", "data", (ghost,))
    with pytest.raises(WaitTimeoutError):
        await provider.wait(owner, [state], timeout=10)  # not yet an error: it may still appear
    [gone] = await provider.wait(owner, [state], timeout=120)
    assert gone.status == "error"
    assert gone.attribute("error") == "disappeared after create"


async def test_polling_costs_one_list_per_round_for_any_number(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, *(volume(f"v{i}") for i in range(6)))
    made = [await provider.create(StepContext(owner, spec, r, {})) for r in spec.resources]
    # As a resumed run finds them recorded: reported, not yet known to be ready.
    pending = [
        attrs.evolve(s, objects=tuple(attrs.evolve(o, status="creating") for o in s.objects))
        for s in made
    ]
    emulator.log.clear()
    ready = await provider.wait(owner, pending, timeout=60)
    assert [s.status for s in ready] == ["active"] * 6
    assert emulator.log.count("GET /v2/volumes") == len(emulator.log) == 1


async def test_recover_adopts_and_finishes_the_attach(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(), volume(attach_to="web"))
    web = await make(provider, owner, spec, "web")
    # An earlier run made the volume, then stopped before attaching it.
    first = await make(provider, owner, spec_of(registry, droplet(), volume()), "data")
    emulator.log.clear()
    second = await provider.create(
        StepContext(owner, spec, spec.resource("data"), {"web": web}), recover=True
    )
    assert second.ids == first.ids
    assert second.attribute("droplet_ids") == [web.ids[0]]
    assert emulator.log.count("POST /v2/volumes") == 0


async def test_a_taken_name_is_adopted_only_when_it_is_this_resources(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, volume())
    first = await make(provider, owner, spec, "data")
    again = await provider.create(StepContext(owner, spec, spec.resource("data"), {}))  # no recover
    assert again.ids == first.ids
    assert len(emulator.objects("volumes")) == 1


async def test_a_missing_droplet_fails_before_anything_is_made(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(), volume(attach_to="web"))
    with pytest.raises(AtlasError, match="'web'"):
        await provider.create(StepContext(owner, spec, spec.resource("data"), {}))
    assert emulator.log.count("POST /v2/volumes") == 0


async def test_discover_groups_by_resource(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, volume("a"), volume("b"))
    for r in spec.resources:
        await provider.create(StepContext(owner, spec, r, {}))
    other = Owner("other", "shop")
    await provider.create(StepContext(other, spec, spec.resource("a"), {}))
    found = [s for s in await provider.discover(owner) if s.type == "volume"]
    assert [(s.name, len(s.objects)) for s in found] == [("a", 1), ("b", 1)]
    assert [s.name for s in await provider.discover(other) if s.type == "volume"] == ["a"]
