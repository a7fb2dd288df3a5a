"""ApiClient: what it sends, what it returns, what it refuses, what it logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from atlas import exceptions as exc
from atlas.credentials import Secret
from atlas.http import (
    DEFAULT_TIMEOUT,
    ApiClient,
    BearerAuth,
    Permit,
    Priority,
    RateLimiter,
    SecretAuth,
)
from tests.atlas.http.http_fakes import (
    BASE_URL,
    CANARY,
    PAGINATION,
    RATE_LIMITS,
    FakeTime,
    Script,
    json_response,
)


def plain_client(auth: httpx.Auth, **kwargs: Any) -> ApiClient:
    """A client on real time, for what the constructor decides."""
    kwargs.update(rate_limits=RATE_LIMITS, paginator=PAGINATION)
    return ApiClient(BASE_URL, auth=auth, **kwargs)  # type: ignore[arg-type]


async def test_sends_auth_user_agent_and_json(make_client) -> None:
    script = Script(json_response(202, {"droplet": {"id": 1}}))
    async with make_client(script) as client:
        body = await client.post_json("/v2/droplets", {"name": "web"}, params={"tag": "x"})
    assert body == {"droplet": {"id": 1}}
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/v2/droplets?tag=x"
    assert request.headers["authorization"] == f"Bearer {CANARY}"
    assert request.headers["user-agent"].startswith("atlas/")
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"name": "web"}


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
async def test_put_and_patch(make_client, method: str) -> None:
    script = Script(json_response(200, {"firewall": {"id": "f"}}))
    body = await getattr(make_client(script), method)("/v2/firewalls/f", {"name": "fw"})
    assert body == {"firewall": {"id": "f"}}
    assert script.requests[0].method == method.removesuffix("_json").upper()


async def test_empty_answers_are_empty_objects(make_client) -> None:
    script = Script(httpx.Response(204))
    client = make_client(script)
    assert await client.post_json("/v2/tags/web/resources", {"resources": []}) == {}
    assert await client.delete("/v2/volumes/v") is None
    assert script.requests[1].method == "DELETE"


async def test_non_object_answers_are_errors(make_client) -> None:
    client = make_client(Script(httpx.Response(200, text="<html>")))
    with pytest.raises(exc.ProviderAPIError, match="not a JSON object"):
        await client.get_json("/v2/account")


async def test_delete_missing_ok(make_client) -> None:
    script = Script(json_response(404, {"id": "not_found", "message": "gone"}))
    client = make_client(script)
    await client.delete("/v2/droplets/1", missing_ok=True)
    with pytest.raises(exc.NotFoundError):
        await client.delete("/v2/droplets/1")


async def test_request_returns_the_response(make_client) -> None:
    client = make_client(Script(httpx.Response(200, text="plain")))
    response = await client.request("get", "/v2/account")
    assert response.text == "plain"
    assert response.request.method == "GET"


async def test_refuses_to_send_the_token_elsewhere(make_client) -> None:
    script = Script(httpx.Response(200))
    client = make_client(script)
    with pytest.raises(ValueError, match=r"evil\.test"):
        await client.get_json("https://evil.test/v2/account")
    assert script.calls == 0
    # The same origin, spelled absolutely, is fine.
    await client.request("GET", f"{BASE_URL}/v2/account")
    assert script.calls == 1


async def test_does_not_follow_redirects(make_client) -> None:
    script = Script(httpx.Response(302, headers={"location": "https://evil.test/"}))
    response = await make_client(script).request("GET", "/v2/account")
    assert response.status_code == 302
    assert script.calls == 1


def test_defaults(token: Secret) -> None:
    client = plain_client(BearerAuth(token))
    assert client._http.timeout == DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.connect == 5.0
    assert DEFAULT_TIMEOUT.read == 30.0
    assert client.rate_limiter is RateLimiter.shared(RATE_LIMITS, token)
    assert client.rate_limiter.profile is RATE_LIMITS
    assert client.paginator is PAGINATION
    assert str(client.base_url) == BASE_URL


def test_fake_time_gets_a_private_limiter(make_client, token: Secret) -> None:
    client = make_client(Script(httpx.Response(200)))
    assert client.rate_limiter is not RateLimiter.shared(RATE_LIMITS, token)
    assert client.rate_limiter.profile is RATE_LIMITS


async def test_explicit_priority_reaches_the_limiter(make_client, fake_time: FakeTime) -> None:
    seen: list[Priority] = []

    class Recording(RateLimiter):
        async def acquire(self, priority: Priority = Priority.POLL) -> Permit:
            seen.append(priority)
            return await super().acquire(priority)

    limiter = Recording(RATE_LIMITS, clock=fake_time.clock, sleep=fake_time.sleep)
    client = make_client(Script(httpx.Response(200)), rate_limiter=limiter)
    await client.get_json("/v2/actions/1")
    await client.delete("/v2/droplets/1")
    await client.get_json("/v2/actions/1", priority=Priority.CHANGE)
    assert seen == [Priority.POLL, Priority.CHANGE, Priority.CHANGE]


def test_bad_token_characters_are_refused_without_quoting_the_token() -> None:
    with pytest.raises(exc.CredentialsError) as caught:
        BearerAuth(Secret(CANARY + "\n"))
    assert CANARY not in str(caught.value)
    with pytest.raises(exc.CredentialsError):
        BearerAuth(Secret("tok\u00e9n"))
    with pytest.raises(exc.CredentialsError):
        BearerAuth(Secret(""))
    with pytest.raises(TypeError, match="Secret"):
        BearerAuth(CANARY)  # type: ignore[arg-type]


async def test_one_debug_line_per_attempt(make_client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="atlas.http")
    script = Script(json_response(503, {"id": "x", "message": "y"}), json_response(200, {}))
    await make_client(script).get_json("/v2/droplets", params={"tag_name": "web"})
    lines = [r.getMessage() for r in caplog.records if r.name == "atlas.http"]
    assert lines == [
        "GET /v2/droplets -> 503 in 0.000s (attempt 1)",
        "GET /v2/droplets: retrying in 0.50s after ServerError (attempt 1 failed)",
        "GET /v2/droplets -> 200 in 0.000s (attempt 2)",
    ]


async def test_transport_failures_are_logged_by_kind(make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="atlas.http")
    script = Script(httpx.ConnectError("refused"), json_response(200, {}))
    await make_client(script).get_json("/v2/account")
    assert caplog.records[0].getMessage() == "GET /v2/account -> ConnectError in 0.000s (attempt 1)"


def test_sleep_and_clock_come_together(token: Secret, fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="together"):
        plain_client(BearerAuth(token), sleep=fake_time.sleep)
    with pytest.raises(ValueError, match="together"):
        plain_client(BearerAuth(token), clock=fake_time.clock)


class KeyAndSignature(SecretAuth):
    """An auth of two secrets, as signing schemes have (a key id and its secret)."""

    def __init__(self, key: Secret, secret: Secret) -> None:
        self._key, self._secret = key, secret

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return (self._key, self._secret)

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["x-key"] = self._key.reveal()
        request.headers["x-signature"] = f"sig({self._secret.reveal()})"
        yield request


async def test_any_secret_auth_is_used_and_each_of_its_secrets_redacted(make_client) -> None:
    key, secret = Secret("key-" + CANARY), Secret("secret-" + CANARY)

    def echo(request: httpx.Request) -> httpx.Response:
        text = f"{request.headers['x-key']} / {request.headers['x-signature']} refused"
        return json_response(403, {"id": "forbidden", "message": text})

    script = Script(echo)
    client = make_client(script, auth=KeyAndSignature(key, secret))
    with pytest.raises(exc.PermissionDeniedError) as caught:
        await client.get_json("/v2/account")
    assert "authorization" not in script.requests[0].headers
    assert script.requests[0].headers["x-signature"] == f"sig(secret-{CANARY})"
    assert caught.value.message == "*** / sig(***) refused"
    # The shared limiter is the credential's: both secrets key it.
    shared = plain_client(KeyAndSignature(key, secret)).rate_limiter
    assert shared is RateLimiter.shared(RATE_LIMITS, key, secret)
    assert shared is not RateLimiter.shared(RATE_LIMITS, key, Secret("other"))


def test_auth_must_say_what_it_holds() -> None:
    # A bare httpx.Auth hides its secrets: they could not be scrubbed from errors.
    with pytest.raises(TypeError, match="SecretAuth"):
        plain_client(httpx.BasicAuth("user", CANARY))

    class Empty(SecretAuth):
        secrets = ()

    with pytest.raises(ValueError, match="no secret"):
        plain_client(Empty())
