"""``atlas serve`` for real: a process on loopback, the emulator (also on loopback) as the
cloud, driven over HTTP; and a client written from the platform's contract alone."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.cli import main
from atlas.server import hash_api_key
from atlas_digitalocean.emulator import EmulatorConfig, RateLimits, ServedEmulator, serve
from tests.atlas.server.conformance import parse_sse
from tests.atlas.server.conftest import SECRET, spec, token
from tests.atlas.server.contract_client import ContractError, InfrastructureClient

pytestmark = pytest.mark.loopback


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``atlas serve`` in a child process."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1", **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "atlas", "serve", *args],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"atlas serve did not start: {self.stderr}")
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops a service; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        self.stdout, self.stderr = out, err
        return self.proc.returncode


@pytest.fixture
def cloud() -> Iterator[ServedEmulator]:
    config = EmulatorConfig(
        latency_scale=0.02,
        default_vpc_regions=("fra1",),
        rate_limits=RateLimits(enabled=False),
        droplet_limit=100,
    )
    with serve(config=config) as served:
        yield served


def cloud_env(cloud: ServedEmulator, state: Path) -> dict[str, str]:
    return {
        "ATLAS_JWT_SECRET": SECRET,
        "ATLAS_STATE": str(state),
        "DIGITALOCEAN_API_URL": cloud.url,
        "DIGITALOCEAN_TOKEN": "dop_v1_" + "0" * 64,
        "DIGITALOCEAN_POLL_INTERVAL": "0.05",
        "LOG_LEVEL": "info",
    }


def follow(client: httpx.Client, operation_id: str) -> list[dict[str, str]]:
    """The operation's event stream, read as it arrives, until it ends."""
    with client.stream("GET", f"/api/v1/operations/{operation_id}/events", timeout=60) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    return parse_sse(text)


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
    config = EmulatorConfig(
        latency_scale=0.5, default_vpc_regions=("fra1",), rate_limits=RateLimits(enabled=False)
    )
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
            end = json.loads(follow(c, operation_id)[-1]["data"])  # taken over by a resume
            assert end["status"] == "failed"
            assert end["error"].startswith("interrupted; resumed by operation"), end
            newest = c.get("/api/v1/infrastructure/shop/operations").json()["operations"][0]
            events = follow(c, newest["id"])
            assert json.loads(events[-1]["data"])["status"] == "completed"
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
        assert [p["name"] for p in client.providers()] == ["digitalocean"]
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


def test_serve_refuses_an_open_address_without_authentication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ATLAS_JWT_SECRET", "ATLAS_API_KEYS_FILE", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert main(["serve", "--host", "0.0.0.0"], out=out, err=err) == 2  # noqa: S104
    assert out.getvalue() == ""


def test_serve_makes_api_keys(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert main(["serve", "--new-api-key", "ws-7"], out=out) == 0
    text = out.getvalue()
    key = text.split("(shown once): ")[1].split()[0]
    entry: dict[str, Any] = json.loads(text.split("key file entry: ")[1])
    assert entry["workspace_id"] == "ws-7"
    assert entry["sha256"] == hash_api_key(key)
