"""Authentication: JWTs signed with the shared secret, hashed API keys, or loopback only."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.credentials import Secret
from atlas.server import ApiKey, ApiKeyring, AuthConfig, create_app, hash_api_key, new_api_key
from atlas.server.auth import authenticate
from atlas.server.settings import refuse_open_bind, settings_from_env
from atlas.store import SQLiteStore
from tests.atlas.server.conftest import SECRET, MakeSettings, Served, bearer, spec, token


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "authentication required"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer"}, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer not.a.jwt"}, "invalid token"),
        (bearer(expires_in=-120), "expired"),
        (bearer(secret="another-secret-" + "y" * 32), "Signature verification failed"),
        (bearer(algorithm="HS512"), "alg"),
        (bearer(exp=None), "exp"),
        (bearer(workspace=None), "workspace_id"),
        (bearer(workspace="../etc"), "workspace_id"),
        (bearer(workspace="ws\n"), "workspace_id"),
        (bearer(user=None), "user_id"),
        (bearer(user=True), "user_id"),
        ({"X-API-Key": "atlas_unknown"}, "invalid API key"),
        # The times are numbers, and the expiry near: pyjwt alone takes all of these.
        (bearer(exp="9999999999"), "the exp claim must be a number"),
        (bearer(exp=float("inf")), "the exp claim must be a number"),
        (bearer(exp=True), "the exp claim must be a number"),
        (bearer(exp=10**20), "expires too far ahead: at most 86400 seconds"),
        (bearer(expires_in=2 * 86400), "expires too far ahead"),
        (bearer(nbf="0"), "the nbf claim must be a number"),
        (bearer(iat=[1]), "the iat claim must be a number"),
        (bearer(nbf=time.time() + 3600), "not valid yet"),
        (bearer(iat=time.time() + 3600), "issued in the future"),
        # What the server stored while it ran without authentication is no JWT's.
        (bearer(workspace="default"), "names the workspace 'default'"),
    ],
)
async def test_requests_without_valid_credentials_are_refused(
    served: Served, headers: dict[str, str], reason: str
) -> None:
    async with served.client(headers) as c:
        for method, path in (("GET", "/api/v1/stats"), ("POST", "/api/v1/infrastructure")):
            r = await c.request(method, path, json=spec())
            assert r.status_code == 401, (headers, r.text)
            assert r.json()["code"] == "UNAUTHORIZED"
            assert reason in r.json()["message"]
            assert r.headers["www-authenticate"].startswith('Bearer realm="atlas"')
    # Nothing ran anywhere: no workspace got the request.
    assert served.app.state.service.settings.store.list_infrastructures("default") == []


async def test_a_token_well_within_its_limits_is_accepted(served: Served) -> None:
    claims = {"nbf": int(time.time()) - 60, "iat": time.time() - 60}
    async with served.client(bearer(expires_in=86400 - 60, **claims)) as c:
        assert (await c.get("/api/v1/stats")).status_code == 200


async def test_the_maximum_lifetime_and_the_default_workspace_are_configurable(
    make_settings: MakeSettings,
) -> None:
    env = {
        "ATLAS_JWT_SECRET": SECRET,
        "ATLAS_JWT_MAX_LIFETIME": "2h",
        "ATLAS_JWT_ALLOW_DEFAULT_WORKSPACE": "true",
    }
    auth = settings_from_env(env, store=SQLiteStore(), registry=None).auth  # type: ignore[arg-type]
    assert (auth.max_lifetime, auth.allow_default_workspace) == (7200.0, True)
    app = create_app(make_settings(auth=auth))
    async with Served(app).client(bearer("default", expires_in=3 * 3600)) as c:
        r = await c.get("/api/v1/stats")
        assert (r.status_code, r.json()["message"]) == (
            401,
            "the token expires too far ahead: at most 7200 seconds from now",
        )
    async with Served(app).client(bearer("default", expires_in=3600)) as c:
        assert (await c.get("/api/v1/stats")).status_code == 200
    plain = settings_from_env({"ATLAS_JWT_MAX_LIFETIME": "600"}, store=SQLiteStore(), registry=None)  # type: ignore[arg-type]
    assert (plain.auth.max_lifetime, plain.auth.allow_default_workspace) == (600.0, False)
    for bad in ({"ATLAS_JWT_MAX_LIFETIME": "0"}, {"ATLAS_JWT_ALLOW_DEFAULT_WORKSPACE": "yes"}):
        with pytest.raises(ValueError, match="ATLAS_JWT_"):
            settings_from_env(bad, store=SQLiteStore(), registry=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Authorization", "X-API-Key"])
async def test_a_credential_header_given_twice_is_refused(
    make_settings: MakeSettings, name: str
) -> None:
    """Which copy counts would be a guess; a proxy in front guessing the other way would
    have let through someone else. So neither counts (RFC 6750: invalid_request)."""
    key = new_api_key()
    ring = ApiKeyring((ApiKey("ci", "ws-k", hash_api_key(key)),))
    app = create_app(make_settings(auth=AuthConfig(jwt_secret=Secret(SECRET), api_keys=ring)))
    good = f"Bearer {token('ws-a')}" if name == "Authorization" else key
    bad = "Bearer not.a.jwt" if name == "Authorization" else "atlas_unknown"
    async with Served(app).client() as c:
        for values in ((good, bad), (bad, good), (good, good)):
            for path in ("/api/v1/stats", "/api/v1/health"):
                r = await c.get(path, headers=[(name, v) for v in values])
                assert (r.status_code, r.json()["code"]) == (400, "BAD_REQUEST"), r.text
                assert r.json()["message"] == f"the request has 2 {name} headers; send exactly one"
                assert 'error="invalid_request"' in r.headers["www-authenticate"]
        assert (await c.get("/api/v1/stats", headers={name: good})).status_code == 200


def test_an_unsigned_token_is_refused() -> None:
    import jwt

    unsigned = jwt.encode({"workspace_id": "ws-a", "user_id": "u", "exp": 9999999999}, None, "none")
    config = AuthConfig(jwt_secret=Secret(SECRET))
    with pytest.raises(Exception, match="invalid token"):
        authenticate(config, {"authorization": f"Bearer {unsigned}"})


async def test_a_valid_jwt_names_the_workspace(served: Served) -> None:
    async with served.client(bearer("ws-9", user=42)) as c:
        r = await c.post("/api/v1/infrastructure", json=spec(resources=[]))
    assert r.status_code == 201
    assert r.json()["infrastructure"]["workspace_id"] == "ws-9"


def test_a_principal_keeps_the_jwt_for_the_context_manager() -> None:
    raw = token("ws-a")
    principal = authenticate(
        AuthConfig(jwt_secret=Secret(SECRET)), {"authorization": f"Bearer {raw}"}
    )
    assert (principal.workspace, principal.user, principal.method) == ("ws-a", "user-1", "jwt")
    assert principal.jwt is not None
    assert principal.jwt.reveal() == raw
    assert raw not in repr(principal)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        AuthConfig(jwt_secret=Secret("short"))


def test_api_keys_are_stored_hashed() -> None:
    key = new_api_key()
    assert key.startswith("atlas_")
    assert len(key) > 40
    ring = ApiKeyring((ApiKey("ci", "ws-k", hash_api_key(key)),))
    assert key not in repr(ring)
    assert ring.find(key) == ring.keys[0]
    assert ring.find(key + "x") is None
    with pytest.raises(ValueError, match="64 lowercase hex"):
        ApiKeyring((ApiKey("ci", "ws-k", key),))


async def test_an_api_key_maps_to_its_workspace(make_settings: MakeSettings) -> None:
    key = new_api_key()
    auth = AuthConfig(api_keys=ApiKeyring((ApiKey("ci", "ws-k", hash_api_key(key)),)))
    app = create_app(make_settings(auth=auth))
    served = Served(app)
    for n, headers in enumerate(({"X-API-Key": key}, {"Authorization": f"Bearer {key}"})):
        async with served.client(headers) as c:
            r = await c.post("/api/v1/infrastructure", json=spec(name=f"n{n}", resources=[]))
            assert r.status_code == 201, r.text
            assert r.json()["infrastructure"]["workspace_id"] == "ws-k"
    async with served.client(bearer("ws-k")) as c:  # JWTs are not configured here
        r = await c.get("/api/v1/stats")
        assert r.status_code == 401
        assert "API key" in r.json()["message"]
    assert app.state.service.document["security"] == [{"apiKey": []}]


def test_the_key_file(tmp_path: Path) -> None:
    key = new_api_key()
    path = tmp_path / "keys.json"
    path.write_text(
        json.dumps({"keys": [{"id": "ci", "workspace_id": "ws-k", "sha256": hash_api_key(key)}]})
    )
    settings = settings_from_env(
        {"ATLAS_API_KEYS_FILE": str(path)},
        store=SQLiteStore(),
        registry=None,  # type: ignore[arg-type]
    )
    assert settings.auth.api_keys.find(key) is not None
    assert settings.auth.modes() == ["api_key"]
    path.write_text('{"keys": [{"id": "ci"}]}')
    with pytest.raises(ValueError, match="cannot read the API key file"):
        settings_from_env({"ATLAS_API_KEYS_FILE": str(path)}, store=SQLiteStore(), registry=None)  # type: ignore[arg-type]


def test_environment_settings() -> None:
    env = {
        "ATLAS_JWT_SECRET": SECRET,
        "ATLAS_CORS_ORIGINS": "https://a.example, https://b.example",
        "ATLAS_MAX_BODY_BYTES": "2048",
    }
    settings = settings_from_env(env, store=SQLiteStore(), registry=None)  # type: ignore[arg-type]
    assert settings.auth.modes() == ["jwt"]
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.body_limit == 2048
    for bad in ({"ATLAS_CORS_ORIGINS": "*"}, {"ATLAS_MAX_BODY_BYTES": "lots"}):
        with pytest.raises(ValueError, match="ATLAS_"):
            settings_from_env(bad, store=SQLiteStore(), registry=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "atlas.example"])  # noqa: S104
def test_without_authentication_only_loopback_will_do(host: str) -> None:
    with pytest.raises(ValueError, match="refusing to listen"):
        refuse_open_bind(host, AuthConfig())
    refuse_open_bind(host, AuthConfig(jwt_secret=Secret(SECRET)))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_addresses(host: str) -> None:
    refuse_open_bind(host, AuthConfig())


async def test_without_authentication_one_default_workspace_for_loopback_callers(
    make_settings: MakeSettings,
) -> None:
    app = create_app(make_settings(auth=AuthConfig()))
    served = Served(app)
    async with served.client(base_url="http://127.0.0.1:3003") as c:
        r = await c.post("/api/v1/infrastructure", json=spec(resources=[]))
        assert r.status_code == 201
        assert r.json()["infrastructure"]["workspace_id"] == "default"
        # A token changes nothing: there is one workspace.
        r = await c.get("/api/v1/infrastructure", headers=bearer("ws-a"))
        assert r.json()["count"] == 1
    assert "security" not in app.state.service.document
    refused: list[Any] = []
    for base_url, client_ip in (
        ("http://atlas.example", "127.0.0.1"),  # DNS rebinding: a foreign name, our address
        ("http://127.0.0.1", "10.0.0.7"),  # a caller from elsewhere
    ):
        transport = httpx.ASGITransport(app=app, client=(client_ip, 5000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
            r = await c.get("/api/v1/stats")
            refused.append((r.status_code, r.json()["code"]))
    assert refused == [(403, "FORBIDDEN"), (403, "FORBIDDEN")]
    async with served.client(base_url="http://[::1]:3003") as c:
        assert (await c.get("/api/v1/stats")).status_code == 200
    async with served.client(base_url="http://localhost") as c:
        assert (await c.get("/api/v1/stats")).status_code == 200
