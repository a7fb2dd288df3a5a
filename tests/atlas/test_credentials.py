"""Secret and the credential chain: explicit, environment, Context Manager; errors name sources."""

from __future__ import annotations

import copy
import pickle

import httpx
import pytest

from atlas.credentials import (
    ContextManagerSource,
    CredentialChain,
    CredentialSpec,
    EnvironmentSource,
    ExplicitSource,
    Secret,
    credential_chain,
)
from atlas.exceptions import CredentialsError

TOKEN = "dop_v1_" + "5eed" * 16
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoidSJ9.c2lnbmF0dXJl"
CM = "http://cm.test:3002"

#: A token chain as a provider declares one (the names are DigitalOcean's, as an example).
digitalocean_token_chain = CredentialSpec(
    "DigitalOcean API token",
    ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_API_TOKEN"),
    "digitalocean_api_token",
).chain


class ContextManager:
    """An in-process Context Manager answering one canned response, recording what it saw."""

    def __init__(self, response: httpx.Response | Exception) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def stored(value: object) -> ContextManager:
    return ContextManager(httpx.Response(200, json={"success": True, "data": {"value": value}}))


# -- Secret --------------------------------------------------------------------------------------


def test_secret_hides_its_value() -> None:
    secret = Secret(TOKEN)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert TOKEN not in text
        assert "***" in text
    assert secret.reveal() == TOKEN


def test_secret_equality_by_value_and_no_hash() -> None:
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) != Secret(TOKEN + "x")
    assert Secret(TOKEN) != TOKEN
    with pytest.raises(TypeError):
        hash(Secret(TOKEN))


def test_secret_copies_but_never_pickles() -> None:
    secret = Secret(TOKEN)
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"t": secret})["t"] is secret
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_secret_holds_only_strings() -> None:
    with pytest.raises(TypeError, match="not bytes"):
        Secret(b"token")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Secret(TOKEN).__dict__  # noqa: B018 - slots: no instance dict to dump


# -- the chain -----------------------------------------------------------------------------------


async def test_explicit_value_wins() -> None:
    chain = digitalocean_token_chain(TOKEN, env={"DIGITALOCEAN_TOKEN": "other"})
    assert (await chain.resolve()).reveal() == TOKEN
    assert (await digitalocean_token_chain(Secret(TOKEN), env={}).resolve()).reveal() == TOKEN


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DIGITALOCEAN_TOKEN": "a", "DIGITALOCEAN_ACCESS_TOKEN": "b"}, "a"),
        ({"DIGITALOCEAN_ACCESS_TOKEN": "b", "DIGITALOCEAN_API_TOKEN": "c"}, "b"),
        ({"DIGITALOCEAN_API_TOKEN": "c"}, "c"),
        ({"DIGITALOCEAN_TOKEN": "", "DIGITALOCEAN_API_TOKEN": "c"}, "c"),
        ({"DIGITALOCEAN_TOKEN": "  a\n"}, "a"),
    ],
)
async def test_environment_names_in_order(env: dict[str, str], expected: str) -> None:
    assert (await digitalocean_token_chain(env=env).resolve()).reveal() == expected


async def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIGITALOCEAN_API_TOKEN", TOKEN)
    assert (await digitalocean_token_chain().resolve()).reveal() == TOKEN


async def test_failure_names_every_source_and_why() -> None:
    chain = digitalocean_token_chain(env={"DIGITALOCEAN_ACCESS_TOKEN": ""})
    with pytest.raises(CredentialsError) as caught:
        await chain.resolve()
    assert caught.value.sources_tried == (
        "explicit value: not given",
        "env DIGITALOCEAN_TOKEN: not set",
        "env DIGITALOCEAN_ACCESS_TOKEN: set but empty",
        "env DIGITALOCEAN_API_TOKEN: not set",
        "context manager at http://localhost:3002: skipped, no JWT given",
    )
    assert str(caught.value).startswith("no DigitalOcean API token found (tried: explicit value")


async def test_a_value_a_header_cannot_carry_is_refused() -> None:
    chain = digitalocean_token_chain(env={"DIGITALOCEAN_TOKEN": "dop v1 token"})
    with pytest.raises(CredentialsError, match="env DIGITALOCEAN_TOKEN: contains spaces") as caught:
        await chain.resolve()
    assert "dop v1 token" not in str(caught.value)


# -- the Context Manager -------------------------------------------------------------------------


async def test_context_manager_lookup() -> None:
    cm = stored(TOKEN)
    chain = digitalocean_token_chain(
        jwt=JWT, env={}, context_manager_url=CM, transport=cm.transport
    )
    assert (await chain.resolve()).reveal() == TOKEN
    (request,) = cm.requests
    assert str(request.url) == f"{CM}/api/v1/context/secret/credential/digitalocean_api_token"
    assert request.headers["authorization"] == f"Bearer {JWT}"
    timeout = request.extensions["timeout"]
    assert timeout == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


async def test_context_manager_url_from_environment() -> None:
    cm = stored(TOKEN)
    env = {"CONTEXT_MANAGER_URL": "http://env-cm.test/"}
    chain = digitalocean_token_chain(jwt=JWT, env=env, transport=cm.transport)
    await chain.resolve()
    assert cm.requests[0].url.host == "env-cm.test"
    assert cm.requests[0].url.path.startswith("/api/v1/")


async def test_no_jwt_means_no_request() -> None:
    cm = stored(TOKEN)
    chain = digitalocean_token_chain(env={}, transport=cm.transport)
    with pytest.raises(CredentialsError, match="skipped, no JWT given"):
        await chain.resolve()
    assert cm.requests == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(404, json={"success": False, "error": "nf"}), "no credential "),
        (httpx.Response(401, json={"error": "Unauthorized"}), "the JWT was refused (401)"),
        (httpx.Response(503, text="down"), "answered HTTP 503"),
        (httpx.Response(200, json={"success": True}), "answered 200 without data.value"),
        (httpx.Response(200, text="not json"), "answered 200 without data.value"),
        (httpx.Response(200, json={"data": {"value": 42}}), "non-string data.value"),
        (httpx.Response(200, json={"data": {"value": ""}}), "set but empty"),
        (httpx.ConnectError("refused"), "unreachable (ConnectError)"),
        (httpx.ReadTimeout("slow"), "timed out after 10s"),
        (httpx.RemoteProtocolError("dropped"), "unreachable (RemoteProtocolError)"),
    ],
)
async def test_context_manager_failures_say_why(answer, reason: str) -> None:  # type: ignore[no-untyped-def]
    cm = ContextManager(answer)
    chain = digitalocean_token_chain(
        jwt=JWT, env={}, context_manager_url=CM, transport=cm.transport
    )
    with pytest.raises(CredentialsError) as caught:
        await chain.resolve()
    last = caught.value.sources_tried[-1]
    assert last.startswith(f"context manager at {CM}: ")
    assert reason in last
    assert JWT not in str(caught.value)
    assert caught.value.__cause__ is None


async def test_a_jwt_a_header_cannot_carry_is_not_sent() -> None:
    cm = stored(TOKEN)
    source = ContextManagerSource("k", Secret(JWT + "\n"), CM, transport=cm.transport)
    with pytest.raises(CredentialsError, match="skipped"):
        await source.lookup()
    assert cm.requests == []


# -- building other chains -----------------------------------------------------------------------


async def test_a_generic_chain_for_another_cloud() -> None:
    cm = stored("AKIAEXAMPLE")
    chain = credential_chain(
        "AWS access key id",
        key="aws_access_key_id",
        env_names=["AWS_ACCESS_KEY_ID"],
        jwt=Secret(JWT),
        env={},
        context_manager_url=CM,
        transport=cm.transport,
    )
    assert (await chain.resolve()).reveal() == "AKIAEXAMPLE"
    assert cm.requests[0].url.path.endswith("/credential/aws_access_key_id")


async def test_sources_compose_by_hand() -> None:
    chain = CredentialChain(
        "test token", (ExplicitSource(None), EnvironmentSource("X", {"X": TOKEN}))
    )
    assert (await chain.resolve()).reveal() == TOKEN
    assert TOKEN not in repr(chain)
    assert "X" in repr(chain)
    empty = CredentialChain("nothing", ())
    with pytest.raises(CredentialsError, match="no nothing found"):
        await empty.resolve()


async def test_an_empty_jwt_counts_as_none() -> None:
    cm = stored(TOKEN)
    chain = digitalocean_token_chain(jwt="  ", env={}, transport=cm.transport)
    with pytest.raises(CredentialsError, match="skipped, no JWT given"):
        await chain.resolve()
    assert cm.requests == []
