"""Every status the document gives each route, produced in process: each route's failures by
category (no credentials, unknown query, bad bodies, a failing store, failing providers,
callers from elsewhere), then a check that together with the success paths they cover every
documented (route, status) pair but the few no test can provoke."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from atlas.credentials import Secret
from atlas.exceptions import ConnectError, CredentialsError, StateError
from atlas.plugins import get_plugin_manager, hookimpl
from atlas.providers import ProviderRegistry
from atlas.providers.contract import Provider
from atlas.server import AuthConfig, create_app
from atlas.server.monitoring import Monitoring
from atlas.server.offload import INLINE_BELOW
from atlas.server.openapi import OPERATIONS, Op
from atlas.store import SQLiteStore
from atlas.testing import memory
from atlas.testing.memory import ManualClock, MemoryCloud
from tests.atlas.server.conftest import (
    MakeSettings,
    Served,
    bearer,
    created,
    gated_provider,
    spec,
    token,
    wait_for,
)

#: (operationId, status) that no in-process test can provoke: 500 from routes that touch
#: nothing that could fail (they answer from memory), and a store error in health, which it
#: reports as "degraded" instead.
UNREACHABLE = {("service_info", "500"), ("openapi_document", "500"), ("health", "500")}
#: Metrics answer from memory too; a failing cost source leaves its gauge out, logged.
UNREACHABLE |= {("metrics", "500")}
METRICS_TOKEN = "scrape-" + "m3tr1c5" * 4  # made up


class FailingStore:
    """A store that raises ``error`` from every method once ``error`` is set."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self.error: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if self.error is None or not callable(attribute):
            return attribute

        def fail(*args: Any, **kwargs: Any) -> Any:
            assert self.error is not None
            raise self.error

        return fail


class Recorder:
    """Requests every route with ``path_for``'s ids, recording (operationId, status)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    async def call(
        self,
        client: httpx.AsyncClient,
        op: Op,
        key: str = "shop",
        *,
        query: str = "",
        **kwargs: Any,
    ) -> httpx.Response:
        if op.operation_id == "set_budget" and "content" not in kwargs and "json" not in kwargs:
            kwargs["json"] = {"monthly_limit": 10}
        elif op.body and "content" not in kwargs and "json" not in kwargs:
            kwargs["json"] = spec(name=key) if op.method == "POST" else spec()
        path = op.path.replace("{id}", key) + query
        r = await client.request(op.method, path, **kwargs)
        self.seen.add((op.operation_id, str(r.status_code)))
        return r


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


def _apps(make_settings: MakeSettings, **overrides: Any) -> Starlette:
    return create_app(make_settings(**overrides))


async def test_without_credentials_401(served: Served, recorder: Recorder) -> None:
    async with served.client() as c:
        for op in OPERATIONS:
            r = await recorder.call(c, op)
            # Metrics count every workspace: refused without their own token (configured).
            expected = 403 if op.operation_id == "metrics" else 200 if op.public else 401
            assert r.status_code == expected, op


async def test_metrics_open_with_their_own_token_only(
    make_settings: MakeSettings, recorder: Recorder
) -> None:
    monitoring = Monitoring(metrics_token=Secret(METRICS_TOKEN))
    app = _apps(make_settings, monitoring=monitoring)
    metrics = next(op for op in OPERATIONS if op.operation_id == "metrics")
    async with app.router.lifespan_context(app):
        for headers in (bearer(), {}, {"Authorization": "Bearer " + METRICS_TOKEN[:-1] + "x"}):
            async with Served(app).client(headers) as c:  # a workspace's JWT will not do
                r = await recorder.call(c, metrics)
                assert r.status_code == 401, headers
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
        async with Served(app).client({"Authorization": f"Bearer {METRICS_TOKEN}"}) as c:
            r = await recorder.call(c, metrics)
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain")
            assert METRICS_TOKEN not in r.text


async def test_bad_credentials_401_and_repeated_ones_400(
    served: Served, recorder: Recorder
) -> None:
    """Health needs none, but checks what it is sent; a credential header given twice is
    refused on every route that reads credentials."""
    async with served.client() as c:
        for op in OPERATIONS:
            if op.public and not op.optional_auth:
                continue
            r = await recorder.call(c, op, headers={"Authorization": "Bearer not.a.jwt"})
            assert r.status_code == 401, op
            twice = [("Authorization", f"Bearer {token()}")] * 2
            r = await recorder.call(c, op, headers=twice)
            assert (r.status_code, r.json()["code"]) == (400, "BAD_REQUEST"), op


async def test_an_unknown_query_parameter_422(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    await created(client)
    for op in OPERATIONS:
        r = await recorder.call(client, op, query="?verbose=true")
        assert (r.status_code, r.json()["problems"][0]["path"]) == (422, "verbose"), op


async def test_bodies_400_413_415(make_settings: MakeSettings, recorder: Recorder) -> None:
    app = _apps(make_settings, body_limit=500)
    async with Served(app).client(bearer()) as c:
        await created(c, spec(resources=[]))
        for op in (op for op in OPERATIONS if op.body):
            cases = {
                400: {"content": b"{", "headers": {"content-type": "application/json"}},
                413: {"json": spec(tags={f"t{i}": "x" * 50 for i in range(20)})},
                415: {"content": b"{}", "headers": {"content-type": "text/plain"}},
            }
            for status, kwargs in cases.items():
                r = await recorder.call(c, op, **kwargs)
                assert r.status_code == status, (op, r.text)


async def test_heavy_work_past_its_deadline_503(
    make_settings: MakeSettings, recorder: Recorder
) -> None:
    app = _apps(make_settings, request_deadline=1e-9)  # over before it starts
    disks = [{"type": "disk", "name": f"d{i}", "specifications": {"size_gb": 1}}
             for i in range(INLINE_BELOW)]  # fmt: skip
    async with Served(app).client(bearer()) as c:
        await created(c)  # (a spec this small is no heavy work: no deadline)
        # (A budget is a few fields, never heavy work.)
        for op in (op for op in OPERATIONS if op.body and op.operation_id != "set_budget"):
            key = "x" if op.method == "POST" else "shop"
            r = await recorder.call(c, op, key, json=spec(name=key, resources=disks))
            assert (r.status_code, r.json()["code"]) == (503, "DEADLINE_EXCEEDED"), op
            assert int(r.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("error", "status"), [(StateError("closed"), 503), (RuntimeError(), 500)])
async def test_a_failing_store(
    make_settings: MakeSettings,
    store: SQLiteStore,
    recorder: Recorder,
    error: Exception,
    status: int,
) -> None:
    failing = FailingStore(store)
    app = _apps(make_settings, store=failing)
    async with Served(app).client(bearer()) as c:
        await created(c, spec(resources=[]))
        operation_id = store.list_operations("ws-a", store.list_infrastructures("ws-a")[0].id)[0].id
        failing.error = error
        for op in OPERATIONS:
            key = operation_id if "operations/{id}" in op.path else "shop"
            r = await recorder.call(c, op, key)
            if op.operation_id == "health":
                assert r.status_code == 503
            elif op.store and not op.public:
                assert r.status_code == status, (op, r.text)
                assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("error", "status"),
    [(CredentialsError("no token", sources_tried=["env A: not set"]), 424),
     (ConnectError("refused"), 502)],
)  # fmt: skip
async def test_failing_providers(
    make_settings: MakeSettings, recorder: Recorder, error: Exception, status: int
) -> None:
    app = _apps(make_settings)
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        await created(c)

    def factory(name: str, jwt: Secret | None) -> Provider:
        raise error

    app = _apps(make_settings, shared_providers={}, provider_factory=factory)
    async with Served(app).client(bearer()) as c:
        for op in OPERATIONS:
            if op.operation_id in ("create_infrastructure", "update_infrastructure",
                                   "destroy_infrastructure", "plan"):  # fmt: skip
                key = "other" if op.method == "POST" else "shop"
                query = "?refresh=true" if op.operation_id == "plan" else ""
                r = await recorder.call(c, op, key, query=query)
                assert (r.status_code, r.json()["message"]) == (status, str(error)), op


async def test_conflicts_409(
    make_settings: MakeSettings, cloud: MemoryCloud, clock: ManualClock, recorder: Recorder
) -> None:
    gated = gated_provider(cloud, clock, asyncio.Event())  # its operations never end
    app = _apps(make_settings, shared_providers={"memory": gated})
    by_id = {op.operation_id: op for op in OPERATIONS}
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        assert (await recorder.call(c, by_id["create_infrastructure"])).status_code == 201
        r = await recorder.call(c, by_id["create_infrastructure"])
        assert r.json()["code"] == "INFRASTRUCTURE_EXISTS"
        for name in ("update_infrastructure", "destroy_infrastructure"):
            locked = await recorder.call(c, by_id[name])
            assert (locked.status_code, locked.json()["code"]) == (409, "LOCKED"), name


async def test_failures_that_touch_no_store_500(
    make_settings: MakeSettings, registry: ProviderRegistry, recorder: Recorder
) -> None:
    class Broken:
        @hookimpl
        def atlas_adjust_price(self, provider: str, sku: str, price: Any) -> None:
            raise RuntimeError("a plugin bug")

    pm = get_plugin_manager(plugins=[memory.plugin, Broken()], autoload=False)

    async def probe(name: str, jwt: Secret | None) -> str | None:
        raise RuntimeError("a probe bug")

    settings = make_settings(
        registry=ProviderRegistry.from_plugin_manager(pm),
        credential_probe=probe,
        shared_providers={},
    )
    by_id = {op.operation_id: op for op in OPERATIONS}
    async with Served(create_app(settings)).client(bearer()) as c:
        for name in ("estimate_cost", "list_providers"):
            r = await recorder.call(c, by_id[name])
            assert (r.status_code, r.json()["code"]) == (500, "INTERNAL_ERROR")
            assert "bug" not in r.text


async def test_from_elsewhere_without_authentication_403(
    make_settings: MakeSettings, recorder: Recorder
) -> None:
    app = _apps(make_settings, auth=AuthConfig())
    transport = httpx.ASGITransport(app=app, client=("192.0.2.8", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://192.0.2.1") as c:
        for op in OPERATIONS:
            assert (await recorder.call(c, op)).status_code == 403


async def test_successes_and_the_rest(
    client: httpx.AsyncClient, other: httpx.AsyncClient, recorder: Recorder
) -> None:
    by_id = {op.operation_id: op for op in OPERATIONS}
    for name in ("service_info", "openapi_document", "health", "list_providers", "stats",
                 "list_infrastructures", "plan", "estimate_cost", "list_audit",
                 "workspace_costs", "get_budget", "set_budget", "clear_budget"):  # fmt: skip
        assert (await recorder.call(client, by_id[name])).status_code == 200
    r = await recorder.call(client, by_id["create_infrastructure"])
    assert r.status_code == 201
    operation_id = r.json()["operation"]["id"]
    await wait_for(client, operation_id)
    for name in ("get_infrastructure", "list_infrastructure_operations", "infrastructure_costs",
                 "update_infrastructure"):  # fmt: skip
        assert (await recorder.call(client, by_id[name])).status_code == 200
        assert (await recorder.call(other, by_id[name])).status_code == 404
    await wait_for(client, (await client.get("/api/v1/infrastructure/shop/operations")).json()[
        "operations"][0]["id"])  # fmt: skip
    for name in ("get_operation", "operation_events"):
        assert (await recorder.call(client, by_id[name], operation_id)).status_code == 200
        assert (await recorder.call(other, by_id[name], operation_id)).status_code == 404
    bad = spec(region="")
    for name in ("create_infrastructure", "update_infrastructure", "plan", "estimate_cost"):
        r = await recorder.call(client, by_id[name], "x" if name.startswith("create") else "shop",
                                json=bad)  # fmt: skip
        assert r.status_code == 422, name
    assert (await recorder.call(client, by_id["destroy_infrastructure"])).status_code == 200
    assert (await recorder.call(other, by_id["destroy_infrastructure"])).status_code == 404


async def test_every_documented_status_was_produced(app: Starlette, recorder: Recorder) -> None:
    if len(recorder.seen) < 50:
        pytest.skip("run with the rest of this module")
    documented = {
        (item["operationId"], status)
        for methods in app.state.service.document["paths"].values()
        for item in methods.values()
        for status in item["responses"]
    }
    # The document of an app with authentication has no 403; that of one without, no 401.
    documented |= {(op.operation_id, "403") for op in OPERATIONS}
    missing = documented - recorder.seen - UNREACHABLE
    assert not missing, sorted(missing)
    assert not recorder.seen - documented - {(op.operation_id, "404") for op in OPERATIONS}
