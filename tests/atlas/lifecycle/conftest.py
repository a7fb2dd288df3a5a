"""An AsyncAtlas on an in-memory store and an in-process emulator, on one fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from atlas.facade import AsyncAtlas
from atlas.providers import ProviderRegistry
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider

TOKEN = "dop_v1_" + "ab12" * 16  # made up


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    config = EmulatorConfig(
        latency_scale=1.0, seed=3, droplet_limit=100, default_vpc_regions=("fra1", "nyc3")
    )
    return Emulator(config, clock=clock)


@pytest.fixture
def store() -> SQLiteStore:
    return SQLiteStore(":memory:")


@pytest.fixture
async def atlas_(
    emulator: Emulator, clock: ManualClock, store: SQLiteStore, registry: ProviderRegistry
) -> AsyncIterator[AsyncAtlas]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    provider = DigitalOceanProvider(
        TOKEN,
        transport=emulator.transport(),
        env={},
        settings=OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep),
    )
    async with AsyncAtlas(
        store=store, registry=registry, providers={"digitalocean": provider}
    ) as a:
        yield a
