"""Heavy requests: large specs run on worker threads while the loop answers; the body and
resource limits refuse before any work; a request's heavy work has a deadline.

The work is held where it runs by a plugin whose price adjustment (asked while a plan or an
estimate prices) waits on a threading event: were the work on the event loop, that wait would
hold the loop, and the test could neither ask for /health nor release it.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import JSONResponse

from atlas.cost.catalog import Price
from atlas.plugins import get_plugin_manager, hookimpl
from atlas.providers import ProviderRegistry
from atlas.runtime import default_registry
from atlas.server import Settings, create_app, settings_from_env
from atlas.server import offload as offload_module
from atlas.server.logs import request_id_var
from atlas.server.offload import INLINE_BELOW, WorkerPool, render_json, request_deadline
from atlas.store import SQLiteStore
from atlas.testing import memory
from tests.atlas.server.conftest import MakeSettings, Served, bearer, created, spec, wait_for


def disks(count: int, *, bad: int | None = None) -> list[dict[str, Any]]:
    """``count`` disks; the one at ``bad`` (if any) of an unknown type."""
    return [
        {"type": "tape" if i == bad else "disk", "name": f"d{i}", "specifications": {"size_gb": 1}}
        for i in range(count)
    ]


class PriceGate:
    """Pricing waits until :attr:`release` is set (see the module docstring)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    @hookimpl
    def atlas_adjust_price(self, provider: str, sku: str, price: Price) -> Price | None:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        # Never released when this holds the event loop: the request then fails, slowly.
        assert self.release.wait(10), "pricing was never released"
        return None


@pytest.fixture
def gate() -> PriceGate:
    return PriceGate()


@pytest.fixture
def gated_app(make_settings: MakeSettings, gate: PriceGate) -> Starlette:
    pm = get_plugin_manager(plugins=[memory.plugin, gate], autoload=False)
    return create_app(make_settings(registry=ProviderRegistry.from_plugin_manager(pm)))


@pytest.fixture
async def gated(gated_app: Starlette, gate: PriceGate) -> AsyncIterator[httpx.AsyncClient]:
    served = Served(gated_app)
    async with gated_app.router.lifespan_context(gated_app), served.client(bearer()) as c:
        try:
            yield c
        finally:
            gate.release.set()  # nothing is left waiting when a test fails


async def entered(gate: PriceGate) -> None:
    assert await asyncio.to_thread(gate.entered.wait, 10), "pricing never started"


# -- the loop stays free -----------------------------------------------------------------


async def test_health_answers_while_a_large_plan_runs(
    gated: httpx.AsyncClient, gate: PriceGate
) -> None:
    plan = asyncio.create_task(gated.post("/api/v1/plan", json=spec(resources=disks(300))))
    await entered(gate)  # the plan is pricing, and stays there
    health = await gated.get("/api/v1/health")
    assert health.status_code == 200
    assert not plan.done()
    gate.release.set()
    r = await plan
    assert r.status_code == 200, r.text
    assert len(r.json()["plan"]["changes"]) == 300
    assert gate.threads[0].startswith("atlas-cpu")


async def test_a_small_spec_is_worked_on_in_place(
    gated: httpx.AsyncClient, gate: PriceGate
) -> None:
    gate.release.set()
    assert (await gated.post("/api/v1/estimate-cost", json=spec())).status_code == 200
    assert set(gate.threads) == {"MainThread"}


async def test_health_answers_throughout_a_real_large_plan(make_settings: MakeSettings) -> None:
    """No gate: 20,000 resources, whose plan takes a good part of a second, and /health asked
    again and again meanwhile (a generous check: that it answers while the plan runs)."""
    app = create_app(make_settings(body_limit=4 * 2**20))
    transport = httpx.ASGITransport(app=app)  # (no schema check of a 20,000-change answer)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://a", headers=bearer()) as c,
    ):
        plan = asyncio.create_task(c.post("/api/v1/plan", json=spec(resources=disks(20_000))))
        during = 0
        while not plan.done():
            assert (await c.get("/api/v1/health")).status_code == 200
            during += not plan.done()
            await asyncio.sleep(0.005)
        r = await plan
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["plan"]["changes"]) == 20_000
    assert during >= 1


async def test_a_problem_found_on_a_worker_is_the_answer(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/plan", json=spec(resources=disks(300, bad=299)))
    assert r.status_code == 422
    assert [p["path"] for p in r.json()["problems"]] == ["resources[299].type"]


# -- limits, before any work -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/plan"), ("POST", "/api/v1/estimate-cost"),
     ("POST", "/api/v1/infrastructure"), ("PUT", "/api/v1/infrastructure/shop")],
)  # fmt: skip
async def test_more_resources_than_the_limit_is_422_before_validation(
    make_settings: MakeSettings, method: str, path: str
) -> None:
    app = create_app(make_settings(max_resources=3))
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        await created(c)
        # Every resource is invalid, and none is looked at: the count alone answers.
        r = await c.request(method, path, json=spec(resources=disks(4, bad=0)))
        assert r.status_code == 422
        body = r.json()
        assert (body["code"], body["limit"]) == ("TOO_MANY_RESOURCES", 3)
        assert body["problems"][0]["path"] == "resources"
        assert "at most 3" in body["message"]
        assert "ATLAS_MAX_RESOURCES" in body["message"]
        r = await c.request(method, path, json=spec(resources=disks(3, bad=0)))
        assert r.json()["code"] == "VALIDATION_ERROR"  # at the limit, validated as usual


async def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    make_settings: MakeSettings,
) -> None:
    app = create_app(make_settings(body_limit=100))
    async with Served(app).client(bearer()) as c:
        r = await c.post(
            "/api/v1/plan", content=b"{" * 101, headers={"content-type": "application/json"}
        )
        assert (r.status_code, r.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
        assert "100 bytes" in r.json()["message"]


def test_the_limits_come_from_the_environment() -> None:
    def read(env: dict[str, str]) -> Any:
        return settings_from_env(env, store=SQLiteStore(), registry=None)  # type: ignore[arg-type]

    settings = read(
        {"ATLAS_MAX_RESOURCES": "500", "ATLAS_CPU_THREADS": "3", "ATLAS_REQUEST_DEADLINE": "2.5",
         "ATLAS_CPU_PROCESSES": "0"}
    )  # fmt: skip
    assert (settings.max_resources, settings.cpu_threads, settings.cpu_processes) == (500, 3, 0)
    assert settings.request_deadline == 2.5
    defaults = read({})
    assert (defaults.max_resources, defaults.cpu_threads, defaults.cpu_processes) == (50_000, 2, 2)
    assert defaults.request_deadline == 20.0
    for name, bad in [("ATLAS_MAX_RESOURCES", "-1"), ("ATLAS_CPU_THREADS", "0"),
                      ("ATLAS_CPU_PROCESSES", "two"),
                      ("ATLAS_REQUEST_DEADLINE", "soon"), ("ATLAS_REQUEST_DEADLINE", "nan"),
                      ("ATLAS_REQUEST_DEADLINE", "0")]:  # fmt: skip
        with pytest.raises(ValueError, match=name):
            read({name: bad})


# -- the deadline ------------------------------------------------------------------------


async def test_a_request_past_its_deadline_is_503_and_what_waited_never_runs(
    make_settings: MakeSettings, gate: PriceGate
) -> None:
    pm = get_plugin_manager(plugins=[memory.plugin, gate], autoload=False)
    registry = ProviderRegistry.from_plugin_manager(pm)
    app = create_app(make_settings(registry=registry, cpu_threads=1, request_deadline=0.5))
    big = spec(resources=disks(300))
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        try:
            first = asyncio.create_task(c.post("/api/v1/plan", json=big))
            await entered(gate)  # the one worker is taken
            second = await c.post("/api/v1/plan", json=big)  # waits for it, past the deadline
            assert (second.status_code, second.json()["code"]) == (503, "DEADLINE_EXCEEDED")
            assert "ATLAS_REQUEST_DEADLINE" in second.json()["message"]
            assert int(second.headers["Retry-After"]) > 0
            # The first is past its deadline too, although its work still runs on the worker.
            assert (await first).status_code == 503
            assert len(gate.threads) == 1
        finally:
            gate.release.set()
        # Once the work that ran on ends, the worker is free again, and the next plan is made.
        deadline = time.monotonic() + 10
        while (r := await c.post("/api/v1/plan", json=big)).status_code == 503:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert r.status_code == 200
        assert len(gate.threads) == 2  # the second request's work never started


async def test_an_operation_has_no_deadline(make_settings: MakeSettings, gate: PriceGate) -> None:
    """The create's own work is done in time; the apply it starts prices past the deadline
    (held by the gate), and goes on."""
    pm = get_plugin_manager(plugins=[memory.plugin, gate], autoload=False)
    registry = ProviderRegistry.from_plugin_manager(pm)
    app = create_app(make_settings(registry=registry, request_deadline=0.3))
    app.state.service.pool.inline_below = 1  # a small spec goes to the workers too
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        try:
            create = asyncio.create_task(c.post("/api/v1/infrastructure", json=spec()))
            await entered(gate)  # the apply's plan
            await asyncio.sleep(0.5)
            gate.release.set()
            r = await create
        finally:
            gate.release.set()
        assert r.status_code == 201, r.text
        op = await wait_for(c, r.json()["operation"]["id"])
        assert op["status"] == "completed"
        assert all(name.startswith("atlas-cpu") for name in gate.threads)


# -- the pool itself ---------------------------------------------------------------------


async def test_the_pool_runs_large_work_on_a_worker_and_puts_the_process_back() -> None:
    pool = WorkerPool(2)
    interval, collecting = sys.getswitchinterval(), gc.isenabled()
    seen: dict[str, Any] = {}

    def work() -> str:
        seen.update(
            thread=threading.current_thread().name,
            interval=sys.getswitchinterval(),
            collecting=gc.isenabled(),
            request=request_id_var.get(None),
        )
        return "done"

    token = request_id_var.set("req-1")
    try:
        assert await pool.run(lambda: threading.current_thread().name, INLINE_BELOW - 1) == (
            "MainThread"
        )
        assert await pool.run(work, INLINE_BELOW) == "done"
    finally:
        request_id_var.reset(token)
        pool.close()
    assert seen["thread"].startswith("atlas-cpu")
    assert seen["interval"] <= 0.001
    assert seen["collecting"] is False or not collecting
    assert seen["request"] == "req-1"  # the worker logs under the request's id
    assert (sys.getswitchinterval(), gc.isenabled()) == (interval, collecting)


async def test_the_pool_gives_the_error_of_the_work() -> None:
    pool = WorkerPool(1)

    def work() -> None:
        raise KeyError("missing")

    try:
        with pytest.raises(KeyError, match="missing"):
            await pool.offload(work)
        with request_deadline(0), pytest.raises(Exception, match="deadline") as refused:
            await pool.offload(lambda: None)
        assert getattr(refused.value, "status", None) == 503
    finally:
        pool.close()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


@given(JSON)
@settings(max_examples=200, deadline=None)
def test_answers_are_written_as_jsonresponse_writes_them(content: Any) -> None:
    original = offload_module._CHUNK
    offload_module._CHUNK = 2  # so that short lists go in pieces too
    try:
        assert render_json(content) == JSONResponse(content).body
    finally:
        offload_module._CHUNK = original


def test_long_answers_are_the_same_bytes() -> None:
    content = {"plan": {"changes": [{"n": i, "x": [1.5, None]} for i in range(2000)]}}
    page = [{"resources": list(range(600)), "name": "é"}] * 3
    for value in (content, page, {"a": {}, "b": []}, [[0] * 1000]):
        assert render_json(value) == JSONResponse(value).body


# -- worker processes ----------------------------------------------------------------------


def _vpcs(count: int, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "big",
        "provider": "digitalocean",
        "region": "fra1",
        "resources": [{"type": "vpc", "name": f"v{i}"} for i in range(count)],
        "budget": {"monthly_limit": 10},
    }
    doc.update(changes)
    return doc


async def test_worker_processes_answer_what_the_server_answers() -> None:
    """Each answer a worker process gives (a large estimate, a plan with nothing recorded,
    their errors) is the one the app gives on its own, byte for byte but the request id."""
    registry = default_registry()
    apps = [
        create_app(Settings(store=SQLiteStore(":memory:"), registry=registry, cpu_processes=n,
                            max_resources=5000))
        for n in (0, 2)
    ]  # fmt: skip
    pool = apps[1].state.service.pool
    assert pool.processes == 2
    used: list[str] = []
    in_process = pool.in_process

    async def spy(work: Any, *args: Any) -> Any:
        used.append(work.__name__)
        return await in_process(work, *args)

    pool.in_process = spy
    cases = [
        ("/api/v1/plan", _vpcs(3000)),
        ("/api/v1/estimate-cost?duration=36h", _vpcs(3000)),
        ("/api/v1/plan", _vpcs(3000, region="mars-1")),
        ("/api/v1/estimate-cost", _vpcs(3000, region="mars-1")),
        ("/api/v1/plan", _vpcs(5001)),
        ("/api/v1/estimate-cost", _vpcs(5001)),
    ]
    answers: list[list[httpx.Response]] = []
    for app in apps:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c,
        ):
            answers.append([await c.post(path, json=doc) for path, doc in cases])
    # (The plan's resources are counted where the body is read: refused before any process.)
    assert used == ["plan_answer", "estimate_answer"] * 2 + ["estimate_answer"]
    for (path, _), alone, worked in zip(cases, *answers, strict=True):
        assert (alone.status_code, alone.headers["content-type"]) == (
            worked.status_code,
            worked.headers["content-type"],
        ), path
        if alone.status_code == 200:
            assert alone.content == worked.content, path
        else:
            mine, theirs = alone.json(), worked.json()
            assert mine.pop("request_id")
            assert theirs.pop("request_id")
            assert mine == theirs, path
    statuses = [r.status_code for r in answers[1]]
    assert statuses == [200, 200, 422, 422, 422, 422]
    assert answers[1][4].json()["code"] == "TOO_MANY_RESOURCES"


async def test_a_plan_of_a_recorded_infrastructure_is_not_sent_to_a_process(
    make_settings: MakeSettings,
) -> None:
    registry = default_registry()
    app = create_app(Settings(store=SQLiteStore(":memory:"), registry=registry, cpu_processes=1))
    pool = app.state.service.pool
    used: list[Any] = []

    async def spy(work: Any, *args: Any) -> Any:
        used.append(work)
        raise AssertionError("not for a process")

    pool.in_process = spy
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c,
    ):
        small = await c.post("/api/v1/plan", json=_vpcs(3))  # (a small spec stays in place)
        refresh = await c.post("/api/v1/plan?refresh=true", json=_vpcs(300))
        imports = _vpcs(300)
        imports["resources"][0]["import"] = "5a4981aa-0000-4000-8000-000000000001"
        imported = await c.post("/api/v1/plan", json=imports)
    assert small.status_code == 200
    assert refresh.status_code in (200, 424)  # (no credential here: it reads the cloud)
    assert imported.status_code in (200, 424, 422)
    assert used == []


async def test_an_app_given_another_registry_has_no_worker_processes(
    make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(cpu_processes=2))
    assert app.state.service.pool.processes == 0
    assert "worker processes are off" in caplog.text


def _dies_in_a_worker() -> str:
    if multiprocessing.parent_process() is not None:
        os._exit(3)  # what an out-of-memory kill looks like to the pool
    return "on a thread"


async def test_a_dead_worker_process_is_replaced_and_the_work_done_on_a_thread() -> None:
    pool = WorkerPool(1, processes=1)
    try:
        assert await pool.in_process(_dies_in_a_worker) == "on a thread"
        assert await pool.in_process(os.getpid) != os.getpid()  # a new worker process
    finally:
        pool.close()
