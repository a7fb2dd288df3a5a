"""No cassette holds a secret: every committed one is scanned, the scrubbers are tested on the
emulator's secret-laden answers, and a recording made with a canary token leaves no trace of it.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from vcr.request import Request

from atlas.credentials import Secret
from atlas_digitalocean.emulator import Emulator, EmulatorConfig
from tests.atlas_digitalocean.flows import KINDS
from tests.atlas_digitalocean.recording import (
    CANARY_TOKEN,
    CASSETTES,
    ORIGIN,
    Scrubber,
    Target,
    find_secrets,
    main,
    record_on_emulator,
)

REPO = CASSETTES.parents[2]
#: Made up, in the shape of a personal access token.
CANARY = "dop_v1_" + "5ec7e7ca9a7a11ce" * 4


def _where(findings: list[Any]) -> str:
    return "\n".join(str(f).replace(f"{REPO}/", "") for f in findings)


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_no_cassette_holds_a_secret(path: Path) -> None:
    findings = find_secrets(path, [CANARY_TOKEN, CANARY])
    assert not findings, f"secrets in a cassette (scrub, re-record):\n{_where(findings)}"


def test_every_cassette_belongs_to_a_flow() -> None:
    stray = [p.name for p in CASSETTES.iterdir() if p.suffix != ".yaml" or p.stem not in KINDS]
    assert not stray, f"files in {CASSETTES.name}/ that no flow replays: {stray}"


def test_the_scanner_names_file_line_and_kind(tmp_path: Path) -> None:
    lines = {
        "      authorization:": "an Authorization header",
        "      - Bearer abcdef0123456789": "a bearer credential",
        f"    uri: https://api.digitalocean.com/v2/x?t={CANARY}": "a DigitalOcean token",
        "      string: '" + '{"users":[{"name":"doadmin","password":"hunter2"}]}' + "'": (
            "a secret field with a value"
        ),
        "      string: 'postgresql://doadmin:hunter2@db.example:25060/defaultdb'": (
            "a URI with credentials"
        ),
        "      string: '-----BEGIN OPENSSH PRIVATE KEY-----'": "a private key",
        "      set-cookie: __cf_bm=abc": "a cookie",
        "      string: 'not secret, yet the token: sk-made-up-literal'": (
            "the token used to record"
        ),
    }
    clean = [
        "      string: '" + '{"password":"","uri":"postgresql://doadmin@db.example:25060/d"}' + "'",
        "      - Bearer REDACTED",
        "      password: null",
    ]
    cassette = tmp_path / "droplet.yaml"
    cassette.write_text("\n".join([*lines, *clean]) + "\n", encoding="utf-8")
    found = find_secrets(cassette, ["sk-made-up-literal"])
    by_line = {(f.line, f.what) for f in found}
    for number, what in enumerate(lines.values(), 1):
        assert (number, what) in by_line, f"line {number} should be reported as {what}"
    assert all(f.line <= len(lines) for f in found), f"clean lines reported: {found}"
    assert str(found[0]).startswith(f"{cassette}:1: ")


async def test_database_secrets_are_scrubbed_from_answers() -> None:
    """The emulator's cluster carries a password, user passwords and URIs with credentials."""
    emulator = Emulator(EmulatorConfig(latency_scale=0, seed=11))
    body = {"name": "db", "engine": "pg", "size": "db-s-1vcpu-2gb", "num_nodes": 2}
    async with httpx.AsyncClient(
        base_url=ORIGIN, transport=emulator.transport(), headers={"Authorization": "Bearer x"}
    ) as client:
        answer = await client.post("/v2/databases", json={**body, "region": "nyc3"})
    answer.raise_for_status()
    password = answer.json()["database"]["connection"]["password"]
    assert password
    assert password in answer.text

    recorded = {
        "status": {"code": answer.status_code, "message": "Created"},
        "headers": {k: [v] for k, v in answer.headers.items()},
        "body": {"string": answer.content},
    }
    scrubbed = Scrubber().response(recorded)
    text = scrubbed["body"]["string"].decode()
    assert password not in text
    cluster = json.loads(text)["database"]
    links = ("connection", "private_connection", "standby_connection", "standby_private_connection")
    for key in links:
        assert cluster[key]["password"] == ""
        assert cluster[key]["uri"].startswith("postgresql://doadmin@")
        assert cluster[key]["host"]  # what locates the cluster stays
    assert [u["password"] for u in cluster["users"]] == [""]
    assert set(scrubbed["headers"]) <= {"content-type", "x-request-id"} | {
        h for h in scrubbed["headers"] if h.startswith("ratelimit-")
    }


def test_a_password_is_removed_wherever_it_appears() -> None:
    """Even one whose characters defeat the URI pattern."""
    odd = "p/ss@w0rd:x"
    cluster = {
        "connection": {"password": odd, "uri": f"postgresql://doadmin:{odd}@db.example:25060/d"},
        "ui_connection": {"uri": f"https://doadmin:{odd}@dash.example"},
    }
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {},
        "body": {"string": json.dumps({"database": cluster}).encode()},
    }
    text = Scrubber().response(response)["body"]["string"].decode()
    assert odd not in text
    assert json.loads(text)["database"]["connection"] == {
        "password": "",
        "uri": "postgresql://doadmin@db.example:25060/d",
    }


def test_requests_keep_no_credentials() -> None:
    target = Target("emulator", Secret(CANARY), "nyc3", 1.0)
    assert CANARY not in repr(target)
    scrubber = Scrubber(origin="http://127.0.0.1:5555", secrets=(target.token,))
    request = Request(
        "POST",
        f"http://127.0.0.1:5555/v2/droplets?access_token={CANARY}",
        json.dumps({"name": "web", "user_data": "export TOKEN=" + CANARY}).encode(),
        {
            "Authorization": f"Bearer {CANARY}",
            "Cookie": "session=1",
            "User-Agent": "atlas/0.1.0",
            "Content-Type": "application/json",
        },
    )
    clean = scrubber.request(request)
    assert clean.uri == f"{ORIGIN}/v2/droplets?access_token=REDACTED"
    assert dict(clean.headers) == {"Content-Type": "application/json"}
    assert json.loads(clean.body) == {"name": "web", "user_data": "export TOKEN=REDACTED"}
    assert "Secret('***')" in repr(scrubber)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections go to loopback (the served emulator) or nowhere."""
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else ""
        if not ipaddress.ip_address(host).is_loopback:
            raise OSError(f"only loopback connections here, not {host}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.mark.loopback
@pytest.mark.usefixtures("loopback_only")
@pytest.mark.parametrize("kind", ["droplet", "database"])
async def test_a_canary_token_leaves_no_trace(tmp_path: Path, kind: str) -> None:
    canary = "dop_v1_" + secrets.token_hex(32)
    dest = tmp_path / f"{kind}.yaml"
    count = await record_on_emulator(
        kind, dest, latency_scale=0.01, poll_interval=0.02, token=canary
    )
    text = dest.read_text(encoding="utf-8")
    assert count > 0
    assert canary not in text
    assert canary.removeprefix("dop_v1_")[:16] not in text
    assert "127.0.0.1" not in text, "the recording host must not be written down"
    assert not find_secrets(dest, [canary])


def test_recording_against_the_real_api_needs_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    assert main(["--real", "--kind", "vpc"]) == 2
    assert "DIGITALOCEAN_TOKEN is not set" in capsys.readouterr().err
