"""``GET /metrics``: the service's counters in Prometheus' text format (prometheus-client).

Each app has its own :class:`~prometheus_client.CollectorRegistry` (never the process-wide
default), so two apps in one process, or the tests' many, count apart. Every label set is
bounded: route templates (``/api/v1/infrastructure/{id}``, never a raw path), methods from a
fixed list, providers and resource types from the registry, the cloud API's route templates or
action names, error class names; never an id, a name a caller chose, or a message. The one
exception is ``workspace`` on the accrued-cost gauge, which is what that gauge is for: as many
series as the server has workspaces.

=============================================  ==============================================
``atlas_http_requests_total``                  requests answered, by method, route, status
``atlas_http_request_duration_seconds``        histogram of the time to answer, by method, route
``atlas_operations_total``                     operations ended, by kind and status
``atlas_operations_running``                   operations this process runs now
``atlas_operations_refused_total``             operations refused as their provider is degraded
``atlas_steps_total``                          steps ended, by resource type, action and outcome
``atlas_cloud_api_calls_total``                attempts of cloud API calls, by provider, method,
                                               route and status (``none``: no answer)
``atlas_cloud_api_throttled_total``            of those, refused to slow down (429 and the like)
``atlas_cloud_api_waits_total``                calls held back, by provider and reason
``atlas_cloud_api_wait_seconds_total``         seconds they were held back
``atlas_provider_degraded``                    1 while a provider is degraded, else 0
``atlas_workspace_accrued_cost``               month to date, by workspace and currency (only
                                               with :attr:`Monitoring.accrued_costs`)
=============================================  ==============================================
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atlas.http import ApiCall, ApiEvent, RouteTemplates, observe_calls
from atlas.model.records import OperationRecord, StepRecord
from atlas.server.degradation import ProviderHealth
from atlas.server.errors import ApiError
from atlas.server.monitoring import AccruedCostSource, Monitoring

__all__ = ["ENDED_STEP", "Metrics", "MetricsMiddleware", "Monitor"]

logger = logging.getLogger("atlas.server")

#: The statuses a step ends in: each is counted once as the step reaches it.
ENDED_STEP = frozenset({"done", "failed", "timed_out", "rolled_back"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: From a health check's milliseconds to a large plan's seconds.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: What the access log calls a request whose caller left before an answer.
_CLIENT_CLOSED = 499


class _Gauges(Collector):
    """What is read at scrape time rather than counted: running operations, degraded
    providers, accrued cost."""

    def __init__(
        self,
        providers: Callable[[], Iterable[str]],
        health: ProviderHealth,
        costs: AccruedCostSource | None,
    ) -> None:
        self.running: Callable[[], int] = lambda: 0
        self._providers, self._health, self._costs = providers, health, costs

    def collect(self) -> Iterator[Metric]:
        running = GaugeMetricFamily("atlas_operations_running", "Operations this process runs now.")
        running.add_metric([], self.running())
        yield running
        degraded = GaugeMetricFamily(
            "atlas_provider_degraded",
            "1 while the provider is marked degraded (its API failed repeatedly), else 0.",
            labels=["provider"],
        )
        marked = {d.provider for d in self._health.degraded()}
        for name in sorted({*self._providers(), *marked}):
            degraded.add_metric([name], 1 if name in marked else 0)
        yield degraded
        if self._costs is not None:
            yield from self._accrued(self._costs)

    def _accrued(self, costs: AccruedCostSource) -> Iterator[Metric]:
        try:
            items = list(costs())
        except Exception:  # a store that cannot answer now must not take the rest down
            logger.warning("accrued cost could not be read for /metrics", exc_info=True)
            return
        cost = GaugeMetricFamily(
            "atlas_workspace_accrued_cost",
            "Cost accrued this month so far, by workspace, in the currency named.",
            labels=["workspace", "currency"],
        )
        for item in items:
            cost.add_metric([item.workspace, item.currency], float(item.amount))
        yield cost


class Metrics:
    """One app's metrics (see the module docstring)."""

    def __init__(
        self,
        routes: Iterable[str],
        providers: Callable[[], Iterable[str]],
        health: ProviderHealth,
        costs: AccruedCostSource | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.routes = RouteTemplates(routes)
        reg = self.registry
        self.requests = Counter(
            "atlas_http_requests", "HTTP requests answered.", ["method", "route", "status"],
            registry=reg,
        )  # fmt: skip
        self.latency = Histogram(
            "atlas_http_request_duration_seconds", "Seconds from a request to its answer.",
            ["method", "route"], buckets=_BUCKETS, registry=reg,
        )  # fmt: skip
        self.operations = Counter(
            "atlas_operations", "Operations ended.", ["kind", "status"], registry=reg
        )
        self.refused = Counter(
            "atlas_operations_refused", "Operations refused because their provider is degraded.",
            ["provider"], registry=reg,
        )  # fmt: skip
        self.steps = Counter(
            "atlas_steps", "Steps ended, by outcome (a step rolled back after it was done "
            "counts under both).", ["resource_type", "action", "outcome"], registry=reg,
        )  # fmt: skip
        self.calls = Counter(
            "atlas_cloud_api_calls", "Attempts of cloud API calls (retries count).",
            ["provider", "method", "route", "status"], registry=reg,
        )  # fmt: skip
        self.throttled = Counter(
            "atlas_cloud_api_throttled", "Attempts the cloud refused to slow the caller down.",
            ["provider", "route"], registry=reg,
        )  # fmt: skip
        self.waits = Counter(
            "atlas_cloud_api_waits", "Cloud API calls held back (rate limiter, Retry-After).",
            ["provider", "reason"], registry=reg,
        )  # fmt: skip
        self.waited = Counter(
            "atlas_cloud_api_wait_seconds", "Seconds cloud API calls were held back.",
            ["provider", "reason"], registry=reg,
        )  # fmt: skip
        self.gauges = _Gauges(providers, health, costs)
        reg.register(self.gauges)

    def observe(self, event: ApiEvent) -> None:
        if isinstance(event, ApiCall):
            self.calls.labels(event.provider, event.method, event.route, event.status_label).inc()
            if event.throttled:
                self.throttled.labels(event.provider, event.route).inc()
            return
        self.waits.labels(event.provider, event.reason).inc()
        self.waited.labels(event.provider, event.reason).inc(event.seconds)

    def request(self, method: str, path: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        route = self.routes.match(path)
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def step_ended(self, step: StepRecord) -> None:
        self.steps.labels(step.type, step.action, step.status).inc()

    def operation_ended(self, op: OperationRecord) -> None:
        self.operations.labels(op.kind, op.status).inc()

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition in the format ``accept`` asks for (Prometheus' text format unless
        it asks for OpenMetrics), and its content type."""
        encode, media = choose_encoder(accept or "")
        return encode(self.registry), media


class Monitor:
    """What the app watches itself with: its metrics and its providers' health, both fed
    every cloud call its requests and operations make."""

    def __init__(
        self,
        monitoring: Monitoring,
        routes: Iterable[str],
        providers: Callable[[], Iterable[str]],
        *,
        timer: Callable[[], float],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = monitoring
        self.health = ProviderHealth(
            after=monitoring.degrade_after,
            window=monitoring.degrade_window,
            cooldown=monitoring.degrade_cooldown,
            timer=timer,
            clock=clock,
        )
        self.metrics = Metrics(routes, providers, self.health, monitoring.accrued_costs)

    def observe(self, event: ApiEvent) -> None:
        """A :data:`atlas.http.CallObserver`: one attempt or wait, heard by both."""
        self.metrics.observe(event)
        self.health.observe(event)

    def admit(self, provider: str) -> int | None:
        """:meth:`ProviderHealth.admit`, with a refusal counted."""
        try:
            return self.health.admit(provider)
        except ApiError:
            self.metrics.refused.labels(provider).inc()
            raise


class MetricsMiddleware:
    """Times and counts every request, and has the cloud calls made while serving it heard
    by the app's :class:`Monitor` (operations started by the request inherit that)."""

    def __init__(self, app: ASGIApp, *, monitor: Monitor) -> None:
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with observe_calls(self.monitor.observe):
                await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            method, path = scope["method"], scope["path"]
            self.monitor.metrics.request(method, path, status or _CLIENT_CLOSED, seconds)
