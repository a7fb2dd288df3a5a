"""The provider's flows replayed from their cassettes: no recording, no network, no waiting.

Every socket connection and name lookup fails in these tests, so a request the cassette does
not hold is an error (vcr refuses it in ``record_mode="none"``), never a call to the cloud.
Polling is replayed response by response: each recorded status answer is played once, in
order, and the fake sleep between rounds only moves a fake clock.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.serializers import yamlserializer

from atlas.exceptions import AtlasError
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, Fault, ManualClock
from atlas_digitalocean.ops import ALL_OPS, OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas_digitalocean.contract import ContractChecker
from tests.atlas_digitalocean.flows import (
    DB_LARGER,
    DB_SMALL,
    KINDS,
    LARGER,
    FlowResult,
    droplet_flow,
    missing_ops,
)
from tests.atlas_digitalocean.recording import CANARY_TOKEN, CASSETTES, OWNER, replay

AVAILABLE = frozenset(cls.type for cls in ALL_OPS)


class NetworkBlocked(OSError):
    """A cassette test tried to reach the network."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every connection and name lookup fails; the attempts are listed."""
    attempts: list[str] = []

    def refuser(name: str, skip: int) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[skip:]!r}")
            raise NetworkBlocked(f"cassette tests must not touch the network ({attempts[-1]})")

        return refuse

    for name in ("connect", "connect_ex"):  # methods: skip the socket itself
        monkeypatch.setattr(socket.socket, name, refuser(name, 1))
    for name in ("getaddrinfo", "create_connection"):
        monkeypatch.setattr(socket, name, refuser(name, 0))
    return attempts


def cassette(kind: str) -> Path:
    if missing := missing_ops(kind, AVAILABLE):
        pytest.skip(
            f"{kind}: the provider cannot manage {', '.join(missing)} yet (not in ALL_OPS); "
            f"record its cassette once it can"
        )
    path = CASSETTES / f"{kind}.yaml"
    assert path.is_file(), f"no cassette for {kind}: run `nox -s record_cassettes -- --kind {kind}`"
    return path


def _droplet(r: FlowResult) -> None:
    assert len(r.created.objects) == 2
    assert r.created.status == "creating"
    assert [o.name for o in r.ready.objects] == ["atlas-rec-web-1", "atlas-rec-web-2"]
    assert all(o.attributes.get("public_ipv4") for o in r.ready.objects)
    assert [o.attributes.get("size") for o in r.updated.objects] == [LARGER, LARGER]


def _volume(r: FlowResult) -> None:
    [volume, host] = r.made
    assert r.ready.attribute("droplet_ids") == list(host.ids)
    assert (r.ready.attribute("size_gigabytes"), volume.attribute("size_gigabytes")) == (10, 20)


def _database(r: FlowResult) -> None:
    assert r.created.status == "creating"
    assert (r.ready.attribute("size"), r.updated.attribute("size")) == (DB_SMALL, DB_LARGER)
    assert r.ready.attribute("engine") == "pg"
    assert r.ready.attribute("host")
    flat = repr([r.created, r.ready, r.read, r.updated])
    assert "password" not in flat, "no database secret may reach a ResourceState"


def _load_balancer(r: FlowResult) -> None:
    assert r.created.status == "creating"
    assert r.ready.attribute("ip")
    assert [rule["entry_port"] for rule in r.updated.attribute("forwarding_rules")] == [80, 8080]


def _firewall(r: FlowResult) -> None:
    [_, web] = r.made
    assert [str(i) for i in r.ready.attribute("droplet_ids")] == list(web.ids)
    assert [rule["ports"] for rule in r.updated.attribute("inbound_rules")] == ["22", "80"]


def _vpc(r: FlowResult) -> None:
    assert r.ready.attribute("ip_range") == "10.213.0.0/24"
    assert r.updated.attribute("description") == "recorded by atlas, updated"
    assert not r.ready.attribute("default")


#: What each kind's flow must have seen, beyond what every flow checks.
EXPECT: dict[str, Callable[[FlowResult], None]] = {
    "droplet": _droplet,
    "volume": _volume,
    "database": _database,
    "load_balancer": _load_balancer,
    "firewall": _firewall,
    "vpc": _vpc,
}


@pytest.mark.parametrize("kind", KINDS)
async def test_flow_replays_from_its_cassette(kind: str) -> None:
    path = cassette(kind)
    started = time.monotonic()
    replayed = await replay(kind, path, token=CANARY_TOKEN)
    result = replayed.result
    assert result.kind == kind
    assert result.ready.status == "active"
    assert result.read.ids == result.ready.ids
    assert result.updated.ids == result.ready.ids
    assert result.updated.status == "active"
    assert result.leftovers == ()
    assert replayed.unplayed == (), "the flow no longer makes these recorded calls"
    EXPECT[kind](result)
    assert time.monotonic() - started < 5, "replay must not really wait"


async def test_polling_is_driven_by_the_recorded_answers() -> None:
    """The droplets were polled until the recording said ``active``; so is the replay."""
    replayed = await replay("droplet", cassette("droplet"))
    assert replayed.sleeps >= 1
    assert replayed.interactions >= 10


async def test_host_scheme_and_port_do_not_matter() -> None:
    replayed = await replay("droplet", cassette("droplet"), base_url="http://127.0.0.1:9")
    assert replayed.result.leftovers == ()


async def test_a_request_the_cassette_lacks_is_an_error(tmp_path: Path) -> None:
    """Cut the cassette short: the flow fails on the first missing answer, offline."""
    lines = cassette("droplet").read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("- request:")]
    end = next(i for i, line in enumerate(lines) if not line.startswith((" ", "-", "interactions")))
    short = tmp_path / "droplet.yaml"
    short.write_text("".join(lines[: starts[len(starts) // 2]] + lines[end:]), encoding="utf-8")
    with pytest.raises(CannotOverwriteExistingCassetteException):
        await replay("droplet", short)


async def test_the_network_is_blocked(no_network: list[str]) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")
        with pytest.raises(httpx.ConnectError):
            await client.get("https://api.digitalocean.com/v2/account")
    assert len(no_network) == 2


async def test_a_failing_flow_deletes_what_it_made() -> None:
    """What matters when recording against the real API: an aborted flow leaves nothing."""
    clock = ManualClock()
    emulator = Emulator(EmulatorConfig(seed=7), clock=clock)
    actions = Fault("error_before", method="POST", path=r"/v2/droplets/\d+/actions", times=99)
    emulator.add_fault(actions)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    settings = OpsSettings(clock=clock, sleep=sleep)
    provider = DigitalOceanProvider(
        CANARY_TOKEN, transport=emulator.transport(), settings=settings, env={}
    )
    try:
        with pytest.raises(AtlasError):
            await droplet_flow(provider, OWNER)
    finally:
        await provider.aclose()
    assert emulator.log.count("POST /v2/droplets") == 1
    assert emulator.is_empty()


def _exchange(interaction: dict[str, Any]) -> tuple[httpx.Request, httpx.Response]:
    """One recorded interaction as httpx objects; the scrubbed token comes back as a stand-in."""
    rq, rs = interaction["request"], interaction["response"]
    headers = {k: v[0] for k, v in rq["headers"].items()} | {"Authorization": "Bearer REDACTED"}
    request = httpx.Request(rq["method"], rq["uri"], content=rq["body"] or b"", headers=headers)
    response = httpx.Response(
        rs["status"]["code"],
        headers=[(k, v) for k, values in rs["headers"].items() for v in values],
        content=rs["body"]["string"] or b"",
        request=request,
    )
    return request, response


@pytest.mark.contract
@pytest.mark.parametrize("kind", KINDS)
def test_recorded_traffic_follows_the_openapi_document(
    kind: str, contract_checker: ContractChecker
) -> None:
    """What a cassette pins, both ways, is what DigitalOcean documents."""
    text = cassette(kind).read_text(encoding="utf-8")
    for interaction in yamlserializer.deserialize(text)["interactions"]:
        contract_checker.check(*_exchange(interaction))
    contract_checker.assert_clean()
