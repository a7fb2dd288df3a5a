"""The AWS flows replayed from their cassettes (no emulator, no network, no waiting), and no
cassette holding a secret.

Every socket connection and name lookup fails in these tests, so a request a cassette does
not hold is an error (vcr refuses it in ``record_mode="none"``), never a call to AWS. Polling
is replayed answer by answer: each recorded status answer is played once, in order, and the
fake sleep between rounds only moves a fake clock.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request
from vcr.serializers import yamlserializer

from atlas.credentials import Secret
from atlas.model.cloud import Owner
from atlas.providers import StepContext
from atlas.spec import validate_spec
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import account_for
from atlas_aws.ops.instances import client_token
from tests.atlas_aws.flows import KINDS, WORKSPACE, FlowResult, registry
from tests.atlas_aws.recording import (
    ACCOUNT_PLACEHOLDER,
    CANARY_KEY_ID,
    CANARY_SECRET,
    CASSETTES,
    REDACTED,
    Scrubber,
    find_secrets,
    main,
    query_body,
    record_on_emulator,
    replay,
)

REPO = CASSETTES.parents[2]


class NetworkBlocked(OSError):
    """A cassette test tried to reach the network."""


@pytest.fixture
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
    path = CASSETTES / f"{kind}.yaml"
    assert path.is_file(), (
        f"no cassette for {kind}: run `nox -s record_aws_cassettes -- --kind {kind}`"
    )
    return path


def _params(request: Request) -> dict[str, str]:
    body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
    return dict(parse_qsl(body, keep_blank_values=True))


def _actions(sent: tuple[Request, ...]) -> list[str]:
    return [_params(r).get("Action", "") for r in sent]


# -- what each flow must have seen -------------------------------------------------------------


def _stack(r: FlowResult) -> None:
    f = r.facts
    assert f["planned"] == [("create", n) for n in ("lan", "net", "ssh", "web")]
    assert f["instance_type"] == "t3.micro"
    assert f["security_group_ids"] == f["ssh"]
    assert f["names"][:2] == ["stack-lan", "stack-net"]
    assert f["names"][2].startswith("stack-ssh-")
    assert f["names"][3] == "stack-web"


def _count(r: FlowResult) -> None:
    assert r.facts["created"] == "creating"
    assert r.facts["names"] == ["count-web-1", "count-web-2"]
    assert r.facts["states"] == ["running"]


def _db_instance(r: FlowResult) -> None:
    f = r.facts
    assert f["identifier"].startswith("db-db-")
    assert (f["engine"], f["status"], f["address"]) == ("postgres", "active", True)
    assert "master_user_secret_arn" in f["attributes"]
    assert "password" not in repr(r), "no DB secret may reach what the flow saw"


def _load_balancer(r: FlowResult) -> None:
    f = r.facts
    assert f["name"].startswith("lb-lb-")
    assert f["targets"] == f["web"]
    assert f["listeners"] == [[80, "HTTP", 8080, None]]
    assert f["dns_name"]


def _drift(r: FlowResult) -> None:
    [(resource, kind, details)] = r.facts["drift"]
    assert (resource, kind) == ("ssh", "changed")
    assert len(details) == 1
    assert "other inbound rules" in details[0]
    assert r.facts["repair"] == [("update", "ssh")]


EXPECT: dict[str, Callable[[FlowResult], None]] = {
    "stack": _stack,
    "count": _count,
    "db_instance": _db_instance,
    "load_balancer": _load_balancer,
    "drift": _drift,
}


# -- replay ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("kind", KINDS)
async def test_flow_replays_from_its_cassette(kind: str) -> None:
    started = time.monotonic()
    replayed = await replay(kind, cassette(kind))
    assert replayed.error is None, f"the flow failed on replay: {replayed.error!r}"
    assert replayed.missing == ()
    assert replayed.unplayed == (), "the flow no longer makes these recorded calls"
    assert replayed.result is not None
    assert replayed.result.kind == kind
    assert replayed.result.leftovers == ()
    EXPECT[kind](replayed.result)
    assert time.monotonic() - started < 30, "replay must not really wait"


@pytest.mark.usefixtures("no_network")
async def test_a_counted_launch_is_one_call_with_the_operations_token() -> None:
    replayed = await replay("count", cassette("count"))
    [launch] = [r for r in replayed.sent if _params(r).get("Action") == "RunInstances"]
    params = _params(launch)
    assert (params["MinCount"], params["MaxCount"]) == ("2", "2")
    spec = validate_spec(
        {
            "name": "count",
            "provider": "aws",
            "region": "eu-west-1",
            "tags": {"purpose": "cassette"},
            "resources": [
                {
                    "type": "instance",
                    "name": "web",
                    "specifications": {
                        "instance_type": "t3.micro",
                        "image": "ubuntu-24.04",
                        "count": 2,
                    },
                }
            ],
        },
        registry=registry(),
    )
    owner = Owner(WORKSPACE, "count")
    ctx = StepContext(owner, spec, spec.resource("web"), {}, replayed.operation)
    assert replayed.operation.startswith("cassette-")
    assert params["ClientToken"] == client_token(ctx, 1, 2)
    assert _actions(replayed.sent).count("TerminateInstances") == 1


@pytest.mark.usefixtures("no_network")
async def test_an_apply_launches_with_a_token_of_its_own_operation() -> None:
    """The stack's apply has a random operation id, so its token is not the recorded one:
    the matcher requires a token and ignores its value."""
    text = cassette("stack").read_text(encoding="utf-8")
    replayed = await replay("stack", cassette("stack"))
    [launch] = [r for r in replayed.sent if _params(r).get("Action") == "RunInstances"]
    token = _params(launch)["ClientToken"]
    assert token.startswith("atlas-")
    assert token not in text


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("endpoint", ["http://localhost:1", None])
async def test_the_endpoint_does_not_matter(endpoint: str | None) -> None:
    """Recorded against an emulator on some port; replayed against another address, or
    against AWS's own hosts: requests are matched on the service's AWS host."""
    replayed = await replay("drift", cassette("drift"), endpoint=endpoint)  # type: ignore[arg-type]
    assert replayed.error is None
    assert replayed.unplayed == ()
    assert {r.host for r in replayed.sent} == {"ec2.eu-west-1.amazonaws.com"}


@pytest.mark.usefixtures("no_network")
async def test_a_request_the_cassette_lacks_is_an_error(tmp_path: Path) -> None:
    """Cut the cassette short: the replay fails on the first missing answer, offline."""
    recorded = yamlserializer.deserialize(cassette("drift").read_text(encoding="utf-8"))
    kept = recorded["interactions"][: len(recorded["interactions"]) // 2]
    short = tmp_path / "drift.yaml"
    short.write_text(yamlserializer.serialize({**recorded, "interactions": kept}), encoding="utf-8")
    with pytest.raises(CannotOverwriteExistingCassetteException):
        await replay("drift", short)


@pytest.mark.usefixtures("no_network")
async def test_a_request_that_changed_is_an_error(tmp_path: Path) -> None:
    """A flow that asks for another CIDR block than the recording did finds no answer."""
    text = cassette("drift").read_text(encoding="utf-8")
    assert text.count("CidrBlock=10.0.0.0%2F16") == 1
    changed = tmp_path / "drift.yaml"
    changed.write_text(text.replace("CidrBlock=10.0.0.0%2F16", "CidrBlock=10.9.0.0%2F16"))
    with pytest.raises(CannotOverwriteExistingCassetteException):
        await replay("drift", changed)


async def test_the_network_is_blocked(no_network: list[str]) -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("ec2.eu-west-1.amazonaws.com", 443))
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("localhost", 1)
    assert len(no_network) == 2


# -- matching ----------------------------------------------------------------------------------


def _signed(body: str, *, date: str = "20261206T120000Z", signature: str = "ab" * 32) -> Request:
    auth = (
        f"AWS4-HMAC-SHA256 Credential={CANARY_KEY_ID}/{date[:8]}/eu-west-1/ec2/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
    )
    headers = {"Authorization": auth, "X-Amz-Date": date, "Content-Type": "x"}
    return Request("POST", "http://127.0.0.1:4566/", body.encode(), headers)


def _matches(a: Request, b: Request) -> bool:
    scrub = Scrubber(AwsKeys(Secret(CANARY_KEY_ID), Secret(CANARY_SECRET)))
    try:
        query_body(scrub.request(a), scrub.request(b))
    except AssertionError:
        return False
    return True


def test_matching_ignores_signatures_dates_and_launch_token_values() -> None:
    launch = "Action=RunInstances&Version=2016-11-15&ClientToken={}&MinCount=2&MaxCount=2"
    recorded = _signed(launch.format("atlas-aaa"))
    again = _signed(launch.format("atlas-bbb"), date="20270101T000000Z", signature="cd" * 32)
    assert _matches(recorded, again)
    untokened = _signed("Action=RunInstances&Version=2016-11-15&MinCount=2&MaxCount=2")
    assert not _matches(recorded, untokened), "a launch without a token is another request"
    more = _signed(launch.format("atlas-aaa").replace("MaxCount=2", "MaxCount=3"))
    assert not _matches(recorded, more)
    reordered = _signed(
        "Action=RunInstances&MaxCount=2&MinCount=2&Version=2016-11-15&ClientToken=x"
    )
    assert _matches(recorded, reordered)


# -- secrets -----------------------------------------------------------------------------------

#: Made up, in the shape of AWS credentials.
CANARY_ID = "ASIA" + "CANARY0TEST0KEY0"
CANARY_KEY = "Zx9/Canary+Secret0Access0Key0For0Tests0A"
CANARY_TOKEN = "IQoJb3JpZ2luX2VjE" + "Canary0Session0Token0" * 8


def _where(findings: list[Any]) -> str:
    return "\n".join(str(f).replace(f"{REPO}/", "") for f in findings)


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_no_cassette_holds_a_secret(path: Path) -> None:
    findings = find_secrets(path, [CANARY_KEY_ID, CANARY_SECRET, CANARY_ID, CANARY_KEY])
    assert not findings, f"secrets in a cassette (scrub, re-record):\n{_where(findings)}"


def test_every_cassette_belongs_to_a_flow() -> None:
    stray = [p.name for p in CASSETTES.iterdir() if p.suffix != ".yaml" or p.stem not in KINDS]
    assert not stray, f"files in {CASSETTES.name}/ that no flow replays: {stray}"
    assert sorted(p.stem for p in CASSETTES.glob("*.yaml")) == sorted(KINDS)


def test_the_cassettes_are_small() -> None:
    total = sum(p.stat().st_size for p in CASSETTES.glob("*.yaml"))
    assert total < 400_000, f"the cassettes hold {total} bytes; record with a longer poll interval"


def test_the_scanner_names_file_line_and_kind(tmp_path: Path) -> None:
    lines = {
        "      Authorization:": "an Authorization header",
        f"    body: Action=X&Key={CANARY_ID}": "an AWS access key id",
        f"      string: '<k>{CANARY_KEY}</k>'": "a secret-access-key-shaped string",
        f"      X-Amz-Security-Token: {CANARY_TOKEN}": "a session-token-shaped string",
        "      X-Amz-Date: 20261206T120000Z": "a signing date",
        "      - AWS4-HMAC-SHA256 Credential=x/2026/eu-west-1/ec2/aws4_request": "a signature",
        "    uri: https://b.s3.amazonaws.com/k?X-Amz-Signature=abc": "a signed URL",
        "    body: Action=CreateDBInstance&MasterUserPassword=hunter2": "a password",
        "      string: '-----BEGIN RSA PRIVATE KEY-----'": "a private key",
        "      string: 'not shaped like a key: made-up-literal'": "the credential used to record",
    }
    clean = [
        "    body: Action=CreateDBInstance&ManageMasterUserPassword=true&MasterUserPassword="
        "REDACTED",
        "      string: '<clientToken>atlas-342e490fc2224b9797093f544cd442d9be513ea8</clientToken>'",
        "      string: '<requestId>0b5d1c6e-5a4f-4f3e-9f0c-3d7f2f7a9b11</requestId>'",
        "      string: '<imageId>ami-abac6deca6010d480</imageId><ownerId>123456789012</ownerId>'",
    ]
    path = tmp_path / "stack.yaml"
    path.write_text("\n".join([*lines, *clean]) + "\n", encoding="utf-8")
    found = find_secrets(path, ["made-up-literal"])
    by_line = {(f.line, f.what) for f in found}
    for number, what in enumerate(lines.values(), 1):
        assert (number, what) in by_line, f"line {number} should be reported as {what}"
    assert all(f.line <= len(lines) for f in found), f"clean lines reported: {found}"
    assert str(found[0]).startswith(f"{path}:1: ")


def test_requests_keep_no_credentials() -> None:
    keys = AwsKeys(Secret(CANARY_ID), Secret(CANARY_KEY), Secret(CANARY_TOKEN), "test")
    scrubber = Scrubber(keys, account="210987654321")
    auth = (
        f"AWS4-HMAC-SHA256 Credential={CANARY_ID}/20261206/eu-west-1/elasticloadbalancing/"
        f"aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={'f' * 64}"
    )
    request = Request(
        "POST",
        f"http://127.0.0.1:5000/?X-Amz-Credential={CANARY_ID}&X-Amz-Signature=abc&Page=2",
        (
            "Action=CreateTargetGroup&Version=2015-12-01&Name=tg"
            f"&Note={quote(CANARY_KEY, safe='')}"
            "&Arn=arn%3Aaws%3Aec2%3Aeu-west-1%3A210987654321%3Avpc%2Fvpc-1"
        ).encode(),
        {
            "Authorization": auth,
            "X-Amz-Security-Token": CANARY_TOKEN,
            "X-Amz-Date": "20261206T120000Z",
            "amz-sdk-invocation-id": "0c99e3f9-170d-4018-bce0-027d2bcddf1a",
            "User-Agent": "aiobotocore/3 atlas",
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        },
    )
    clean = scrubber.request(request)
    assert clean.host == "elasticloadbalancing.eu-west-1.amazonaws.com"
    assert dict(clean.headers) == {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"
    }
    assert dict(clean.query) == {
        "X-Amz-Credential": REDACTED,
        "X-Amz-Signature": REDACTED,
        "Page": "2",
    }
    params = _params(clean)
    assert params["Note"] == REDACTED
    assert params["Arn"] == f"arn:aws:ec2:eu-west-1:{ACCOUNT_PLACEHOLDER}:vpc/vpc-1"
    text = repr(vars(clean))
    for secret in (CANARY_ID, CANARY_KEY, CANARY_TOKEN, "210987654321"):
        assert secret not in text
    assert "Secret('***')" in repr(keys.secret_access_key)


def test_responses_keep_no_credentials() -> None:
    keys = AwsKeys(Secret(CANARY_ID), Secret(CANARY_KEY), Secret(CANARY_TOKEN), "test")
    body = (
        "<CreateDBInstanceResponse><DBInstance><MasterUserPassword>hunter2</MasterUserPassword>"
        f"<Note>{CANARY_TOKEN}</Note><Other>AKIAOTHERKEY0000TEST</Other>"
        "<MasterUserSecret><SecretArn>arn:aws:secretsmanager:eu-west-1:210987654321:secret:rds"
        "</SecretArn></MasterUserSecret></DBInstance></CreateDBInstanceResponse>"
    )
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["text/xml"], "Set-Cookie": ["a=b"], "Date": ["today"]},
        "body": {"string": body.encode()},
    }
    clean = Scrubber(keys, account="210987654321").response(response)
    assert clean["headers"] == {"Content-Type": ["text/xml"]}
    text = clean["body"]["string"].decode()
    for secret in ("hunter2", CANARY_TOKEN, "AKIAOTHERKEY0000TEST", "210987654321"):
        assert secret not in text
    assert "secret:rds" in text
    assert ACCOUNT_PLACEHOLDER in text


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections go to loopback (the emulator) or nowhere."""
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else ""
        if not ipaddress.ip_address(host).is_loopback:
            raise OSError(f"only loopback connections here, not {host}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.mark.loopback
@pytest.mark.usefixtures("loopback_only")
async def test_a_canary_credential_leaves_no_trace(tmp_path: Path) -> None:
    """Record with a random key pair and session token: none of it is written, and the
    emulator's account id (derived from the key id) is kept, since replay needs none of it."""
    key_id = "ASIA" + secrets.token_hex(8).upper()
    keys = AwsKeys(
        Secret(key_id),
        Secret("Ca/" + secrets.token_urlsafe(27)),
        Secret("IQoJb3JpZ2lu" + secrets.token_urlsafe(150)),
        "test",
    )
    dest = tmp_path / "drift.yaml"
    count = await record_on_emulator("drift", dest, poll_interval=0.1, keys=keys)
    text = dest.read_text(encoding="utf-8")
    assert count > 0
    for secret in keys.secrets():
        assert secret not in text
        assert secret[4:20] not in text
    assert "127.0.0.1" not in text, "the recording's address must not be written down"
    assert account_for(key_id) in text
    assert not find_secrets(dest, keys.secrets())


def test_recording_against_aws_needs_a_credential(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no shared credentials file either
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert main(["--real", "--kind", "drift", "--out", str(tmp_path)]) == 2
    assert "refusing to record against AWS" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.yaml"))
