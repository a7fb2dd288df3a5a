"""The service routes, and what every response carries: JSON errors, headers, request ids."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from atlas.credentials import Secret
from atlas.providers import ProviderRegistry
from atlas.server import create_app
from atlas.store import SQLiteStore
from atlas.testing.memory import ManualClock, MemoryCloud
from tests.atlas.server.conftest import (
    SECRET,
    MakeSettings,
    Served,
    bearer,
    created,
    gated_provider,
    spec,
    token,
)

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


async def test_service_info_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    body = (await client.get("/")).json()
    assert body["service"] == "atlas"
    assert body["authentication"] == ["jwt"]
    assert body["endpoints"]["health"] == "/api/v1/health"
    assert body["endpoints"]["operation_events"] == "/api/v1/operations/{id}/events"
    assert body["endpoints"]["costs"] == "/api/v1/costs"
    assert len(body["endpoints"]) == 22
    assert "apply" in body["capabilities"]


async def test_health_reports_the_store_and_providers(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/health")).json()
    assert body["status"] == "healthy"
    assert body["providers"] == ["memory"]
    assert body["store"] == {
        "status": "ok",
        "backend": "sqlite",
        "schema_version": 6,
        "durable": False,
        "writable": True,
    }
    assert body["timestamp"].endswith("Z")
    assert body["operations_running"] == 0  # the caller is authenticated: its own figure


async def test_health_is_degraded_when_the_store_cannot_write(
    tmp_path: Path, make_settings: MakeSettings
) -> None:
    """A state file SQLite may only read (read-only file or mount) opens without a word,
    answers every read and fails every write: health must not call that healthy."""
    path = tmp_path / "state.db"
    SQLiteStore(path).close()  # made, with its schema, while still writable
    store = SQLiteStore(path)
    # Root may write whatever the permissions say: make the connection read-only the way a
    # read-only file would (writes fail with SQLITE_READONLY).
    conn = store._conn
    assert conn is not None
    conn.execute("PRAGMA query_only = ON")
    app = create_app(make_settings(store=store))
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        assert (await c.post("/api/v1/infrastructure", json=spec())).status_code == 503
        r = await c.get("/api/v1/health")
        assert r.status_code == 503
        assert r.json()["status"] == "degraded"
        assert r.json()["store"] == {
            "status": "degraded",
            "backend": "sqlite",
            "schema_version": 6,
            "durable": True,
            "writable": False,
            "error": "writes fail: attempt to write a readonly database",
        }
        conn.execute("PRAGMA query_only = OFF")
        r = await c.get("/api/v1/health")
        assert (r.status_code, r.json()["store"]["status"]) == (200, "ok")
    store.close()


async def test_unauthenticated_health_tells_nothing_about_workspaces(
    make_settings: MakeSettings, cloud: MemoryCloud, clock: ManualClock
) -> None:
    gate = asyncio.Event()  # the cloud's waits hang: ws-a's create stays running
    app = create_app(make_settings(shared_providers={"memory": gated_provider(cloud, clock, gate)}))
    served = Served(app)
    async with app.router.lifespan_context(app), served.client(bearer("ws-a")) as a:
        assert (await a.post("/api/v1/infrastructure", json=spec())).status_code == 201
        async with served.client() as anonymous:
            body = (await anonymous.get("/api/v1/health")).json()
        assert body["status"] == "healthy"
        assert "operations_running" not in body
        assert not any("workspace" in key or "operation" in key for key in body)
        assert (await a.get("/api/v1/health")).json()["operations_running"] == 1
        async with served.client(bearer("ws-b", user="user-2")) as b:
            assert (await b.get("/api/v1/health")).json()["operations_running"] == 0
            bad = await b.get("/api/v1/health", headers={"Authorization": "Bearer not.a.jwt"})
        assert bad.status_code == 401  # credentials sent along are checked, not ignored
        gate.set()


async def test_health_is_degraded_when_the_store_fails(served: Served) -> None:
    served.app.state.service.settings.store.close()
    async with served.client() as anonymous:
        r = await anonymous.get("/api/v1/health")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded"
    assert r.json()["store"] == {"status": "error", "error": "StateError"}


async def test_providers_with_a_shared_provider(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/providers")).json()
    assert body["count"] == 1
    [listed] = body["providers"]
    assert listed["name"] == "memory"
    assert (listed["status"], listed["connected"], listed["sandbox"]) == ("available", True, True)
    assert listed["credentials"] == "not_needed"
    assert listed["resource_types"] == ["disk", "network", "server"]
    assert listed["pricing"]["currency"] == "USD"


async def test_providers_say_which_credentials_are_missing(
    make_settings: MakeSettings,
) -> None:
    seen: list[Secret | None] = []

    async def probe(name: str, jwt: Secret | None) -> str | None:
        seen.append(jwt)
        return "no memory cloud token found (tried: env ATLAS_MEMORY_TOKEN: not set)"

    app = create_app(make_settings(shared_providers={}, credential_probe=probe))
    async with app.router.lifespan_context(app), Served(app).client(bearer("ws-a")) as c:
        [listed] = (await c.get("/api/v1/providers")).json()["providers"]
    assert (listed["status"], listed["connected"], listed["credentials"]) == (
        "disconnected",
        False,
        "missing",
    )
    assert "ATLAS_MEMORY_TOKEN" in listed["credentials_error"]
    assert seen[0] is not None  # the caller's JWT, to ask the Context Manager with


async def test_a_provider_without_factory_can_only_estimate(
    make_settings: MakeSettings, registry: ProviderRegistry
) -> None:
    import attrs

    info = attrs.evolve(registry.get("memory"), factory=None)
    bare = type(registry)({"memory": info}, {"memory": registry.kinds("memory")}, {})
    app = create_app(make_settings(registry=bare, shared_providers={}))
    async with Served(app).client(bearer("ws-a")) as c:
        [listed] = (await c.get("/api/v1/providers")).json()["providers"]
    assert (listed["status"], listed["can_create"], listed["pricing"]) == (
        "estimate_only",
        False,
        None,
    )


async def test_unknown_routes_and_methods_answer_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing")
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    r = await client.get("/api/v1/infrastructure/")  # no redirect for a stray slash
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    r = await client.patch("/api/v1/infrastructure/x")
    assert (r.status_code, r.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}


async def test_every_response_carries_the_security_headers(
    served: Served, client: httpx.AsyncClient
) -> None:
    async with served.client() as anonymous:
        responses = [
            await client.get("/"),
            await client.get("/nope"),
            await anonymous.get("/api/v1/stats"),
            await client.post("/api/v1/plan", content=b"{"),
        ]
    for r in responses:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value, (r.request.url, name)
        assert r.headers["x-request-id"]


async def test_a_plain_request_id_is_echoed_else_one_is_made(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/infrastructure/x", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json()["request_id"] == "abc-123"
    r = await client.get("/", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"
    assert len(r.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b'{"a": NaN}', {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"[" * 100_000, {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (b"{}", {"content-type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{}", {}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'"a string"', {"content-type": "application/json"}, 422, "VALIDATION_ERROR"),
        (b"[]", {"content-type": "application/json; charset=utf-8"}, 422, "VALIDATION_ERROR"),
    ],
)
async def test_bodies_that_are_not_a_spec(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    for path in ("/api/v1/infrastructure", "/api/v1/plan", "/api/v1/estimate-cost"):
        r = await client.post(path, content=content, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), path


JSON = {"content-type": "application/json"}


async def test_a_key_given_twice_in_a_body_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    text = json.dumps(spec(), indent=2).replace(
        '"region": "mem-1",', '"region": "mem-1",\n"region": "mem-9",'
    )
    for path in ("/api/v1/infrastructure", "/api/v1/plan", "/api/v1/estimate-cost"):
        r = await client.post(path, content=text.encode(), headers=JSON)
        assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR"), path
        assert r.json()["problems"] == [
            {"path": "region", "message": "duplicate key 'region' at line 5 (first at line 4)"}
        ]


async def test_a_body_in_another_encoding_is_refused_with_the_offset(
    client: httpx.AsyncClient,
) -> None:
    body = json.dumps(spec(tags={"owner": "Jos\u00e9"}), ensure_ascii=False)
    offset = body.encode("latin-1").index(b"\xe9")
    r = await client.post("/api/v1/estimate-cost", content=body.encode("latin-1"), headers=JSON)
    assert (r.status_code, r.json()["code"]) == (400, "BAD_REQUEST")
    assert r.json()["message"].startswith(
        f"the request body is not UTF-8 text: byte 0xe9 at offset {offset} (line 1)"
    )
    r = await client.post("/api/v1/estimate-cost", content=body.encode("utf-16"), headers=JSON)
    assert (r.status_code, r.json()["code"]) == (400, "BAD_REQUEST")
    assert "is UTF-16 text" in r.json()["message"]


async def test_a_body_with_a_utf_8_byte_order_mark_is_read(client: httpx.AsyncClient) -> None:
    content = b"\xef\xbb\xbf" + json.dumps(spec()).encode()
    r = await client.post("/api/v1/estimate-cost", content=content, headers=JSON)
    assert r.status_code == 200, r.text


async def test_a_body_over_the_limit_is_413(make_settings: MakeSettings) -> None:
    app = create_app(make_settings(body_limit=1000))
    async with Served(app).client(bearer("ws-a")) as c:
        big = spec(tags={f"k{i}": "v" * 20 for i in range(100)})
        r = await c.post("/api/v1/estimate-cost", json=big)
        assert (r.status_code, r.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(20):
                yield b" " * 100

        r = await c.post(
            "/api/v1/plan", content=chunks(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        assert (await c.post("/api/v1/estimate-cost", json=spec())).status_code == 200


async def test_an_unexpected_error_is_a_bare_500(make_settings: MakeSettings) -> None:
    async def probe(name: str, jwt: Secret | None) -> str | None:
        raise RuntimeError(f"boom, internal detail {SECRET}")

    app = create_app(make_settings(shared_providers={}, credential_probe=probe))
    async with Served(app).client(bearer("ws-a")) as c:
        r = await c.get("/api/v1/providers")
    assert r.status_code == 500
    body = r.json()
    assert (body["code"], body["error"]) == ("INTERNAL_ERROR", "InternalError")
    assert "boom" not in r.text
    assert SECRET not in r.text
    assert "Traceback" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_cors_is_closed_unless_origins_are_configured(
    client: httpx.AsyncClient, make_settings: MakeSettings
) -> None:
    preflight = {
        "Origin": "https://console.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    r = await client.options("/api/v1/infrastructure", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = await client.get("/", headers={"Origin": "https://console.example"})
    assert "access-control-allow-origin" not in r.headers

    app = create_app(make_settings(allowed_origins=("https://console.example",)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://atlas.test") as c:
        r = await c.options("/api/v1/infrastructure", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://console.example"
        r = await c.options(
            "/api/v1/infrastructure", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers


async def test_the_app_builds_without_the_lifespan(
    store: SQLiteStore, registry: ProviderRegistry
) -> None:
    from atlas.server import AuthConfig, Settings

    app: Starlette = create_app(
        Settings(store=store, registry=registry, auth=AuthConfig(jwt_secret=Secret(SECRET)))
    )
    async with Served(app).client(bearer()) as c:
        assert (await c.get("/api/v1/stats")).status_code == 200


async def test_a_client_that_hangs_up_mid_body_is_no_server_error(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """The body stops half-way and the connection closes (``http.disconnect``): nothing to
    answer, and nothing went wrong here; the log says what happened, at INFO."""
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"name": "shop", "resources": [', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/plan",
        "raw_path": b"/api/v1/plan",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"atlas.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"4096"),
            (b"authorization", f"Bearer {token()}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("atlas.test", 80),
    }
    with caplog.at_level(logging.DEBUG, logger="atlas.server"):
        await served.app(scope, receive, send)
    assert sent == []  # nobody is there to read an answer
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    [note] = [r for r in caplog.records if r.name == "atlas.server"]
    assert (note.levelname, note.getMessage()) == (
        "INFO",
        "client disconnected before its request was read: POST /api/v1/plan",
    )
    [entry] = [r for r in caplog.records if r.name == "atlas.server.access"]
    assert entry.status == 499  # type: ignore[attr-defined]  # nginx's "client closed request"


async def test_a_key_given_twice_deep_in_a_put_body_is_named(client: httpx.AsyncClient) -> None:
    """The last copy silently winning would apply something the caller may not have meant."""
    infra = await created(client, spec(resources=[]))
    text = json.dumps(spec(), indent=2).replace(
        '"size": "small",', '"size": "small",\n"size": "large",'
    )
    r = await client.put(
        f"/api/v1/infrastructure/{infra['id']}", content=text.encode(), headers=JSON
    )
    assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR")
    [problem] = r.json()["problems"]
    assert problem["path"] == "resources[1].specifications.size"
    assert problem["message"].startswith("duplicate key 'size' at line ")
