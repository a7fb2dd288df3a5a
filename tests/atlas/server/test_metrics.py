"""``/metrics`` and provider degradation, on the DigitalOcean emulator in virtual time.

The metrics parse with prometheus-client's own parser and move with a workload sent through
the HTTP API; two apps count apart. A provider whose API keeps failing (the emulator's fault
injection) is degraded in health, refused new operations with 503 and ``Retry-After``, and
recovers by itself after the cooldown, on the first call that succeeds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

import atlas_digitalocean.plugin
from atlas.credentials import Secret
from atlas.http import ApiCall
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry
from atlas.server import Settings, create_app
from atlas.server.degradation import ProviderHealth
from atlas.server.errors import ApiError
from atlas.server.monitoring import Monitoring, WorkspaceCost
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, Fault, FaultKind, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas.server.conformance import Conformance

TOKEN = "dop_v1_" + "5e" * 32  # made up
DROPLET: dict[str, Any] = {
    "name": "web",
    "provider": "digitalocean",
    "region": "fra1",
    "resources": [
        {
            "type": "droplet",
            "name": "web",
            "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
        }
    ],
}
WHEN = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


class Timer:
    """The monotonic clock degradation is measured on; moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def do_registry() -> ProviderRegistry:
    pm = get_plugin_manager(plugins=[atlas_digitalocean.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)


#: The emulator's clock, per emulator: moved by the provider's fake sleep.
_CLOCKS: dict[int, ManualClock] = {}


@pytest.fixture
def emulator() -> Emulator:
    clock = ManualClock()
    made = Emulator(EmulatorConfig(latency_scale=0.01, seed=4), clock=clock)
    _CLOCKS[id(made)] = clock
    return made


def do_provider(emulator: Emulator) -> DigitalOceanProvider:
    clock = _CLOCKS[id(emulator)]

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)  # let the app answer requests meanwhile

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep)
    return DigitalOceanProvider(TOKEN, transport=emulator.transport(), env={}, settings=settings)


def app_on(emulator: Emulator, registry: ProviderRegistry, **overrides: Any) -> Starlette:
    settings = Settings(
        store=SQLiteStore(":memory:"),
        registry=registry,
        shared_providers={"digitalocean": do_provider(emulator)},
        event_interval=0.05,
        watch_interval=0.01,
        **{"clock": lambda: WHEN, **overrides},
    )
    return create_app(settings)


@pytest.fixture
async def served(emulator: Emulator, do_registry: ProviderRegistry) -> AsyncIterator[Starlette]:
    app = app_on(emulator, do_registry)
    async with app.router.lifespan_context(app):
        yield app


def client_of(app: Starlette) -> httpx.AsyncClient:
    conformance = Conformance(app.state.service.document)

    async def check(response: httpx.Response) -> None:
        await response.aread()
        conformance.check(response)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://127.0.0.1:3003",
        event_hooks={"response": [check]},
    )


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample of ``/metrics``, parsed by prometheus-client's own parser."""
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for (sample, pairs), value in samples.items()
        if sample == name and set(labels.items()) <= set(pairs)
    )


async def wait_for(client: httpx.AsyncClient, operation_id: str) -> dict[str, Any]:
    for _ in range(5000):
        op: dict[str, Any] = (await client.get(f"/api/v1/operations/{operation_id}")).json()[
            "operation"
        ]
        if op["status"] in ("completed", "failed"):
            return op
        await asyncio.sleep(0.001)
    raise AssertionError(f"operation {operation_id} did not end")


async def applied(client: httpx.AsyncClient, doc: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/api/v1/infrastructure", json=doc)
    assert r.status_code == 201, r.text
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed", op
    return op


async def test_metrics_parse_and_move_with_an_apply(served: Starlette) -> None:
    async with client_of(served) as client:
        before = await scrape(client)
        op = await applied(client, DROPLET)
        after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("atlas_operations_total", kind="apply", status="completed") == 1
    assert moved("atlas_steps_total", resource_type="droplet", action="create", outcome="done") == 1
    assert moved("atlas_steps_total") == 1
    assert moved("atlas_cloud_api_calls_total", provider="digitalocean", status="202") >= 1
    assert (
        moved(
            "atlas_cloud_api_calls_total",
            provider="digitalocean",
            method="POST",
            route="/v2/droplets",
        )
        == 1
    )
    # Every call is counted by its template, never by a path with an id in it.
    routes = {dict(pairs)["route"] for name, pairs in after if name.startswith("atlas_cloud_api_c")}
    assert {"/v2/droplets", "/v2/account", "/v2/sizes"} <= routes
    assert "other" not in routes
    assert not any(ch.isdigit() for r in routes for ch in r.removeprefix("/v2/")), routes
    labels = {dict(pairs).get("route") for name, pairs in after if name.startswith("atlas_http")}
    assert "/api/v1/operations/{id}" in labels
    assert op["id"] not in str(after)
    assert moved("atlas_http_requests_total", route="/api/v1/infrastructure", status="201") == 1
    assert moved("atlas_http_request_duration_seconds_count", route="/api/v1/infrastructure") == 1
    assert total(after, "atlas_operations_running") == 0
    assert total(after, "atlas_provider_degraded", provider="digitalocean") == 0
    assert total(after, "atlas_cloud_api_throttled_total") == 0
    assert TOKEN not in str(after)


async def test_request_labels_stay_bounded(served: Starlette) -> None:
    """A path no route has, an id in a path, a method nobody uses: counted under templates
    and ``other``, never as they were sent; refusals of the outer layers are counted too."""
    async with client_of(served) as client:
        assert (await client.get("/wp-admin/setup-config.php?step=1")).status_code == 404
        assert (await client.get("/api/v1/operations/a1b2c3")).status_code == 404
        assert (await client.request("BREW", "/api/v1/health")).status_code == 405
        samples = await scrape(client)
    elsewhere = httpx.ASGITransport(app=served, client=("192.0.2.8", 4000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://192.0.2.1") as far:
        assert (await far.get("/api/v1/stats")).status_code == 403  # no auth: loopback only
    async with client_of(served) as client:
        after = await scrape(client)
    assert total(samples, "atlas_http_requests_total", route="other", status="404") == 1
    assert total(samples, "atlas_http_requests_total", route="/api/v1/operations/{id}") == 1
    assert total(samples, "atlas_http_requests_total", method="other", status="405") == 1
    assert total(after, "atlas_http_requests_total", route="/api/v1/stats", status="403") == 1
    text = str(after)
    assert "wp-admin" not in text
    assert "a1b2c3" not in text
    assert "BREW" not in text


async def test_throttling_and_waits_are_counted(served: Starlette, emulator: Emulator) -> None:
    emulator.add_fault(Fault(FaultKind.RATE_LIMIT_BURST, "GET", "/v2/account", times=2))
    async with client_of(served) as client:
        await applied(client, DROPLET)
        samples = await scrape(client)
    throttled = total(samples, "atlas_cloud_api_throttled_total", route="/v2/account")
    assert throttled == 2
    assert total(samples, "atlas_cloud_api_calls_total", route="/v2/account", status="429") == 2
    assert total(samples, "atlas_cloud_api_calls_total", route="/v2/account", status="200") == 1
    # Each 429 said to wait a second (the emulator's retry-after), and the client did.
    assert total(samples, "atlas_cloud_api_waits_total", reason="retry_after") >= 2
    assert total(samples, "atlas_cloud_api_wait_seconds_total", reason="retry_after") >= 2


async def test_two_apps_count_apart(
    served: Starlette, emulator: Emulator, do_registry: ProviderRegistry
) -> None:
    other = app_on(emulator, do_registry)
    async with other.router.lifespan_context(other), client_of(served) as a, client_of(other) as b:
        await applied(a, DROPLET)
        ours, theirs = await scrape(a), await scrape(b)
    assert total(ours, "atlas_cloud_api_calls_total") > 0
    assert total(ours, "atlas_operations_total") == 1
    assert total(theirs, "atlas_cloud_api_calls_total") == 0
    assert total(theirs, "atlas_operations_total") == 0
    assert total(theirs, "atlas_http_requests_total", route="/api/v1/infrastructure") == 0


async def test_accrued_cost_comes_from_the_source_given(
    emulator: Emulator, do_registry: ProviderRegistry
) -> None:

    def costs() -> list[WorkspaceCost]:
        return [WorkspaceCost("ws-a", "USD", Decimal("0.64"))]

    app = app_on(emulator, do_registry, monitoring=Monitoring(accrued_costs=costs))
    async with app.router.lifespan_context(app), client_of(app) as client:
        samples = await scrape(client)
    assert total(samples, "atlas_workspace_accrued_cost", workspace="ws-a", currency="USD") == 0.64


async def test_accrued_cost_comes_from_the_journal_by_default(
    emulator: Emulator, do_registry: ProviderRegistry
) -> None:
    """With no source given, each workspace's month to date is the journal's accrual: a
    droplet applied now, scraped an hour later, has cost something."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    app = app_on(emulator, do_registry, clock=lambda: later)
    async with app.router.lifespan_context(app), client_of(app) as client:
        before = await scrape(client)
        await applied(client, DROPLET)
        after = await scrape(client)
    assert not any(name == "atlas_workspace_accrued_cost" for name, _ in before)
    assert total(after, "atlas_workspace_accrued_cost", workspace="default", currency="USD") > 0


async def test_openmetrics_when_asked_for(served: Starlette) -> None:
    async with client_of(served) as client:
        r = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")


# -- degradation ---------------------------------------------------------------------------


async def test_a_failing_provider_is_degraded_refused_and_recovers(
    emulator: Emulator, do_registry: ProviderRegistry
) -> None:
    timer = Timer()
    monitoring = Monitoring(degrade_after=3, degrade_window=60.0, degrade_cooldown=30.0)
    app = app_on(emulator, do_registry, monitoring=monitoring, timer=timer)
    # DigitalOcean answering 500 to everything, before doing anything.
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, "*", ".*", times=1000))
    async with app.router.lifespan_context(app), client_of(app) as client:
        r = await client.post("/api/v1/infrastructure", json=DROPLET)
        assert (r.status_code, r.json()["code"]) == (502, "PROVIDER_ERROR"), r.text

        health = (await client.get("/api/v1/health")).json()
        assert health["status"] == "degraded"
        [degraded] = health["degraded_providers"]
        assert degraded == {
            "provider": "digitalocean",
            "since": "2026-12-03T08:00:00.000000Z",
            "last_error": "ServerError",
            "retry_after": 30,
        }
        assert health["store"]["status"] == "ok"

        refused = await client.post("/api/v1/infrastructure", json=DROPLET)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "30"
        body = refused.json()
        assert body["code"] == "PROVIDER_DEGRADED"
        assert (body["provider"], body["last_error"]) == ("digitalocean", "ServerError")
        assert "digitalocean is degraded" in body["message"]
        calls_while_refused = len(emulator.log)

        timer.now += 10  # still cooling down: refused, and told how long is left
        again = await client.post("/api/v1/infrastructure", json=DROPLET)
        assert (again.status_code, again.headers["Retry-After"]) == (503, "20")
        assert len(emulator.log) == calls_while_refused  # refused ones never reach the cloud

        samples = await scrape(client)
        assert total(samples, "atlas_provider_degraded", provider="digitalocean") == 1
        assert total(samples, "atlas_operations_refused_total", provider="digitalocean") == 2

        # The cloud is back; after the cooldown one operation tries it, and succeeds.
        emulator.clear_faults()
        timer.now += 20
        r = await client.post("/api/v1/infrastructure", json=DROPLET)
        assert r.status_code == 201, r.text
        op = await wait_for(client, r.json()["operation"]["id"])
        assert op["status"] == "completed", op
        health = (await client.get("/api/v1/health")).json()
        assert (health["status"], health["degraded_providers"]) == ("healthy", [])
        samples = await scrape(client)
        assert total(samples, "atlas_provider_degraded", provider="digitalocean") == 0


def call(status: int | None, *, throttled: bool = False) -> ApiCall:
    error = None if status is not None and status < 400 else "ServerError"
    if status is None:
        error = "ConnectError"
    return ApiCall("p", "GET", "/x", status, error, throttled)


def tracker(timer: Timer) -> ProviderHealth:
    return ProviderHealth(after=3, window=10.0, cooldown=5.0, timer=timer, clock=lambda: WHEN)


def test_only_failures_in_a_row_within_the_window_degrade() -> None:
    timer = Timer()
    health = tracker(timer)
    for event in (call(500), call(None), call(404), call(500), call(503)):
        health.observe(event)  # a 4xx is the API working: the streak starts again
    assert health.degraded() == []
    health.observe(call(429, throttled=True))  # patience asked: neither counts nor clears
    assert health.degraded() == []
    timer.now += 11  # the streak's first failure is now outside the window
    health.observe(call(500))
    assert health.degraded() == []
    health.observe(call(502))
    health.observe(call(None))
    [degraded] = health.degraded()
    assert (degraded.provider, degraded.last_error, degraded.retry_after) == (
        "p",
        "ConnectError",
        5,
    )


def test_half_open_lets_one_probe_through_and_a_failure_closes_it_again() -> None:
    timer = Timer()
    health = tracker(timer)
    for _ in range(3):
        health.observe(call(500))
    with pytest.raises(ApiError) as refused:
        health.admit("p")
    assert refused.value.headers == {"Retry-After": "5"}
    assert health.admit("other") is None  # another provider is not concerned
    timer.now += 5
    probe = health.admit("p")
    assert probe is not None
    with pytest.raises(ApiError):  # one probe at a time
        health.admit("p")
    health.observe(call(None))  # the probe's call failed: another cooldown
    health.probe_ended("p", probe)
    with pytest.raises(ApiError) as refused:
        health.admit("p")
    assert refused.value.headers == {"Retry-After": "5"}
    timer.now += 5
    second = health.admit("p")
    assert second is not None
    assert second != probe
    health.probe_ended("p", probe)  # the old probe's end frees nothing
    with pytest.raises(ApiError):
        health.admit("p")
    health.observe(call(200))  # the first success clears the mark
    assert health.degraded() == []
    assert health.admit("p") is None


def test_the_refusal_carries_no_message_of_the_cloud() -> None:
    health = tracker(Timer())
    for _ in range(3):
        health.observe(ApiCall("p", "GET", "/x", 500, "ServerError"))
    with pytest.raises(ApiError) as refused:
        health.admit("p")
    assert refused.value.status == 503
    assert refused.value.extra["last_error"] == "ServerError"
    assert refused.value.extra["degraded_since"] == "2026-12-03T08:00:00.000000Z"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"ATLAS_METRICS_TOKEN": "short"}, "ATLAS_METRICS_TOKEN must be at least 16"),
        ({"ATLAS_DEGRADE_AFTER": "0"}, "ATLAS_DEGRADE_AFTER must be a whole number"),
        ({"ATLAS_DEGRADE_WINDOW": "-1"}, "ATLAS_DEGRADE_WINDOW must be a positive number"),
        ({"ATLAS_DEGRADE_COOLDOWN": "soon"}, "ATLAS_DEGRADE_COOLDOWN must be a positive"),
    ],
)
def test_bad_settings_name_their_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Monitoring.from_env(env)


def test_settings_from_the_environment() -> None:
    got = Monitoring.from_env(
        {
            "ATLAS_METRICS_TOKEN": "t" * 20,
            "ATLAS_DEGRADE_AFTER": "4",
            "ATLAS_DEGRADE_WINDOW": "30",
            "ATLAS_DEGRADE_COOLDOWN": "15",
        }
    )
    assert got.metrics_token == Secret("t" * 20)
    assert (got.degrade_after, got.degrade_window, got.degrade_cooldown) == (4, 30.0, 15.0)
    assert "t" * 20 not in repr(got)
    assert Monitoring.from_env({}) == Monitoring()
