"""A provider wired to an in-process emulator, on one fake clock that nobody really waits on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from atlas.model.cloud import Owner
from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider

TOKEN = "dop_v1_" + "0123456789abcdef" * 4  # made up


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    return Emulator(EmulatorConfig(latency_scale=1.0, droplet_limit=1000, seed=7), clock=clock)


def provider_on(
    emulator: Emulator, clock: ManualClock, slept: list[float] | None = None
) -> DigitalOceanProvider:
    """A provider on ``emulator`` whose sleeps only advance ``clock`` (noted in ``slept``)."""

    async def sleep(seconds: float) -> None:
        if slept is not None:
            slept.append(seconds)
        clock.advance(seconds)

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep)
    return DigitalOceanProvider(TOKEN, transport=emulator.transport(), settings=settings, env={})


@pytest.fixture
async def provider(emulator: Emulator, clock: ManualClock) -> AsyncIterator[DigitalOceanProvider]:
    do = provider_on(emulator, clock)
    yield do
    await do.aclose()


@pytest.fixture
def owner() -> Owner:
    return Owner("default", "shop")


def spec_of(registry: ProviderRegistry, *resources: dict[str, object], **top: object):  # type: ignore[no-untyped-def]
    doc = {
        "name": "shop",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": list(resources),
        "tags": {"env": "test"},
        **top,
    }
    return validate_spec(doc, registry=registry)
