"""The AWS key pair comes from one place, whole; nothing of it ever shows."""

from __future__ import annotations

import datetime
import http.server
import json
import logging
import sys
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from atlas.exceptions import CredentialsError
from atlas_aws.client import Ec2
from atlas_aws.credentials import SECRET_KEY, AwsCredentialChain, AwsKeys
from atlas_aws.emulator import AwsEmulator, account_for, shared_emulator
from atlas_aws.sandbox import CONFIG


def chain(env: dict[str, str], **kwargs: object) -> AwsCredentialChain:
    return AwsCredentialChain(SECRET_KEY.chain(env=env, **kwargs), env)  # type: ignore[arg-type]


async def test_the_environment_gives_the_pair_and_the_token() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAENV",
        "AWS_SECRET_ACCESS_KEY": "env-secret",
        "AWS_SESSION_TOKEN": "env-token",
    }
    keys = await chain(env).resolve()
    assert keys.access_key_id.reveal() == "AKIAENV"
    assert keys.secret_access_key.reveal() == "env-secret"
    assert keys.session_token is not None
    assert keys.session_token.reveal() == "env-token"
    assert keys.source == "env"
    assert "env-secret" not in repr(keys)
    assert "AKIAENV" not in repr(keys)


def _files(tmp_path: Path) -> dict[str, str]:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n"
        "[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = work-secret\n"
    )
    (aws / "config").write_text(
        "[profile cfg]\naws_access_key_id = AKIACFG\naws_secret_access_key = cfg-secret\n"
        "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n"
    )
    return {"HOME": str(tmp_path)}


async def test_the_profile_of_the_shared_files(tmp_path: Path) -> None:
    env = _files(tmp_path)
    assert (await chain(env).resolve()).access_key_id.reveal() == "AKIADEFAULT"
    work = await chain(env | {"AWS_PROFILE": "work"}).resolve()
    assert (work.access_key_id.reveal(), work.source) == ("AKIAWORK", "profile work")
    cfg = await chain(env | {"AWS_PROFILE": "cfg"}).resolve()
    assert cfg.secret_access_key.reveal() == "cfg-secret"


async def test_half_a_pair_is_never_paired_with_another_half(tmp_path: Path) -> None:
    env = _files(tmp_path) | {"AWS_SECRET_ACCESS_KEY": "lonely-secret"}
    keys = await chain(env).resolve()
    assert keys.secret_access_key.reveal() == "default-secret"  # the profile's own pair


async def test_the_context_manager_holds_both_halves() -> None:
    stored = {"aws_access_key_id": "AKIACM", "aws_secret_access_key": "cm-secret"}

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.path.rsplit("/", 1)[1]
        if key not in stored:
            return httpx.Response(404)
        return httpx.Response(200, json={"data": {"value": stored[key]}})

    transport = httpx.MockTransport(answer)
    keys = await chain({}, jwt="a.jwt.token", transport=transport).resolve()
    assert (keys.access_key_id.reveal(), keys.source) == ("AKIACM", "context manager")


async def test_nothing_found_names_every_place_and_no_secret(tmp_path: Path) -> None:
    env = _files(tmp_path) | {"AWS_PROFILE": "sso", "AWS_SECRET_ACCESS_KEY": "half-secret"}
    with pytest.raises(CredentialsError) as info:
        await chain(env).resolve()
    tried = "\n".join(info.value.sources_tried)
    assert "env AWS_ACCESS_KEY_ID: not set" in tried
    assert "profile 'sso'" in tried
    assert "holds no credential setting" in tried  # sso_start_url alone names no role
    assert "context manager" in tried
    assert "half-secret" not in str(info.value) + tried


async def test_an_empty_environment_finds_nothing() -> None:
    with pytest.raises(CredentialsError, match="no AWS access key pair"):
        await chain({}).resolve()


async def test_explicit_keys_come_first() -> None:
    from atlas.credentials import Secret

    given = AwsKeys(Secret("AKIAX"), Secret("x-secret"))
    found = await AwsCredentialChain(SECRET_KEY.chain(env={}), {}, given).resolve()
    assert found is given


# -- profiles read by botocore's providers: roles, SSO, credential_process --------------------

ROLE_ACCOUNT = "210987654321"
ROLE_ARN = f"arn:aws:iam::{ROLE_ACCOUNT}:role/deploy"
SOURCE_KEY_ID = "AKIASOURCEPROFILE01"
SOURCE_SECRET = "source-profile-secret-do-not-show"


@pytest.fixture
def emulator() -> AwsEmulator:
    return shared_emulator(CONFIG)


def _aws_files(tmp_path: Path, config: str, credentials: str = "") -> dict[str, str]:
    aws = tmp_path / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "credentials").write_text(
        f"[src]\naws_access_key_id = {SOURCE_KEY_ID}\n"
        f"aws_secret_access_key = {SOURCE_SECRET}\n" + credentials
    )
    (aws / "config").write_text(config)
    return {"HOME": str(tmp_path)}


ROLE_CONFIG = (
    f"[profile role]\nrole_arn = {ROLE_ARN}\nsource_profile = src\n"
    "role_session_name = atlas-test\nexternal_id = ext-42\nduration_seconds = 1800\n"
)


def _assumed(session_name: str | None = None) -> list[Any]:
    """What moto's STS recorded of the roles assumed (with ``session_name``, when given)."""
    from moto.sts.models import sts_backends

    return [
        role
        for backends in list(sts_backends.values())
        for backend in list(backends.values())
        for role in backend.assumed_roles
        if session_name is None or role.session_name == session_name
    ]


async def test_an_assume_role_profile_goes_to_sts_and_acts_in_the_role_s_account(
    tmp_path: Path, emulator: AwsEmulator
) -> None:
    env = _aws_files(tmp_path, ROLE_CONFIG) | {
        "AWS_PROFILE": "role",
        "AWS_ENDPOINT_URL": emulator.url,
    }
    keys = await chain(env).resolve()
    assert keys.source == "profile role"
    assert keys.access_key_id.reveal().startswith("ASIA")  # STS's temporary key, not the source's
    assert keys.session_token is not None
    assert keys.live is not None  # botocore's refreshable credential, not a frozen copy
    (assumed,) = [
        r for r in _assumed("atlas-test") if r.access_key_id == keys.access_key_id.reveal()
    ]
    assert (assumed.role_arn, assumed.external_id) == (ROLE_ARN, "ext-42")
    expires = assumed.expiration.replace(tzinfo=datetime.UTC)  # moto keeps naive UTC
    remaining = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert 1700 < remaining <= 1800  # duration_seconds reached STS
    ec2 = await Ec2.open(keys, "eu-west-1", endpoint_url=emulator.url)
    try:
        vpcs = (await ec2.call("DescribeVpcs"))["Vpcs"]
    finally:
        await ec2.aclose()
    assert {v["OwnerId"] for v in vpcs} == {ROLE_ACCOUNT}


async def test_a_role_chain_of_two_roles(tmp_path: Path, emulator: AwsEmulator) -> None:
    config = ROLE_CONFIG + (
        "[profile second]\nrole_arn = arn:aws:iam::333344445555:role/audit\n"
        "source_profile = role\nrole_session_name = atlas-chained\n"
    )
    env = _aws_files(tmp_path, config) | {"AWS_PROFILE": "second", "AWS_ENDPOINT_URL": emulator.url}
    keys = await chain(env).resolve()
    (assumed,) = [
        r for r in _assumed("atlas-chained") if r.access_key_id == keys.access_key_id.reveal()
    ]
    assert assumed.role_arn.endswith("333344445555:role/audit")


async def test_credential_source_environment_takes_the_environment_s_pair_to_sts(
    tmp_path: Path, emulator: AwsEmulator
) -> None:
    config = (
        f"[profile ci]\nrole_arn = {ROLE_ARN}\ncredential_source = Environment\n"
        "role_session_name = atlas-ci\n"
    )
    env = _aws_files(tmp_path, config) | {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT01",
        "AWS_SECRET_ACCESS_KEY": "environment-secret",
    }
    # Named by the caller (the AWS CLI's --profile): the role is assumed with the env's pair.
    named = AwsCredentialChain(SECRET_KEY.chain(env=env), env, profile="ci")
    keys = await named.resolve()
    assert keys.access_key_id.reveal().startswith("ASIA")
    assert _assumed("atlas-ci")
    # Through AWS_PROFILE the environment's pair comes first, as for the AWS CLI.
    plain = await chain(env | {"AWS_PROFILE": "ci"}).resolve()
    assert (plain.access_key_id.reveal(), plain.source) == ("AKIAENVIRONMENT01", "env")


def _process(tmp_path: Path, expires_in: float | None, *, fail: bool = False) -> str:
    """A credential_process that hands out a new key each run and counts its runs."""
    script = tmp_path / "creds.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import datetime, json, pathlib, sys
            count = pathlib.Path({str(tmp_path / "runs")!r})
            n = int(count.read_text()) + 1 if count.exists() else 1
            count.write_text(str(n))
            if {fail!r}:
                sys.stderr.write("denied; debug token proc-stderr-secret\\n")
                sys.exit(3)
            out = {{"Version": 1, "AccessKeyId": f"AKIAPROC{{n:08d}}",
                   "SecretAccessKey": f"proc-secret-{{n}}", "SessionToken": f"proc-token-{{n}}"}}
            if {expires_in!r} is not None:
                now = datetime.datetime.now(datetime.UTC)
                at = now + datetime.timedelta(seconds={expires_in!r})
                out["Expiration"] = at.isoformat()
            print(json.dumps(out))
            """
        )
    )
    return f"[profile proc]\ncredential_process = {sys.executable} {script}\n"


def _runs(tmp_path: Path) -> int:
    return int((tmp_path / "runs").read_text())


async def test_a_credential_process_without_expiry_is_run_once(
    tmp_path: Path, emulator: AwsEmulator
) -> None:
    env = _aws_files(tmp_path, _process(tmp_path, None)) | {"AWS_PROFILE": "proc"}
    keys = await chain(env).resolve()
    assert (keys.access_key_id.reveal(), keys.secret_access_key.reveal()) == (
        "AKIAPROC00000001",
        "proc-secret-1",
    )
    assert keys.live is None  # nothing to renew: a plain pair
    assert _runs(tmp_path) == 1


async def test_credentials_about_to_expire_are_renewed_by_the_client(
    tmp_path: Path, emulator: AwsEmulator
) -> None:
    # Five minutes left is inside botocore's mandatory window (ten minutes): every request
    # renews them first, as a long-lived `atlas serve` does an hour after it started.
    env = _aws_files(tmp_path, _process(tmp_path, 300)) | {"AWS_PROFILE": "proc"}
    keys = await chain(env).resolve()
    assert keys.live is not None
    start = _runs(tmp_path)  # botocore runs it to load, then again as the first use renews
    ec2 = await Ec2.open(keys, "eu-west-1", endpoint_url=emulator.url)
    try:
        await ec2.call("DescribeVpcs")
        await ec2.call("DescribeVpcs")
    finally:
        await ec2.aclose()
    assert _runs(tmp_path) == start + 2
    assert emulator.layer is not None
    # Each request was signed with the key of its own renewal (a fresh account per key here).
    for n in (start + 1, start + 2):
        assert emulator.layer.account(account_for(f"AKIAPROC{n:08d}")).requests == 1


async def test_credentials_with_time_left_are_not_fetched_again(
    tmp_path: Path, emulator: AwsEmulator
) -> None:
    env = _aws_files(tmp_path, _process(tmp_path, 7200)) | {"AWS_PROFILE": "proc"}
    keys = await chain(env).resolve()
    ec2 = await Ec2.open(keys, "eu-west-1", endpoint_url=emulator.url)
    try:
        await ec2.call("DescribeVpcs")
        await ec2.call("DescribeVpcs")
    finally:
        await ec2.aclose()
    assert _runs(tmp_path) == 1


async def test_a_failing_credential_process_names_the_setting_not_its_output(
    tmp_path: Path,
) -> None:
    env = _aws_files(tmp_path, _process(tmp_path, None, fail=True)) | {"AWS_PROFILE": "proc"}
    with pytest.raises(CredentialsError) as info:
        await chain(env).resolve()
    message = str(info.value)
    assert "profile 'proc'" in message
    assert "credential_process failed" in message
    assert "proc-stderr-secret" not in message


# -- SSO: the token `aws sso login` cached, and the portal's GetRoleCredentials --------------

SSO_TOKEN = "sso-access-token-do-not-show"
PORTAL_SECRET = "portal-secret-do-not-show"


class _Portal(http.server.BaseHTTPRequestHandler):
    """AWS's SSO portal as its API model (botocore's ``sso``) describes GetRoleCredentials:
    the role's short-term credentials for a valid bearer token, 401 otherwise."""

    asked: ClassVar[list[dict[str, str]]] = []
    #: Seconds the role's credentials last (AWS gives them an hour or more).
    lifetime: ClassVar[float] = 3600

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        token = self.headers.get("x-amz-sso_bearer_token")
        _Portal.asked.append(query)
        if url.path != "/federation/credentials" or token != SSO_TOKEN:
            self._answer(401, {"message": "Session token not found or invalid"},
                         error="UnauthorizedException")  # fmt: skip
            return
        expires = int((time.time() + _Portal.lifetime) * 1000)
        n = len(_Portal.asked)
        credentials = {
            "accessKeyId": f"ASIAPORTAL{n:07d}",
            "secretAccessKey": PORTAL_SECRET,
            "sessionToken": "portal-session-token",
            "expiration": expires,
        }
        self._answer(200, {"roleCredentials": credentials})

    def _answer(self, status: int, body: dict[str, Any], error: str = "") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def portal() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Portal.asked.clear()
    _Portal.lifetime = 3600
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


SSO_CONFIG = (
    "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\n"
    "sso_role_name = Developer\nregion = eu-west-1\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
    "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n"
)


def _login(home: Path, expires_in: float, session: str | None = "corp") -> None:
    """What `aws sso login` leaves behind, saved by botocore's own token loader."""
    from botocore.utils import JSONFileCache, SSOTokenLoader

    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=expires_in)
    token = {
        "startUrl": "https://corp.awsapps.com/start",
        "region": "eu-west-1",
        "accessToken": SSO_TOKEN,
        "expiresAt": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    loader = SSOTokenLoader(cache=JSONFileCache(str(home / ".aws" / "sso" / "cache")))
    loader.save_token("https://corp.awsapps.com/start", token, session_name=session)


async def test_an_sso_profile_asks_the_portal_with_the_cached_token(
    tmp_path: Path, portal: str
) -> None:
    env = _aws_files(tmp_path, SSO_CONFIG) | {"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": portal}
    _login(tmp_path, 3600)
    keys = await chain(env).resolve()
    assert (keys.access_key_id.reveal(), keys.source) == ("ASIAPORTAL0000001", "profile dev")
    assert keys.secret_access_key.reveal() == PORTAL_SECRET
    assert keys.live is not None
    assert _Portal.asked == [{"role_name": "Developer", "account_id": "123456789012"}]


async def test_a_legacy_sso_profile(tmp_path: Path, portal: str) -> None:
    config = (
        "[profile old]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Developer\n"
    )
    env = _aws_files(tmp_path, config) | {"AWS_PROFILE": "old", "AWS_ENDPOINT_URL_SSO": portal}
    _login(tmp_path, 3600, session=None)
    keys = await chain(env).resolve()
    assert keys.access_key_id.reveal() == "ASIAPORTAL0000001"


@pytest.mark.parametrize("login", ["expired", "never"])
async def test_an_expired_or_missing_sso_token_says_to_log_in(
    tmp_path: Path, portal: str, login: str
) -> None:
    env = _aws_files(tmp_path, SSO_CONFIG) | {"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": portal}
    if login == "expired":
        _login(tmp_path, -60)
    with pytest.raises(CredentialsError) as info:
        await chain(env).resolve()
    message = str(info.value)
    assert "profile 'dev'" in message
    assert "sso_session 'corp'" in message
    assert "run `aws sso login --profile dev`" in message
    assert SSO_TOKEN not in message
    assert _Portal.asked == []  # an expired token is not even sent


async def test_when_the_sso_login_ends_the_next_renewal_says_to_log_in_again(
    tmp_path: Path, portal: str, emulator: AwsEmulator
) -> None:
    _Portal.lifetime = 300  # inside the mandatory window: each request renews
    env = _aws_files(tmp_path, SSO_CONFIG) | {"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": portal}
    _login(tmp_path, 3600)
    keys = await chain(env).resolve()
    ec2 = await Ec2.open(keys, "eu-west-1", endpoint_url=emulator.url)
    try:
        await ec2.call("DescribeVpcs")  # renewed through the portal with the cached token
        renewals = len(_Portal.asked)
        _login(tmp_path, -60)  # the IAM Identity Center session is over
        with pytest.raises(CredentialsError, match=r"aws sso login") as info:
            await ec2.call("DescribeVpcs")
    finally:
        await ec2.aclose()
    assert renewals >= 2
    assert "DescribeVpcs: the temporary credentials could not be renewed" in str(info.value)


# -- refusals, each naming the profile and the setting ----------------------------------------


@pytest.mark.parametrize(
    ("config", "profile", "expected"),
    [
        (
            f"[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = src\n"
            "mfa_serial = arn:aws:iam::111122223333:mfa/me\n",
            "mfa",
            "profile 'mfa': mfa_serial is set",
        ),
        (
            f"[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = up\n"
            f"[profile up]\nrole_arn = {ROLE_ARN}\nsource_profile = src\n"
            "mfa_serial = arn:aws:iam::111122223333:mfa/me\n",
            "mfa",
            "profile 'up' (reached from profile 'mfa'): mfa_serial is set",
        ),
        (
            f"[profile lost]\nrole_arn = {ROLE_ARN}\nsource_profile = nowhere\n",
            "lost",
            'The source_profile "nowhere" referenced in the profile "lost" does not exist',
        ),
        (
            f"[profile imds]\nrole_arn = {ROLE_ARN}\ncredential_source = Ec2InstanceMetadata\n",
            "imds",
            "credential_source = Ec2InstanceMetadata is not supported",
        ),
        (
            "[profile half]\nsso_account_id = 123456789012\nsso_role_name = Dev\n",
            "half",
            "is missing required configuration: sso_start_url, sso_region",
        ),
    ],
    ids=["mfa", "mfa-up-the-chain", "missing-source-profile", "imds-source", "sso-half-set"],
)
async def test_a_profile_that_cannot_give_a_credential_is_refused_by_name(
    tmp_path: Path, emulator: AwsEmulator, config: str, profile: str, expected: str
) -> None:
    env = _aws_files(tmp_path, config) | {"AWS_PROFILE": profile, "AWS_ENDPOINT_URL": emulator.url}
    before = len(_assumed())
    with pytest.raises(CredentialsError) as info:
        await chain(env).resolve()
    assert expected in str(info.value)
    assert f"profile {profile!r}" in str(info.value)
    assert SOURCE_SECRET not in str(info.value)
    assert SOURCE_KEY_ID not in str(info.value)
    assert len(_assumed()) == before  # refused before STS was asked


async def test_a_profile_that_does_not_exist_is_a_place_with_nothing(tmp_path: Path) -> None:
    stored = {"aws_access_key_id": "AKIACM", "aws_secret_access_key": "cm-secret"}

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json={"data": {"value": stored[key]}})

    env = _aws_files(tmp_path, ROLE_CONFIG) | {"AWS_PROFILE": "typo"}
    with pytest.raises(CredentialsError) as info:
        await chain(env).resolve()
    assert "profile 'typo' of the shared files: no such profile (AWS_PROFILE)" in str(info.value)
    # ... and the Context Manager is still asked after it.
    found = await chain(env, jwt="a.jwt", transport=httpx.MockTransport(answer)).resolve()
    assert found.source == "context manager"
    # A profile the caller names must exist, as for botocore.
    named = AwsCredentialChain(SECRET_KEY.chain(env=env), env, profile="typo")
    with pytest.raises(CredentialsError, match=r"'typo' .*: no such profile \(the profile given\)"):
        await named.resolve()


# -- nothing of any credential in any record or error ----------------------------------------


async def test_no_secret_reaches_a_log_record(
    tmp_path: Path, emulator: AwsEmulator, portal: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = ROLE_CONFIG + SSO_CONFIG + _process(tmp_path, 300)
    env = _aws_files(tmp_path, config) | {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_ENDPOINT_URL_SSO": portal,
    }
    _login(tmp_path, 3600)
    secrets = [SOURCE_KEY_ID, SOURCE_SECRET, SSO_TOKEN, PORTAL_SECRET, "portal-session-token"]
    for profile in ("role", "dev", "proc"):
        keys = await chain(env | {"AWS_PROFILE": profile}).resolve()
        secrets += keys.secrets()
        ec2 = await Ec2.open(keys, "eu-west-1", endpoint_url=emulator.url)
        try:
            await ec2.call("DescribeVpcs")
        finally:
            await ec2.aclose()
        secrets += keys.secrets()  # a process's renewed values too
    secrets += [f"proc-secret-{n}" for n in range(1, _runs(tmp_path) + 1)]
    assert len(caplog.records) > 50  # botocore did log its requests and answers at DEBUG
    assert any("Response body" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
        leaked = [s for s in set(secrets) if s in text]
        assert not leaked, f"{record.name}: {leaked}"


async def test_a_config_file_of_another_name_keeps_its_profile_sections(tmp_path: Path) -> None:
    config = tmp_path / "aws.ini"
    config.write_text(
        "[profile custom]\naws_access_key_id = AKIACUSTOM\naws_secret_access_key = c\n"
    )
    env = {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "custom"}  # and no HOME at all
    keys = await chain(env).resolve()
    assert (keys.access_key_id.reveal(), keys.source) == ("AKIACUSTOM", "profile custom")
