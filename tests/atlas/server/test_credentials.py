"""Cloud credentials per workspace: the caller's JWT goes to the Context Manager, the
environment is the fallback; a failure names the sources tried, never a secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atlas.credentials import Secret
from atlas.providers import ProviderRegistry
from atlas.providers.contract import Provider
from atlas.server import ApiKey, ApiKeyring, AuthConfig, create_app, hash_api_key, new_api_key
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider
from tests.atlas.server.conftest import (
    SECRET,
    MakeSettings,
    Served,
    cloud_provider,
    spec,
    token,
    wait_for,
)
from tests.atlas.server.context_manager import context_manager

pytestmark = pytest.mark.loopback

MEMORY_TOKEN = "mem_" + "c0ffee00" * 4  # made up; the only token the cloud accepts


def strict_factory(
    cloud: MemoryCloud, registry: ProviderRegistry, env: dict[str, str]
) -> Callable[[str, Secret | None], Provider]:
    """What the plugin's factory does, on a cloud of the test's own (the plugin's is one
    process-wide cloud that takes any token): a provider whose credential comes from the chain
    the core builds from the provider's declared sources, with the caller's JWT."""

    def factory(name: str, jwt: Secret | None) -> Provider:
        return MemoryProvider(cloud, credentials=registry.credentials(name, jwt=jwt, env=env))

    return factory


async def test_the_callers_jwt_fetches_the_workspace_credential(
    make_settings: MakeSettings, registry: ProviderRegistry
) -> None:
    cloud = MemoryCloud(clock=ManualClock(), tokens=[MEMORY_TOKEN])
    with context_manager(SECRET, {("ws-a", "memory_token"): MEMORY_TOKEN}) as cm:
        env = {"CONTEXT_MANAGER_URL": cm.url}
        # The default probe: nothing injected but the environment.
        factory = strict_factory(cloud, registry, env)
        app = create_app(make_settings(shared_providers={}, provider_factory=factory, env=env))
        served = Served(app)
        mine, theirs = token("ws-a"), token("ws-b")
        async with app.router.lifespan_context(app):
            async with served.client({"Authorization": f"Bearer {mine}"}) as c:
                [listed] = (await c.get("/api/v1/providers")).json()["providers"]
                assert (listed["status"], listed["credentials"]) == ("available", "found")
                r = await c.post("/api/v1/infrastructure", json=spec())
                assert r.status_code == 201, r.text
                op = await wait_for(c, r.json()["operation"]["id"])
                assert op["status"] == "completed", op["error"]
            assert f"Bearer {mine}" in cm.seen
            assert len(cloud.objects("server")) == 2

            async with served.client({"Authorization": f"Bearer {theirs}"}) as c:
                r = await c.get("/api/v1/providers")
        [listed] = r.json()["providers"]
        assert (listed["status"], listed["credentials"]) == ("disconnected", "missing")
        problem = listed["credentials_error"]
        assert f"context manager at {cm.url}: no credential 'memory_token'" in problem
        assert "ATLAS_MEMORY_TOKEN" in problem
        for secret in (MEMORY_TOKEN, theirs, mine, SECRET):
            assert secret not in r.text


async def test_a_create_without_a_credential_is_refused_naming_the_sources(
    make_settings: MakeSettings, registry: ProviderRegistry
) -> None:
    cloud = MemoryCloud(clock=ManualClock(), tokens=[MEMORY_TOKEN])
    with context_manager(SECRET, {}) as cm:
        env = {"CONTEXT_MANAGER_URL": cm.url}
        factory = strict_factory(cloud, registry, env)
        app = create_app(make_settings(shared_providers={}, provider_factory=factory, env=env))
        jwt = token("ws-b")
        async with (
            app.router.lifespan_context(app),
            Served(app).client({"Authorization": f"Bearer {jwt}"}) as c,
        ):
            r = await c.post("/api/v1/infrastructure", json=spec())
            listed = (await c.get("/api/v1/infrastructure")).json()
    assert r.status_code == 424, r.text
    body = r.json()
    assert body["code"] == "CREDENTIALS_ERROR"
    assert f"context manager at {cm.url}: no credential 'memory_token'" in body["message"]
    assert any("ATLAS_MEMORY_TOKEN" in s for s in body["sources_tried"])
    assert jwt not in r.text
    assert listed["count"] == 0  # nothing recorded
    assert cloud.calls == []


async def test_estimates_and_plans_need_no_credentials(
    make_settings: MakeSettings,
) -> None:
    key = new_api_key()
    built: list[tuple[str, Secret | None]] = []

    def factory(name: str, jwt: Secret | None) -> Provider:
        built.append((name, jwt))
        raise AssertionError("a plan needs no provider")

    auth = AuthConfig(
        jwt_secret=Secret(SECRET), api_keys=ApiKeyring((ApiKey("ci", "ws-k", hash_api_key(key)),))
    )
    app = create_app(make_settings(auth=auth, shared_providers={}, provider_factory=factory))
    async with Served(app).client({"X-API-Key": key}) as c:
        assert (await c.post("/api/v1/plan", json=spec())).status_code == 200
        assert (await c.post("/api/v1/estimate-cost", json=spec())).status_code == 200
    assert built == []  # estimates and plans never need credentials


async def test_the_operations_of_a_workspace_share_a_provider_built_for_its_first_caller(
    make_settings: MakeSettings,
) -> None:
    cloud = MemoryCloud(clock=ManualClock(), tokens=[MEMORY_TOKEN])
    built: list[tuple[str, str | None]] = []
    providers: list[Provider] = []

    def factory(name: str, jwt: Secret | None) -> Provider:
        built.append((name, None if jwt is None else jwt.reveal()))
        providers.append(cloud_provider(cloud, token=MEMORY_TOKEN))
        return providers[-1]

    app = create_app(make_settings(shared_providers={}, provider_factory=factory))
    jwt = token("ws-a")
    async with Served(app).client({"Authorization": f"Bearer {jwt}"}) as c:
        r = await c.post("/api/v1/infrastructure", json=spec(resources=spec()["resources"][:1]))
        assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
        r = await c.delete("/api/v1/infrastructure/shop")
        assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
    assert built == [("memory", jwt)]  # the create's provider, lent to the destroy
