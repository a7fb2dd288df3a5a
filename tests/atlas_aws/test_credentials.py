"""The AWS key pair comes from one place, whole; nothing of it ever shows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from atlas.exceptions import CredentialsError
from atlas_aws.credentials import SECRET_KEY, AwsCredentialChain, AwsKeys


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
    assert "SSO and role profiles" in tried
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
