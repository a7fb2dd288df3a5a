"""The seven-kind example stack on the emulator with its default latencies (droplet 3 s,
database 10 s, load balancer 5 s, volume and firewall 1 s), in virtual time: each step starts
when its own dependencies are done and is journaled done within a polling round of its
resource being ready, so the apply takes its critical path (the database), not the sum of
waves. The issue's case: the volume on a droplet waited for the database, and the droplets
were reported done with it, 16 s in all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from atlas.facade import AsyncAtlas
from atlas.model.records import OperationRecord, StepRecord
from atlas.providers import ProviderRegistry
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.test_lifecycle_on_do import TOKEN, stack
from tests.virtual_time import VirtualTime

#: When each resource of examples/stack.yaml can be ready, from the emulator's latencies and
#: the spec's references: the VPCs at once; droplets 3 s; the volume's attach 1 s after its
#: droplet; the load balancer 5 s after web; the firewall 1 s after the load balancer.
READY = {"net": 0.0, "web": 3.0, "worker": 3.0, "db": 10.0, "data": 4.0, "lb": 8.0, "fw": 9.0}
#: Polls are a second apart: a resource is seen ready at most one round after it is.
ROUND = 1.0


@pytest.fixture
async def virtual(registry: ProviderRegistry) -> AsyncIterator[tuple[AsyncAtlas, ManualClock]]:
    clock = ManualClock()
    emulator = Emulator(EmulatorConfig(latency_scale=1.0, seed=5, droplet_limit=100), clock=clock)
    time = VirtualTime(clock)
    provider = DigitalOceanProvider(
        TOKEN,
        transport=emulator.transport(),
        env={},
        settings=OpsSettings(poll_interval=ROUND, clock=clock, sleep=time.sleep),
    )
    async with (
        time.running(),
        AsyncAtlas(
            store=SQLiteStore(":memory:"), registry=registry, providers={"digitalocean": provider}
        ) as a,
    ):
        yield a, clock


async def test_each_step_is_done_when_its_resource_is_ready_not_with_its_wave(
    virtual: tuple[AsyncAtlas, ManualClock],
) -> None:
    a, clock = virtual
    began = clock()
    done_at: dict[str, float] = {}
    statuses: dict[tuple[str, str], dict[str, str]] = {}

    def watch(op: OperationRecord, step: StepRecord | None) -> None:
        assert step is not None
        statuses[(step.resource, step.status)] = {
            s.resource: s.status for s in a.store.steps(op.id)
        }
        if step.status == "done":
            done_at[step.resource] = clock() - began

    op = await a.apply(stack(), on_progress=watch)
    assert op.status == "completed", op.error
    for name, ready in READY.items():
        assert ready <= done_at[name] <= ready + ROUND, (name, done_at)
    # The critical path is the database's: the whole apply takes it, and a round at most.
    assert clock() - began <= READY["db"] + ROUND
    # The volume started once its droplet was done, while the database was still being made.
    assert statuses[("data", "running")]["worker"] == "done"
    assert statuses[("data", "running")]["db"] == "running"
