"""Droplets against the emulator: batches of ten, one list per polling round, verified deletes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from atlas.exceptions import AtlasError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, Fault, FaultKind, ManualClock
from atlas_digitalocean.ops.droplets import CONCURRENT_CREATES
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import provider_on, spec_of


def droplet(name: str = "web", **specs: object) -> dict[str, object]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", **specs},
    }


async def test_create_wait_read_delete(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(count=3))
    res = spec.resources[0]
    seen: list[tuple[str, list[str]]] = []

    async def on_created(name: str, objects: list[CloudObject]) -> None:
        seen.append((name, [o.id for o in objects]))

    state = await provider.create(StepContext(owner, spec, res, {}), on_created=on_created)
    assert [o.name for o in state.objects] == ["shop-web-1", "shop-web-2", "shop-web-3"]
    assert state.status == "creating"
    assert seen == [("web", list(state.ids))]
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    assert ready.attribute("public_ipv4")
    assert set(ready.attribute("tags")) >= {
        f"atlas:{owner.uid}",
        f"atlas:{owner.uid}:web",
        "env:test",
    }
    again = await provider.read(owner, ready)
    assert again is not None
    assert again.ids == ready.ids
    await provider.delete(owner, ready)
    assert emulator.is_empty()
    assert await provider.read(owner, ready) is None


async def test_hundred_droplets_take_ten_creates_and_one_list_per_round(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(count=100))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert emulator.log.count("POST /v2/droplets") == 10
    emulator.log.clear()
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"
    rounds = emulator.log.count("GET /v2/droplets")
    assert rounds == len(emulator.log) >= 1  # nothing but one list call per round
    emulator.log.clear()
    await provider.delete(owner, ready)
    assert emulator.log.count("DELETE /v2/droplets") == 1
    assert emulator.is_empty()


async def test_creates_run_side_by_side_but_never_more_than_the_bound(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = await provider.api()
    real = api.create_droplets
    in_flight = peak = 0

    async def tracked(body: dict[str, object]) -> list[dict[str, object]]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0)  # a real call yields while it waits for the answer
            return await real(body)
        finally:
            in_flight -= 1

    monkeypatch.setattr(api, "create_droplets", tracked)
    spec = spec_of(registry, droplet(count=95))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert peak == CONCURRENT_CREATES
    assert emulator.log.count("POST /v2/droplets") == 10
    assert [o.name for o in state.objects] == [f"shop-web-{i}" for i in range(1, 96)]
    assert len(set(state.ids)) == 95


async def test_a_refused_batch_leaves_every_created_droplet_recorded(
    clock: ManualClock, owner: Owner, registry: ProviderRegistry
) -> None:
    small = Emulator(EmulatorConfig(latency_scale=1.0, droplet_limit=25, seed=7), clock=clock)
    provider = provider_on(small, clock)
    recorded: list[str] = []

    async def on_created(name: str, objects: list[CloudObject]) -> None:
        recorded.extend(o.id for o in objects)

    spec = spec_of(registry, droplet(count=40))
    try:
        with pytest.raises(AtlasError, match=r"(?i)limit"):
            await provider.create(
                StepContext(owner, spec, spec.resources[0], {}), on_created=on_created
            )
    finally:
        await provider.aclose()
    made = {str(d["id"]) for d in small.objects("droplets")}
    assert len(made) == 20  # two batches fit under the limit of 25, the others were refused
    assert sorted(recorded) == sorted(made)


async def test_polling_rounds_start_a_poll_interval_apart_however_long_a_round_takes(
    clock: ManualClock, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    slept: list[float] = []
    provider = provider_on(emulator, clock, slept)
    try:
        spec = spec_of(registry, droplet(count=3))
        state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
        handler = await provider.handler("droplet")
        real_poll = handler.poll
        took = iter([0.3, 0.9])

        async def slow_poll(
            owner: Owner, states: Sequence[ResourceState]
        ) -> Mapping[str, CloudObject]:
            clock.advance(next(took, 0.0))  # a round of many pages, say
            return await real_poll(owner, states)

        handler.poll = slow_poll  # type: ignore[method-assign]
        [ready] = await provider.wait(owner, [state], timeout=60)
    finally:
        await provider.aclose()
    assert ready.status == "active"
    # The first round a whole interval after the create; then 1 - 0.3, then not 1 - 0.9 but
    # a quarter of the interval, then whole seconds
    assert slept[:3] == pytest.approx([1.0, 0.7, 0.25])
    assert slept[3:] == pytest.approx([1.0] * len(slept[3:]))


async def test_several_resources_share_each_polling_call(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet("a", count=4), droplet("b", count=2), droplet("c"))
    states = [await provider.create(StepContext(owner, spec, r, {})) for r in spec.resources]
    emulator.log.clear()
    ready = await provider.wait(owner, states, timeout=60)
    assert [s.status for s in ready] == ["active"] * 3
    per_round = emulator.log.count("GET /v2/droplets")
    assert per_round == len(emulator.log)
    assert per_round <= 5


@pytest.mark.parametrize("kind", [FaultKind.ERROR_AFTER, FaultKind.DROP_AFTER])
async def test_ambiguous_create_is_adopted_not_repeated(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    registry: ProviderRegistry,
    kind: FaultKind,
) -> None:
    emulator.add_fault(Fault(kind, method="POST", path="/v2/droplets", times=1))
    spec = spec_of(registry, droplet(count=12))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert len(state.objects) == 12
    assert len(emulator.objects("droplets")) == 12
    assert emulator.log.count("POST /v2/droplets") == 2  # the doubtful one, then the rest


async def test_error_before_create_is_tried_again(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, method="POST", path="/v2/droplets", times=1))
    spec = spec_of(registry, droplet())
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    assert len(state.objects) == 1
    assert len(emulator.objects("droplets")) == 1


async def test_recover_adopts_what_an_earlier_run_made(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(count=3))
    first = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    emulator.log.clear()
    second = await provider.create(StepContext(owner, spec, spec.resources[0], {}), recover=True)
    assert second.ids == first.ids
    assert emulator.log.count("POST /v2/droplets") == 0


async def test_resize_powers_off_resizes_and_powers_on(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet())
    [state] = await provider.wait(
        owner, [await provider.create(StepContext(owner, spec, spec.resources[0], {}))], timeout=60
    )
    bigger = spec_of(registry, droplet(size="s-2vcpu-4gb"))
    emulator.log.clear()
    new = await provider.update(StepContext(owner, bigger, bigger.resources[0], {}), state)
    assert new.attribute("size") == "s-2vcpu-4gb"
    assert new.status == "active"
    actions = [r for r in emulator.log.records if r.key.startswith("POST /v2/droplets/")]
    assert len(actions) == 3


async def test_count_change_adds_and_removes_droplets(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet(count=2))
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    more = spec_of(registry, droplet(count=4))
    grown = await provider.update(StepContext(owner, more, more.resources[0], {}), state)
    assert [o.name for o in grown.objects] == [f"shop-web-{i}" for i in range(1, 5)]
    fewer = spec_of(registry, droplet(count=1))
    shrunk = await provider.update(StepContext(owner, fewer, fewer.resources[0], {}), grown)
    assert [o.name for o in shrunk.objects] == ["shop-web"]
    assert len(emulator.objects("droplets")) == 1


async def test_discover_finds_everything_owned(
    provider: DigitalOceanProvider, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet("a", count=2), droplet("b"))
    for r in spec.resources:
        await provider.create(StepContext(owner, spec, r, {}))
    found = await provider.discover(owner)
    assert [(s.name, len(s.objects)) for s in found] == [("a", 2), ("b", 1)]
    assert await provider.discover(Owner("other", "shop")) == []


async def test_new_spec_tags_are_created_and_applied(
    provider: DigitalOceanProvider, emulator: Emulator, owner: Owner, registry: ProviderRegistry
) -> None:
    spec = spec_of(registry, droplet())
    [state] = await provider.wait(
        owner, [await provider.create(StepContext(owner, spec, spec.resources[0], {}))], timeout=60
    )
    retagged = spec_of(registry, droplet(), tags={"team": "payments"})
    new = await provider.update(StepContext(owner, retagged, retagged.resources[0], {}), state)
    tags = set(new.attribute("tags"))
    assert "team:payments" in tags
    assert "env:test" not in tags
    assert {f"atlas:{owner.uid}", f"atlas:{owner.uid}:web"} <= tags
