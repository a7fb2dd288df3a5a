"""``atlas serve`` for real: a process on loopback with the memory plugin installed, its cloud
the plugin's own (in the process), driven over HTTP; and a client written from the platform's
contract alone. (A cloud that outlives the server, for a resume across a restart, is
DigitalOcean's emulator served on loopback, in the DigitalOcean tests: test_server_on_do.py.)"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.cli import main
from atlas.server import ApiKeyring, hash_api_key
from atlas.store import SQLiteStore
from tests.atlas.memory_installed import memory_installed
from tests.atlas.server.conftest import SECRET, spec, token
from tests.atlas.server.contract_client import ContractError, InfrastructureClient
from tests.atlas.server.serving import Server, follow

pytestmark = pytest.mark.loopback


MEMORY_TOKEN = "mem_" + "0" * 32  # made up; the plugin's own cloud takes any token


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with memory_installed(tmp_path / "site", monkeypatch) as site:
        yield site


def cloud_env(state: Path) -> dict[str, str]:
    return {
        "ATLAS_JWT_SECRET": SECRET,
        "ATLAS_STATE": str(state),
        "ATLAS_MEMORY_TOKEN": MEMORY_TOKEN,
        "LOG_LEVEL": "info",
    }


@pytest.mark.usefixtures("installed")
def test_serve_end_to_end_on_the_memory_cloud(tmp_path: Path) -> None:
    server = Server(cloud_env(tmp_path / "state.db"))
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
            assert (gone["status"], gone["resources"]) == ("destroyed", [])
            stats = c.get("/api/v1/stats").json()["stats"]
            assert (stats["total_infrastructures"], stats["estimated_monthly_cost"]) == (0, 0.0)
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
    assert MEMORY_TOKEN not in server.stderr


@pytest.mark.usefixtures("installed")
def test_a_graceful_shutdown_leaves_the_operation_resumable(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    headers = {"Authorization": f"Bearer {token('ws-e2e')}"}
    # Seven servers: creates and waits long enough to stop the server while they run.
    doc = spec()
    doc["resources"][1]["specifications"]["count"] = 7
    server = Server(cloud_env(state))
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as c:
            r = c.post("/api/v1/infrastructure", json=doc)
            assert r.status_code == 201, r.text
            operation_id = r.json()["operation"]["id"]
            assert c.get(f"/api/v1/operations/{operation_id}").json()["operation"]["status"] == (
                "in_progress"
            )
    finally:
        assert server.stop() == 0
    assert f"operation {operation_id} interrupted by shutdown" in server.stderr
    # What the next start resumes from: the operation still in progress, its lock released.
    store = SQLiteStore(str(state))
    try:
        [left] = store.unfinished_operations()
        assert (left.id, left.status) == (operation_id, "in_progress")
        assert store.lock_info(left.infrastructure_id) is None
    finally:
        store.close()


@pytest.mark.usefixtures("installed")
def test_a_client_written_from_the_contract_works_unchanged(tmp_path: Path) -> None:
    server = Server({"ATLAS_JWT_SECRET": SECRET}, "--sandbox")
    client = InfrastructureClient(server.url, token("ws-contract"))
    try:
        info = client.service()
        assert info["service"] == "atlas"
        assert client.healthy()
        # Every installed plugin with a sandbox is served on it; the memory one is ours.
        assert "memory" in [p["name"] for p in client.providers()]
        total, lines = client.estimate(spec())
        assert total == "22.00"
        assert lines == [("network", "net", "0.00"), ("server", "web", "14.60"),
                         ("disk", "data", "7.40")]  # fmt: skip
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
    # Each key has an id of its own.
    again = io.StringIO()
    assert main(["serve", "--new-api-key", "ws-7"], out=again) == 0
    other: dict[str, Any] = json.loads(again.getvalue().split("key file entry: ")[1])
    assert other["id"] != entry["id"]
    ring = ApiKeyring.from_json({"keys": [entry, other]})
    assert [k.id for k in ring.keys] == [entry["id"], other["id"]]


def test_serve_refuses_a_key_for_a_workspace_that_is_not_plain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    assert main(["serve", "--new-api-key", "a b"], out=out) == 2
    assert out.getvalue() == ""
    assert "workspace_id 'a b' is not a plain identifier" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("99999", "--port must be from 1 to 65535, not 99999"),
        ("0", "--port must be from 1 to 65535, not 0"),
        ("http", "--port must be a whole number from 1 to 65535, not 'http'"),
    ],
)
def test_serve_refuses_a_bad_port_in_one_line(
    port: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    assert main(["serve", "--sandbox", "--port", port], out=out) == 2
    err = capsys.readouterr().err
    assert err == f"atlas serve: {message}\n"
    assert out.getvalue() == ""  # no banner


def test_serve_on_a_busy_port_says_why_before_any_banner(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()
        assert main(["serve", "--sandbox", "--port", str(port)], out=out) == 1
    assert out.getvalue() == ""
    err = capsys.readouterr().err
    assert err == f"atlas serve: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert "Traceback" not in err
