"""Cloud credentials per workspace: the caller's JWT goes to the Context Manager, the
environment is the fallback; a failure names the sources tried, never a secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atlas.credentials import Secret
from atlas.providers.contract import Provider
from atlas.server import ApiKey, ApiKeyring, AuthConfig, create_app, hash_api_key, new_api_key
from atlas_digitalocean.emulator import EmulatorConfig, ServedEmulator, serve
from tests.atlas.server.conftest import SECRET, MakeSettings, Served, spec, token, wait_for
from tests.atlas.server.context_manager import context_manager

pytestmark = pytest.mark.loopback

DO_TOKEN = "dop_v1_" + "c0ffee00" * 8  # made up; the only token the emulator accepts


@pytest.fixture
def cloud() -> Iterator[ServedEmulator]:
    config = EmulatorConfig(latency_scale=0, tokens=[DO_TOKEN], default_vpc_regions=("fra1",))
    with serve(config=config) as served:
        yield served


async def test_the_callers_jwt_fetches_the_workspace_credential(
    make_settings: MakeSettings, cloud: ServedEmulator
) -> None:
    with context_manager(SECRET, {("ws-a", "digitalocean_api_token"): DO_TOKEN}) as cm:
        env = {
            "CONTEXT_MANAGER_URL": cm.url,
            "DIGITALOCEAN_API_URL": cloud.url,
            "DIGITALOCEAN_POLL_INTERVAL": "0.01",
        }
        # The plugin's own factory and the default probe: nothing injected but the environment.
        app = create_app(make_settings(shared_providers={}, env=env))
        served = Served(app)
        mine, theirs = token("ws-a"), token("ws-b")
        async with app.router.lifespan_context(app):
            async with served.client({"Authorization": f"Bearer {mine}"}) as c:
                [do] = (await c.get("/api/v1/providers")).json()["providers"]
                assert (do["status"], do["credentials"]) == ("available", "found")
                r = await c.post("/api/v1/infrastructure", json=spec())
                assert r.status_code == 201, r.text
                op = await wait_for(c, r.json()["operation"]["id"])
                assert op["status"] == "completed", op["error"]
            assert f"Bearer {mine}" in cm.seen
            assert len(cloud.emulator.objects("droplets")) == 2

            async with served.client({"Authorization": f"Bearer {theirs}"}) as c:
                [do] = (await c.get("/api/v1/providers")).json()["providers"]
                assert (do["status"], do["credentials"]) == ("disconnected", "missing")
                r = await c.post("/api/v1/infrastructure", json=spec())
        assert r.status_code == 424
        body = r.json()
        assert body["code"] == "CREDENTIALS_ERROR"
        assert (
            f"context manager at {cm.url}: no credential 'digitalocean_api_token'"
            in (body["message"])
        )
        assert any("DIGITALOCEAN_TOKEN" in s for s in body["sources_tried"])
        for secret in (DO_TOKEN, theirs, mine, SECRET):
            assert secret not in r.text
            assert secret not in str(do)


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


async def test_each_operation_gets_a_provider_for_its_caller(make_settings: MakeSettings) -> None:
    from atlas_digitalocean.emulator import Emulator, ManualClock
    from tests.atlas.server.conftest import emulator_provider

    clock = ManualClock()
    emulator = Emulator(EmulatorConfig(default_vpc_regions=("fra1",)), clock=clock)
    built: list[tuple[str, str | None]] = []
    providers: list[Provider] = []

    def factory(name: str, jwt: Secret | None) -> Provider:
        built.append((name, None if jwt is None else jwt.reveal()))
        providers.append(emulator_provider(emulator, clock))
        return providers[-1]

    app = create_app(make_settings(shared_providers={}, provider_factory=factory))
    jwt = token("ws-a")
    async with Served(app).client({"Authorization": f"Bearer {jwt}"}) as c:
        r = await c.post("/api/v1/infrastructure", json=spec(resources=spec()["resources"][:1]))
        assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
        r = await c.delete("/api/v1/infrastructure/shop")
        assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"
    assert built == [("digitalocean", jwt), ("digitalocean", jwt)]
