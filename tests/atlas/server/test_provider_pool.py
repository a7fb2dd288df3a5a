"""The server lends one provider per (provider, workspace) to its requests and operations, so
they share polling rounds and account reads as the library's operations do; never across
workspaces, never keeping a credential that failed, closed when idle, too old, or at shutdown.
Lifetimes run on a manual timer: no real waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from atlas.credentials import Secret
from atlas.exceptions import AuthenticationError, CredentialsError
from atlas.providers import ProviderRegistry, Timing
from atlas.providers.contract import Provider
from atlas.server import (
    ApiKey,
    ApiKeyring,
    AuthConfig,
    Principal,
    create_app,
    hash_api_key,
    new_api_key,
)
from atlas.server.providers import ProviderPool
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider
from tests.atlas.server.conftest import (
    SECRET,
    TOKEN,
    MakeSettings,
    Served,
    bearer,
    spec,
    token,
    wait_for,
)
from tests.atlas.server.context_manager import context_manager

Built = list[tuple["Counted", str | None]]


class Counted(MemoryProvider):
    """A memory provider that counts its closes."""

    closes = 0

    async def aclose(self) -> None:
        self.closes += 1
        await super().aclose()


def counting_factory(
    cloud: MemoryCloud, built: Built, timing: Timing | None = None
) -> Callable[[str, Secret | None], Provider]:
    """Each provider built, with the JWT it was built for."""

    def factory(name: str, jwt: Secret | None) -> Provider:
        del name
        built.append((Counted(cloud, token=TOKEN, timing=timing), jwt and jwt.reveal()))
        return built[-1][0]

    return factory


def gated(clock: ManualClock, gate: asyncio.Event) -> Timing:
    """Waits that hang until ``gate`` is set (as conftest.gated_provider's)."""

    async def sleep(seconds: float) -> None:
        await gate.wait()
        await clock.sleep(seconds)

    return Timing(poll_interval=1.0, visibility_grace=30.0, clock=clock, sleep=sleep)


def one_server(name: str) -> dict[str, Any]:
    server = {"type": "server", "name": "web", "specifications": {"size": "small", "image": "x"}}
    return spec(name=name, resources=[server])


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("not reached")


async def test_concurrent_operations_of_a_workspace_share_a_provider_and_its_rounds(
    make_settings: MakeSettings, cloud: MemoryCloud, clock: ManualClock
) -> None:
    gate = asyncio.Event()
    built: Built = []
    factory = counting_factory(cloud, built, gated(clock, gate))
    app = create_app(make_settings(shared_providers={}, provider_factory=factory))
    async with app.router.lifespan_context(app), Served(app).client(bearer("ws-a")) as c:
        started = [await c.post("/api/v1/infrastructure", json=one_server(n)) for n in "ab"]
        assert [r.status_code for r in started] == [201, 201]
        await until(lambda: len(cloud.objects("server")) == 2)
        await asyncio.sleep(0.02)  # both servers' waits join the rounds, which hang on the gate
        # Nothing polled yet: the first round comes a poll interval after the creates.
        assert cloud.calls.count("list server") == 0
        gate.set()
        ops = [await wait_for(c, r.json()["operation"]["id"]) for r in started]
        assert [op["status"] for op in ops] == ["completed", "completed"]
        # One list a round for both waits: rounds at 1, 2, ..., 5 s of the clock (only the
        # shared rounds sleep on it), the servers ready at 5 s; on their own rounds, 10.
        assert cloud.calls.count("list server") == 5
    [(provider, _)] = built
    assert provider.closes == 1  # at shutdown


async def test_workspaces_never_share_a_provider(
    make_settings: MakeSettings, cloud: MemoryCloud
) -> None:
    built: Built = []
    app = create_app(
        make_settings(shared_providers={}, provider_factory=counting_factory(cloud, built))
    )
    served = Served(app)
    mine, theirs = token("ws-a"), token("ws-b", user="user-2")
    async with app.router.lifespan_context(app):
        for jwt, name in ((mine, "one"), (theirs, "two"), (mine, "three")):
            async with served.client({"Authorization": f"Bearer {jwt}"}) as c:
                r = await c.post("/api/v1/infrastructure", json=one_server(name))
                assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
        assert [jwt for _, jwt in built] == [mine, theirs]  # ws-a's third found its own
        assert built[0][0] is not built[1][0]
    assert [p.closes for p, _ in built] == [1, 1]


async def test_a_failed_credential_is_not_kept_for_the_next_caller(
    make_settings: MakeSettings, registry: ProviderRegistry
) -> None:
    cloud = MemoryCloud(clock=ManualClock(), tokens=[TOKEN])
    key = new_api_key()
    auth = AuthConfig(
        jwt_secret=Secret(SECRET), api_keys=ApiKeyring((ApiKey("ci", "ws-a", hash_api_key(key)),))
    )
    with context_manager(SECRET, {("ws-a", "memory_token"): TOKEN}) as cm:
        env = {"CONTEXT_MANAGER_URL": cm.url}

        def factory(name: str, jwt: Secret | None) -> Provider:
            return MemoryProvider(cloud, credentials=registry.credentials(name, jwt=jwt, env=env))

        app = create_app(
            make_settings(auth=auth, shared_providers={}, provider_factory=factory, env=env)
        )
        served = Served(app)
        async with app.router.lifespan_context(app):
            # An API key carries no JWT: the Context Manager is not asked, the environment
            # has no token, so no credential; the provider built for it must not be lent on.
            async with served.client({"X-API-Key": key}) as c:
                r = await c.post("/api/v1/infrastructure", json=one_server("one"))
            assert r.status_code == 424, r.text
            assert len(app.state.service.workspaces.providers) == 0
            async with served.client(bearer("ws-a")) as c:
                r = await c.post("/api/v1/infrastructure", json=one_server("one"))
                assert r.status_code == 201, r.text
                assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
    assert len(cloud.objects("server")) == 1


async def test_a_provider_past_its_age_is_replaced_and_closed_when_its_operation_ends(
    make_settings: MakeSettings, cloud: MemoryCloud, clock: ManualClock
) -> None:
    gate = asyncio.Event()
    timer = ManualClock()
    built: Built = []
    factory = counting_factory(cloud, built, gated(clock, gate))
    settings = make_settings(
        shared_providers={}, provider_factory=factory, timer=timer, provider_max_age=600.0
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), Served(app).client(bearer("ws-a")) as c:
        first = await c.post("/api/v1/infrastructure", json=one_server("old"))
        assert first.status_code == 201
        timer.advance(600.0)  # the first provider is too old to be lent again
        second = await c.post("/api/v1/infrastructure", json=one_server("new"))
        assert second.status_code == 201
        gate.set()
        [(old, _), (new, _)] = built
        for r in (first, second):
            assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
        await until(lambda: old.closes == 1)  # once its operation let go of it
        assert new.closes == 0
    assert (old.closes, new.closes) == (1, 1)


# -- the pool on its own ------------------------------------------------------------------------

A = Principal("ws-a", "user-1", "jwt", Secret("jwt-a"))


@pytest.fixture
def pool_of(cloud: MemoryCloud) -> Callable[..., tuple[ProviderPool, Built, ManualClock]]:
    def make(**kwargs: Any) -> tuple[ProviderPool, Built, ManualClock]:
        built: Built = []
        timer = ManualClock()
        return ProviderPool(counting_factory(cloud, built), clock=timer, **kwargs), built, timer

    return make


async def test_an_idle_provider_is_closed_after_the_idle_time(
    pool_of: Callable[..., tuple[ProviderPool, Built, ManualClock]],
) -> None:
    pool, built, timer = pool_of(idle=60.0)
    lease = pool.lease("memory", A)
    timer.advance(100.0)  # held: not idle however long
    assert await pool.sweep() == 0
    await pool.release(lease)
    timer.advance(59.0)
    assert await pool.sweep() == 0
    assert pool.lease("memory", A) is lease  # lent again while open
    await pool.release(lease)
    timer.advance(60.0)
    assert await pool.sweep() == 1
    [(provider, _)] = built
    assert provider.closes == 1
    assert pool.lease("memory", A).provider is not provider


@pytest.mark.parametrize(
    "error", [CredentialsError("no token found"), AuthenticationError("refused", status=401)]
)
async def test_a_refused_credential_retires_the_provider_once_its_holders_are_done(
    pool_of: Callable[..., tuple[ProviderPool, Built, ManualClock]], error: Exception
) -> None:
    pool, built, _ = pool_of()
    first = pool.lease("memory", A)
    also = pool.lease("memory", A)
    await pool.release(first, error)
    fresh = pool.lease("memory", A)
    assert fresh is not also
    assert built[0][0].closes == 0  # the other holder still uses it
    await pool.release(also)
    assert built[0][0].closes == 1
    await pool.release(fresh, ValueError("not about credentials"))
    assert pool.lease("memory", A) is fresh


async def test_shutdown_closes_every_provider_once(
    pool_of: Callable[..., tuple[ProviderPool, Built, ManualClock]],
) -> None:
    pool, built, timer = pool_of(max_age=10.0)
    held = pool.lease("memory", A)
    timer.advance(10.0)
    pool.lease("memory", Principal("ws-a"))  # replaces the old one, still held
    pool.lease("memory", Principal("ws-b"))
    assert len(pool) == 3
    await pool.aclose()
    assert [p.closes for p, _ in built] == [1, 1, 1]
    await pool.release(held)  # a holder that ends after the shutdown closes nothing twice
    assert [p.closes for p, _ in built] == [1, 1, 1]
    assert len(pool) == 0
