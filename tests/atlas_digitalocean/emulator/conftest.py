"""Fixtures for the emulator's tests: a manual clock, an emulator on it, and a client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import BASE_URL, TOKEN, Api


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    """Realistic latencies on a clock that only moves when a test moves it."""
    return Emulator(EmulatorConfig(seed=7), clock=clock)


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=BASE_URL,
        transport=emulator.transport(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


@pytest.fixture
def api(client: httpx.Client) -> Api:
    return Api(client)
