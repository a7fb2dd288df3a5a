"""The service in process: an in-memory store, the memory cloud (atlas.testing.memory) on a
fake clock, JWT authentication, and a client whose every response is checked against the
OpenAPI document."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from atlas.credentials import Secret
from atlas.providers import ProviderRegistry, Timing
from atlas.server import AuthConfig, Settings, create_app
from atlas.store import SQLiteStore
from atlas.testing import memory
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider
from tests.atlas.server.conformance import Conformance

SECRET = "test-shared-secret-" + "x" * 64  # made up, long enough for HS512 too
TOKEN = "mem_" + "ab12" * 8  # made up; the only token the test cloud accepts

#: 22.00 a month: two small servers at 7.30 and a 74 GB disk at 0.10 a GB.
SPEC: dict[str, Any] = {
    "name": "shop",
    "provider": "memory",
    "region": "mem-1",
    "resources": [
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.20.0.0/20"}},
        {
            "type": "server",
            "name": "web",
            "specifications": {"size": "small", "image": "debian-12", "count": 2, "network": "net"},
        },
        {"type": "disk", "name": "data", "specifications": {"size_gb": 74}},
    ],
    "tags": {"env": "test"},
}


def spec(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SPEC)
    doc.update(changes)
    return doc


def token(
    workspace: str = "ws-a",
    user: Any = "user-1",
    *,
    expires_in: float = 300,
    secret: str = SECRET,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    payload = {"workspace_id": workspace, "user_id": user, "exp": int(time.time() + expires_in)}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm)


def bearer(workspace: str = "ws-a", **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(workspace, **kwargs)}"}


@pytest.fixture(scope="session")
def registry() -> ProviderRegistry:
    """The memory plugin alone (the server's tests need no real cloud's plugin)."""
    return memory.registry()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cloud(clock: ManualClock) -> MemoryCloud:
    return MemoryCloud(clock=clock, tokens=[TOKEN])


def cloud_provider(cloud: MemoryCloud, **kwargs: Any) -> MemoryProvider:
    """A provider on ``cloud``: its waits move the cloud's manual clock and yield to the event
    loop, so the app serves requests meanwhile."""
    kwargs.setdefault("token", TOKEN)
    return MemoryProvider(cloud, **kwargs)


def gated_provider(cloud: MemoryCloud, clock: ManualClock, gate: asyncio.Event) -> MemoryProvider:
    """A provider on ``cloud`` whose waits hang until ``gate`` is set."""

    async def sleep(seconds: float) -> None:
        await gate.wait()
        await clock.sleep(seconds)

    timing = Timing(poll_interval=1.0, visibility_grace=30.0, clock=clock, sleep=sleep)
    return MemoryProvider(cloud, token=TOKEN, timing=timing)


@pytest.fixture
def provider(cloud: MemoryCloud) -> MemoryProvider:
    return cloud_provider(cloud)


@pytest.fixture
def store() -> SQLiteStore:
    return SQLiteStore(":memory:")


MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(
    store: SQLiteStore, registry: ProviderRegistry, provider: MemoryProvider
) -> MakeSettings:
    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "store": store,
            "registry": registry,
            "auth": AuthConfig(jwt_secret=Secret(SECRET)),
            "shared_providers": {"memory": provider},
            "watch_interval": 0.01,
            "event_interval": 0.05,
        }
        return Settings(**{**base, **overrides})

    return make


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


class Served:
    """A running app (lifespan entered) and a way to talk to it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.conformance = Conformance(app.state.service.document)

    def client(
        self, headers: dict[str, str] | None = None, base_url: str = "http://atlas.test"
    ) -> httpx.AsyncClient:
        async def check(response: httpx.Response) -> None:
            await response.aread()
            self.conformance.check(response)

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=base_url,
            headers=headers,
            event_hooks={"response": [check]},
        )


@pytest.fixture
async def served(app: Starlette) -> AsyncIterator[Served]:
    async with app.router.lifespan_context(app):
        yield Served(app)


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with served.client(bearer("ws-a")) as c:
        yield c


@pytest.fixture
async def other(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """A caller of another workspace."""
    async with served.client(bearer("ws-b", user="user-2")) as c:
        yield c


async def wait_for(
    client: httpx.AsyncClient, operation_id: str, timeout: float = 10
) -> dict[str, Any]:
    """The operation once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        op: dict[str, Any] = (await client.get(f"/api/v1/operations/{operation_id}")).json()[
            "operation"
        ]
        if op["status"] in ("completed", "failed"):
            return op
        assert time.monotonic() < deadline, f"operation still {op['status']}: {op}"
        await asyncio.sleep(0.005)


async def created(client: httpx.AsyncClient, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create an infrastructure and wait for its operation; the infrastructure as read back."""
    r = await client.post("/api/v1/infrastructure", json=doc or spec())
    assert r.status_code == 201, r.text
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed", op
    infra: dict[str, Any] = (
        await client.get(f"/api/v1/infrastructure/{op['infrastructure_id']}")
    ).json()["infrastructure"]
    return infra
