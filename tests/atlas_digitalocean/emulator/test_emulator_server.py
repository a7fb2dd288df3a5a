"""Serving over loopback: real sockets on 127.0.0.1, dropped connections, the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from atlas_digitalocean.emulator import (
    Emulator,
    EmulatorConfig,
    Fault,
    FaultKind,
    ServedEmulator,
    serve,
)
from atlas_digitalocean.emulator.cli import main
from atlas_digitalocean.emulator.server import is_loopback
from tests.atlas_digitalocean.emulator.emulator_support import TOKEN

pytestmark = pytest.mark.loopback

AUTH = {"Authorization": f"Bearer {TOKEN}"}
DROPLET = {"name": "web-1", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3"}


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with serve(config=EmulatorConfig(latency_scale=0)) as served:
        yield served


@pytest.fixture
def client(served: ServedEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, headers=AUTH, timeout=5) as client:
        yield client


def test_a_session_round_trips_over_a_real_socket(
    served: ServedEmulator, client: httpx.Client
) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    created = client.post("/v2/droplets", json=DROPLET)
    assert created.status_code == 202
    assert created.headers["content-type"].startswith("application/json")
    assert "x-request-id" in created.headers
    droplet = client.get(f"/v2/droplets/{created.json()['droplet']['id']}").json()["droplet"]
    assert droplet["status"] == "active"
    assert client.delete(f"/v2/droplets/{droplet['id']}").status_code == 204
    assert served.emulator.is_empty()
    links = client.get("/v2/regions", params={"per_page": 2}).json()["links"]["pages"]
    assert links["next"].startswith(f"{served.url}/v2/regions?")
    assert client.get("/v2/account", headers={"Authorization": ""}).status_code == 401


async def test_async_clients_work_over_loopback(served: ServedEmulator) -> None:
    async with httpx.AsyncClient(base_url=served.url, headers=AUTH, timeout=5) as client:
        created = await client.post("/v2/vpcs", json={"name": "net", "region": "fra1"})
        assert created.status_code == 201
        assert (await client.get("/v2/vpcs")).json()["meta"]["total"] == 1


def test_a_dropped_connection_applies_the_create_and_sends_nothing(
    served: ServedEmulator, client: httpx.Client
) -> None:
    served.emulator.add_fault(Fault(FaultKind.DROP_AFTER, "POST", "/v2/droplets"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v2/droplets", json=DROPLET)
    listed = client.get("/v2/droplets", params={"name": "web-1"}).json()
    assert listed["meta"]["total"] == 1
    assert served.emulator.log.dropped == 1


def test_a_given_emulator_can_be_served_and_closing_frees_the_port() -> None:
    emulator = Emulator(EmulatorConfig(latency_scale=0))
    served = serve(emulator=emulator)
    with httpx.Client(base_url=served.url, headers=AUTH, timeout=5) as client:
        client.post("/v2/vpcs", json={"name": "net", "region": "nyc3"})
    served.close()
    assert len(emulator.objects("vpcs")) == 1
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=1) as client:
        client.get(f"{served.url}/v2/vpcs", headers=AUTH)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])  # noqa: S104
def test_non_loopback_hosts_are_refused(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ValueError, match="non-loopback"):
        serve(host=host)


def test_loopback_spellings_are_recognised() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.8.9.10", "::1", "localhost"))


def test_serve_takes_a_config_or_an_emulator_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        serve(config=EmulatorConfig(), emulator=Emulator())


def test_the_cli_refuses_a_remote_host_without_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2  # noqa: S104
    assert "non-loopback" in capsys.readouterr().err
    assert main(["--latency-scale", "-1"]) == 2


@pytest.mark.parametrize(
    ("flags", "used"), [([], False), (["--fresh-account"], False), (["--used-account"], True)]
)
def test_the_cli_serves_a_fresh_account_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], used: bool
) -> None:
    from atlas_digitalocean.emulator import cli

    seen: list[EmulatorConfig] = []

    def refuse(_host: str, _port: int, config: EmulatorConfig, **_kw: object) -> None:
        seen.append(config)
        raise OSError("not serving in this test")

    monkeypatch.setattr(cli, "serve", refuse)
    assert main(["--port", "0", *flags]) == 2
    [config] = seen
    assert bool(config.default_vpc_regions) is used
    assert ("nyc3" in config.default_vpc_regions) is used


def test_the_module_serves_until_interrupted() -> None:
    command = [
        sys.executable, "-m", "atlas_digitalocean.emulator",
        "--port", "0", "--latency-scale", "0", "--no-rate-limit", "--token", TOKEN,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.rsplit(" ", 1)[-1].strip()
        try:
            with httpx.Client(base_url=url, timeout=5) as client:
                assert client.get("/v2/account", headers=AUTH).status_code == 200
                wrong = client.get("/v2/account", headers={"Authorization": "Bearer other"})
                assert wrong.status_code == 401
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
    assert banner.startswith("DigitalOcean API emulator listening on http://127.0.0.1:")


def test_chunked_request_bodies_are_read(served: ServedEmulator, client: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"name": "chunked",'
        yield b' "region": "nyc3"}'

    created = client.post("/v2/vpcs", content=body(), headers={"content-type": "application/json"})
    assert created.status_code == 201
    assert client.get("/v2/vpcs").json()["vpcs"][0]["name"] == "chunked"  # connection still good


def test_concurrent_clients_see_one_consistent_account() -> None:
    config = EmulatorConfig(latency_scale=0, droplet_limit=100)

    def create_ten(url: str, worker: int) -> list[int]:
        with httpx.Client(base_url=url, headers=AUTH, timeout=5) as client:
            return [
                client.post("/v2/droplets", json={**DROPLET, "name": f"w{worker}-{i}"}).json()[
                    "droplet"
                ]["id"]
                for i in range(10)
            ]

    with serve(config=config) as served, ThreadPoolExecutor(max_workers=4) as pool:
        ids = [i for batch in pool.map(create_ten, [served.url] * 4, range(4)) for i in batch]
        assert len(set(ids)) == 40
        assert len(served.emulator.objects("droplets")) == 40
        assert served.emulator.log.count("POST /v2/droplets", status=202) == 40


def test_a_broken_chunked_body_is_a_400(served: ServedEmulator) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            b"POST /v2/vpcs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        assert raw.recv(4096).startswith(b"HTTP/1.1 400")
