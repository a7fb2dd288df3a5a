"""An AsyncAtlas on an in-memory store and the memory cloud (atlas.testing.memory), on one fake
clock; and the stack the lifecycle tests apply."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner
from atlas.providers import ProviderRegistry
from atlas.store import SQLiteStore
from atlas.testing import memory
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider, NewObject
from atlas.testing.memory.handlers import MemoryHandler

TOKEN = "mem_" + "ab12" * 8  # made up; the only token the test cloud accepts

#: Six resources of the three kinds, with references between them:
#:   net <- web (3 servers), worker <- data (disk), db <- dbdata (disk)
#: 80.70 a month: 3 x 7.30 + 14.60 + 100 GB x 0.10 + 29.20 + 50 GB x 0.10.
STACK: dict[str, Any] = {
    "name": "shop",
    "provider": "memory",
    "region": "mem-1",
    "tags": {"environment": "staging", "owner": "platform"},
    "budget": {"monthly_limit": 250},
    "resources": [
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.20.0.0/20"}},
        {
            "type": "server",
            "name": "web",
            "specifications": {"size": "small", "image": "debian-12", "count": 3, "network": "net"},
        },
        {
            "type": "server",
            "name": "worker",
            "specifications": {"size": "medium", "image": "debian-12", "network": "net"},
        },
        {"type": "disk", "name": "data", "specifications": {"size_gb": 100, "attach_to": "worker"}},
        {
            "type": "server",
            "name": "db",
            "specifications": {"size": "large", "image": "debian-12", "network": "net"},
        },
        {"type": "disk", "name": "dbdata", "specifications": {"size_gb": 50, "attach_to": "db"}},
    ],
}


def stack() -> dict[str, Any]:
    return copy.deepcopy(STACK)


async def squat(cloud: MemoryCloud, owner: Owner, resource: str) -> None:
    """A disk made outside atlas that holds the name atlas gives ``owner``'s disk
    ``resource``: every create of it is refused (disk names are unique on the memory cloud),
    as a cloud refuses what it will not do. It carries no mark of atlas's."""
    name = MemoryHandler.base_name(owner, resource)
    await cloud.create(TOKEN, "disk", [NewObject(name, attributes={"size_gb": 1})])


@pytest.fixture(scope="session")
def registry() -> ProviderRegistry:
    """The memory plugin alone (the lifecycle's tests need no real cloud's plugin)."""
    return memory.registry()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cloud(clock: ManualClock) -> MemoryCloud:
    return MemoryCloud(clock=clock, tokens=[TOKEN])


@pytest.fixture
def store() -> SQLiteStore:
    return SQLiteStore(":memory:")


@pytest.fixture
async def atlas_(
    cloud: MemoryCloud, store: SQLiteStore, registry: ProviderRegistry
) -> AsyncIterator[AsyncAtlas]:
    provider = MemoryProvider(cloud, token=TOKEN)
    async with AsyncAtlas(store=store, registry=registry, providers={"memory": provider}) as a:
        yield a
