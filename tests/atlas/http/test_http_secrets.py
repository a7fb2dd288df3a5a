"""A canary token must never show up in a log record, an error message, or a repr."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest

from atlas import exceptions as exc
from atlas.credentials import CredentialSpec, Secret
from atlas.http import BearerAuth, RetryPolicy, ratelimit
from tests.atlas.http.http_fakes import CANARY, Script, json_response

#: A token chain as a provider declares one (the names are DigitalOcean's, as an example).
digitalocean_token_chain = CredentialSpec(
    "DigitalOcean API token",
    ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_API_TOKEN"),
    "digitalocean_api_token",
).chain


def echo_authorization(request: httpx.Request) -> httpx.Response:
    # A careless provider that quotes the request back in its error.
    message = f"token {request.headers['authorization']} is not allowed here"
    return json_response(403, {"id": "forbidden", "message": message})


def texts_of(error: BaseException) -> list[str]:
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return texts


async def run_scenarios(make_client) -> list[BaseException]:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    scripts = [
        Script(json_response(401, {"id": "unauthorized", "message": "Unable to authenticate"})),
        Script(echo_authorization),
        Script(json_response(500, {"id": "server_error", "message": "boom"})),
        Script(httpx.ConnectError("refused")),
        Script(httpx.ReadTimeout("slow")),
        Script(httpx.RemoteProtocolError("dropped")),
        Script(httpx.Response(502, text=f"proxy saw Bearer {CANARY}")),
    ]
    for script in scripts:
        client = make_client(script, retry=RetryPolicy(max_attempts=3, jitter=False))
        for call in (client.get_json("/v2/account"), client.post_json("/v2/droplets", {})):
            try:
                await call
            except exc.AtlasError as error:
                errors.append(error)
        await client.aclose()
    ok = Script(json_response(200, {"droplets": [{"id": 1}], "links": {}}))
    client = make_client(ok)
    assert [d async for d in client.paginate("/v2/droplets", "droplets")] == [{"id": 1}]
    return errors


async def test_canary_never_leaks(make_client, token: Secret, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    errors = await run_scenarios(make_client)
    assert len(errors) == 14

    chain = digitalocean_token_chain(env={"DIGITALOCEAN_TOKEN": CANARY})
    resolved = await chain.resolve()
    assert resolved == token
    failing = digitalocean_token_chain(
        jwt=CANARY,
        context_manager_url="http://cm.test",
        env={},
        transport=Script(httpx.Response(500, text=CANARY)).transport,
    )
    with pytest.raises(exc.CredentialsError) as caught:
        await failing.resolve()
    errors.append(caught.value)

    texts = [text for error in errors for text in texts_of(error)]
    texts += [repr(token), str(token), f"{token}", f"{token!r}", repr(resolved)]
    texts += [repr(chain), repr(failing), repr(BearerAuth(token))]
    client = make_client(Script(httpx.Response(200)))
    texts += [repr(client), repr(client.rate_limiter), repr(client.retry), repr(client._http)]
    # Nor does anything the client holds (its auth, its profile, the secrets it redacts).
    texts += [repr(vars(client)), repr(client.rate_limits), repr(client.paginator)]
    texts += [repr(client._http.auth), repr(ratelimit._registry)]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), record.exc_text or ""]
    assert caplog.records, "the scenarios should have logged something"
    leaks = [text for text in texts if CANARY in text]
    assert leaks == []
    # The echoed token still reads as redacted, so the message stays useful.
    assert any("Bearer ***" in text for text in texts)


def test_secret_is_not_pickled_in_clear(token: Secret) -> None:
    with pytest.raises(TypeError, match="cannot be pickled") as caught:
        pickle.dumps(token)
    assert CANARY not in str(caught.value)
