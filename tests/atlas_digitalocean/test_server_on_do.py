"""The service on DigitalOcean: ``atlas serve`` for real against the emulator served on
loopback (a cloud that outlives the server, so a resume across a restart is seen to make
nothing twice), DigitalOcean's sandbox behind ``atlas serve --sandbox``, the workspace's
DigitalOcean token fetched from the Context Manager, and DigitalOcean's alias. The service's
own behaviour is tested on the memory provider (tests/atlas/server)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import atlas_digitalocean.plugin
from atlas.credentials import Secret
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry
from atlas.server import AuthConfig, Settings, create_app
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import EmulatorConfig, RateLimits, ServedEmulator, serve
from tests.atlas.server.conftest import SECRET, Served, bearer, created, token, wait_for
from tests.atlas.server.context_manager import context_manager
from tests.atlas.server.contract_client import ContractError, InfrastructureClient
from tests.atlas.server.serving import Server, follow

pytestmark = pytest.mark.loopback

DO_TOKEN = "dop_v1_" + "c0ffee00" * 8  # made up; the only token the emulator accepts

SPEC: dict[str, Any] = {
    "name": "shop",
    "provider": "digitalocean",
    "region": "fra1",
    "resources": [
        {"type": "vpc", "name": "net", "specifications": {"ip_range": "10.20.0.0/20"}},
        {
            "type": "droplet",
            "name": "web",
            "specifications": {
                "size": "s-1vcpu-1gb",
                "image": "ubuntu-24-04-x64",
                "count": 2,
                "vpc": "net",
            },
        },
        {"type": "volume", "name": "data", "specifications": {"size_gigabytes": 100}},
    ],
    "tags": {"env": "test"},
}


def spec(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SPEC)
    doc.update(changes)
    return doc


REGISTRY = ProviderRegistry.from_plugin_manager(
    get_plugin_manager(plugins=[atlas_digitalocean.plugin], autoload=False)
)


def do_settings(**overrides: Any) -> Settings:
    """The app on the DigitalOcean plugin alone, its providers built by the plugin's factory."""
    base: dict[str, Any] = {
        "store": SQLiteStore(":memory:"),
        "registry": REGISTRY,
        "auth": AuthConfig(jwt_secret=Secret(SECRET)),
        "watch_interval": 0.01,
        "event_interval": 0.05,
    }
    return Settings(**{**base, **overrides})


@pytest.fixture
def cloud() -> Iterator[ServedEmulator]:
    config = EmulatorConfig(
        latency_scale=0.02,
        rate_limits=RateLimits(enabled=False),
        droplet_limit=100,
        tokens=[DO_TOKEN],
    )
    with serve(config=config) as served:
        yield served


def cloud_env(cloud: ServedEmulator, state: Path) -> dict[str, str]:
    return {
        "ATLAS_JWT_SECRET": SECRET,
        "ATLAS_STATE": str(state),
        "DIGITALOCEAN_API_URL": cloud.url,
        "DIGITALOCEAN_TOKEN": DO_TOKEN,
        "DIGITALOCEAN_POLL_INTERVAL": "0.05",
        "LOG_LEVEL": "info",
    }


def test_serve_end_to_end_with_the_emulator_as_the_cloud(
    cloud: ServedEmulator, tmp_path: Path
) -> None:
    server = Server(cloud_env(cloud, tmp_path / "state.db"))
    headers = {"Authorization": f"Bearer {token('ws-e2e')}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as c:
            assert c.get("/api/v1/stats").json()["stats"]["total_infrastructures"] == 0
            r = c.post("/api/v1/infrastructure", json=spec())
            assert r.status_code == 201, r.text
            operation_id = r.json()["operation"]["id"]
            events = follow(c, operation_id)
            assert json.loads(events[-1]["data"])["status"] == "completed"
            assert "infrastructure.created" in [e["event"] for e in events]

            infra = c.get("/api/v1/infrastructure/shop").json()["infrastructure"]
            assert infra["status"] == "active"
            assert infra["estimated_monthly_cost"] == 22.0
            assert all(res["provider_ids"] for res in infra["resources"])
            assert {res["status"] for res in infra["resources"]} == {"active"}
            stats = c.get("/api/v1/stats").json()["stats"]
            assert (stats["active_infrastructures"], stats["total_resources"]) == (1, 3)
            assert stats["estimated_monthly_cost"] == 22.0

            r = c.delete(f"/api/v1/infrastructure/{infra['id']}")
            events = follow(c, r.json()["operation"]["id"])
            assert json.loads(events[-1]["data"])["status"] == "completed"
            gone = c.get(f"/api/v1/infrastructure/{infra['id']}").json()["infrastructure"]
            assert gone["status"] == "destroyed"
            stats = c.get("/api/v1/stats").json()["stats"]
            assert (stats["total_infrastructures"], stats["estimated_monthly_cost"]) == (0, 0.0)
            assert cloud.emulator.is_empty()
            assert c.get("/api/v1/stats", headers={"Authorization": ""}).status_code == 401
    finally:
        assert server.stop() == 0
    assert "authentication: jwt" in server.stdout
    logs = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
    access = [entry for entry in logs if entry["logger"] == "atlas.server.access"]
    assert access
    assert all(entry["request_id"] for entry in access)
    assert any(e["path"] == "/api/v1/infrastructure" and e["status"] == 201 for e in access)
    assert SECRET not in server.stderr


def test_a_graceful_shutdown_leaves_the_operation_resumable(tmp_path: Path) -> None:
    # A droplet boots in 1.5 s here: long enough to stop the server while it waits.
    config = EmulatorConfig(latency_scale=0.5, rate_limits=RateLimits(enabled=False))
    cloud = serve(config=config)
    env = cloud_env(cloud, tmp_path / "state.db")
    headers = {"Authorization": f"Bearer {token('ws-e2e')}"}
    server = Server(env)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as c:
            r = c.post("/api/v1/infrastructure", json=spec())
            assert r.status_code == 201, r.text
            operation_id = r.json()["operation"]["id"]
            assert c.get(f"/api/v1/operations/{operation_id}").json()["operation"]["status"] == (
                "in_progress"
            )
    finally:
        assert server.stop() == 0
    assert f"operation {operation_id} interrupted by shutdown" in server.stderr

    again = Server(env)
    try:
        with httpx.Client(base_url=again.url, headers=headers, timeout=10) as c:
            end = json.loads(follow(c, operation_id)[-1]["data"])  # carried on in place
            assert end["status"] == "completed", end
            ops = c.get("/api/v1/infrastructure/shop/operations").json()["operations"]
            assert [op["id"] for op in ops] == [operation_id]
            assert c.get("/api/v1/infrastructure/shop").json()["infrastructure"]["status"] == (
                "active"
            )
    finally:
        again.stop()
        cloud.close()
    names = sorted(d["name"] for d in cloud.emulator.objects("droplets"))
    assert len(names) == len(set(names)) == 2  # resumed, never made twice


def test_a_client_written_from_the_contract_works_unchanged(tmp_path: Path) -> None:
    server = Server({"ATLAS_JWT_SECRET": SECRET}, "--sandbox")
    client = InfrastructureClient(server.url, token("ws-contract"))
    try:
        info = client.service()
        assert info["service"] == "atlas"
        assert client.healthy()
        assert "digitalocean" in [p["name"] for p in client.providers()]
        total, lines = client.estimate(spec())
        assert total == "22.00"
        assert lines == [("vpc", "net", "0.00"), ("droplet", "web", "12.00"),
                         ("volume", "data", "10.00")]  # fmt: skip
        infra_id, operation_id = client.create(spec())
        op = client.wait(operation_id)
        assert op["status"] == "completed"
        assert f"{op['cost_change']:.2f}" == "22.00"
        assert client.get(infra_id)["status"] == "active"
        assert [i["id"] for i in client.list()] == [infra_id]
        stats = client.stats()
        assert (stats["active_infrastructures"], f"{stats['estimated_monthly_cost']:.2f}") == (
            1, "22.00"
        )  # fmt: skip
        doc = spec()
        doc["resources"][1]["specifications"]["count"] = 3
        assert client.wait(client.update(infra_id, doc))["status"] == "completed"
        assert client.wait(client.delete(infra_id))["status"] == "completed"
        assert client.get(infra_id)["status"] == "destroyed"
        with pytest.raises(ContractError) as missing:
            client.get("no-such-infrastructure")
        assert (missing.value.status, missing.value.code) == (404, "RESOURCE_NOT_FOUND")
    finally:
        client.close()
        server.stop()
    assert "sandbox" in server.stdout


async def test_the_callers_jwt_fetches_the_workspace_credential(
    cloud: ServedEmulator,
) -> None:
    with context_manager(SECRET, {("ws-a", "digitalocean_api_token"): DO_TOKEN}) as cm:
        env = {
            "CONTEXT_MANAGER_URL": cm.url,
            "DIGITALOCEAN_API_URL": cloud.url,
            "DIGITALOCEAN_POLL_INTERVAL": "0.01",
        }
        # The plugin's own factory and the default probe: nothing injected but the environment.
        app = create_app(do_settings(env=env))
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


async def test_the_alias_do_is_digitalocean(cloud: ServedEmulator) -> None:
    env = {"DIGITALOCEAN_API_URL": cloud.url, "DIGITALOCEAN_TOKEN": DO_TOKEN,
           "DIGITALOCEAN_POLL_INTERVAL": "0.01"}  # fmt: skip
    app = create_app(do_settings(env=env))
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        infra = await created(c, spec())
        r = await c.put(f"/api/v1/infrastructure/{infra['id']}", json=spec(provider="do"))
        assert r.status_code == 200, r.text
        assert (await wait_for(c, r.json()["operation"]["id"]))["status"] == "completed"


async def test_a_capacity_error_tells_nothing_of_another_workspaces_droplets() -> None:
    """The server's one token is one account for every workspace: ws-b is refused for the
    droplets ws-a runs, and learns the limit, never how many ws-a has."""
    config = EmulatorConfig(
        latency_scale=0.02, rate_limits=RateLimits(enabled=False), droplet_limit=3,
        tokens=[DO_TOKEN],
    )  # fmt: skip
    with serve(config=config) as cloud:
        env = {"DIGITALOCEAN_API_URL": cloud.url, "DIGITALOCEAN_TOKEN": DO_TOKEN,
               "DIGITALOCEAN_POLL_INTERVAL": "0.01"}  # fmt: skip
        app = create_app(do_settings(env=env))
        async with app.router.lifespan_context(app):
            async with Served(app).client(bearer("ws-a")) as a:
                await created(a, spec())  # two droplets
            async with Served(app).client(bearer("ws-b", user="user-2")) as b:
                three = copy.deepcopy(SPEC)
                three["resources"][1]["specifications"]["count"] = 3
                r = await b.post("/api/v1/infrastructure", json=three)
    assert (r.status_code, r.json()["code"]) == (422, "CAPACITY_EXCEEDED")
    message = r.json()["message"]
    assert message.startswith(
        "the plan adds 3 droplets, which would take the account past its droplet limit of 3"
    )
    assert not any(figure in message for figure in "12")  # ws-a's droplets, the room left
