"""``create_app(settings)``: the Starlette app, everything it uses injected through settings.

The lifespan starts event delivery and resumes the operations the journal holds unfinished;
at shutdown it cancels what still runs (each operation stays resumable), closes the workspaces'
providers and stops delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atlas.events import EventDispatcher
from atlas.exceptions import AtlasError
from atlas.runtime import default_registry
from atlas.server.audit import ERROR_CODE, AuditMiddleware
from atlas.server.background import Operations, watch_budgets
from atlas.server.context import Service
from atlas.server.errors import ApiError, from_exception
from atlas.server.metrics import MetricsMiddleware, Monitor
from atlas.server.middleware import ServiceMiddleware
from atlas.server.monitoring import AccruedCostSource, WorkspaceCost
from atlas.server.offload import WorkerPool
from atlas.server.openapi import OPERATIONS, build_document
from atlas.server.routes import build_routes
from atlas.server.settings import Settings
from atlas.server.workspaces import Workspaces

__all__ = ["create_app"]

logger = logging.getLogger("atlas.server")


def _monitor(settings: Settings) -> Monitor:
    """Metrics and provider health; accrued cost from the journal unless a source is given."""
    monitoring = settings.monitoring
    if monitoring.accrued_costs is None:
        monitoring = attrs.evolve(monitoring, accrued_costs=_accrued_costs(settings))
    return Monitor(
        monitoring,
        dict.fromkeys(op.path for op in OPERATIONS),
        settings.registry.names,
        timer=settings.timer,
        clock=settings.clock,
    )


def _accrued_costs(settings: Settings) -> AccruedCostSource:
    """Every workspace's month to date from the store's journal (:mod:`atlas.cost.accrual`),
    read at each scrape of ``/metrics``."""

    def read() -> list[WorkspaceCost]:
        from atlas.cost.accrual import workspace_costs  # noqa: PLC0415 - at scrape time

        now = settings.clock()
        out = []
        for workspace in settings.store.workspaces():
            report = workspace_costs(settings.store, settings.registry, workspace, now=now)
            for currency, (accrued, _forecast) in report.totals.items():
                out.append(WorkspaceCost(workspace, currency, accrued))
        return out

    return read


def _middleware(settings: Settings, monitor: Monitor) -> list[Middleware]:
    middleware = [
        # Outermost: it times and counts every answer, refusals of the layers below included.
        Middleware(MetricsMiddleware, monitor=monitor),
        Middleware(ServiceMiddleware, loopback_only=not settings.auth.enabled),
        Middleware(AuditMiddleware, store=settings.store, clock=settings.clock),
    ]
    if settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
                max_age=600,
            )
        )
    return middleware


def create_app(settings: Settings) -> Starlette:
    """The HTTP API over ``settings`` (see :class:`~atlas.server.Settings`)."""
    dispatcher = EventDispatcher(settings.store, settings.registry.plugins, settings.sinks)
    pool = WorkerPool(settings.cpu_threads, processes=_processes(settings))
    workspaces = Workspaces(settings, dispatcher, run_cpu=pool.run)
    monitor = _monitor(settings)
    operations = Operations(workspaces, settings.store, clock=settings.clock, monitor=monitor)
    monitor.metrics.gauges.running = lambda: operations.running
    svc = Service(settings, workspaces, operations, build_document(settings), pool, monitor)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        svc.stopping.clear()
        if not settings.auth.enabled:
            logger.warning(
                "no authentication configured: every request runs in workspace 'default', "
                "and only loopback callers are served"
            )
        if settings.sandbox:
            logger.warning("sandbox: %s; nothing reaches a real cloud", settings.sandbox)
        delivery = asyncio.create_task(dispatcher.run(settings.event_interval, svc.stopping))
        pool.start()
        resumed: list[str] = []
        if settings.resume:
            try:
                resumed = operations.claim_orphans()
            except AtlasError as exc:  # a store that cannot write now: health will say so
                logger.warning("could not look for operations to carry on: %s", exc)
        # Wakes this process's event streams when another replica writes the journal.
        following = asyncio.create_task(settings.store.follow(operations.notify, svc.stopping))
        sweeping = asyncio.create_task(workspaces.providers.run(svc.stopping))
        budgets = asyncio.create_task(
            watch_budgets(
                settings.store,
                settings.registry,
                settings.budget_interval,
                svc.stopping,
                clock=settings.clock,
            )
        )
        watching = (
            asyncio.create_task(operations.watch_orphans(_claim_interval(settings), svc.stopping))
            if settings.resume
            else None
        )
        logger.info(
            "atlas %s ready: authentication %s; %d unfinished operation(s) resumed",
            settings.version,
            ", ".join(settings.auth.modes()) or "none",
            len(resumed),
        )
        try:
            yield
        finally:
            svc.stopping.set()
            if watching is not None:
                await watching
            await following
            await operations.shutdown()
            await sweeping
            await budgets
            await workspaces.providers.aclose()  # no operation holds one any more
            await delivery
            pool.close()
            for sink in settings.sinks:
                close = getattr(sink, "aclose", None)
                if close is not None:
                    await close()

    middleware = _middleware(settings, monitor)
    app = Starlette(
        routes=build_routes(),
        middleware=middleware,
        exception_handlers={
            HTTPException: _http_error,
            ApiError: _api_error,
            AtlasError: _api_error,
        },
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # a stray slash is a 404, not a redirect
    app.state.service = svc
    return app


def _claim_interval(settings: Settings) -> float:
    """How often to look for operations to carry on: as set, else a quarter of the store's
    lease (a holder that missed its heartbeats is found within a quarter lease of it), kept
    between half a second and half a minute."""
    if settings.claim_interval is not None:
        return settings.claim_interval
    return min(max(settings.store.lease_seconds / 4, 0.5), 30.0)


def _processes(settings: Settings) -> int:
    """The worker processes to start: a worker process loads the installed plugins itself, so
    they answer for the default registry only (an app given another uses threads alone)."""
    if not settings.cpu_processes:
        return 0
    if settings.registry is not default_registry():
        logger.warning(
            "worker processes are off: they load the installed plugins, and this app was given "
            "another registry; heavy work runs on threads"
        )
        return 0
    return settings.cpu_processes


def _respond(request: Request, error: ApiError) -> Response:
    state = request.scope.setdefault("state", {})
    state[ERROR_CODE] = error.code  # for the audit trail
    request_id = state.get("request_id")
    return JSONResponse(error.body(request_id), status_code=error.status, headers=error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    return _respond(request, from_exception(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        error = ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"{request.method} is not allowed here; allowed: {headers.get('Allow', '')}",
            headers=headers,
        )
    elif exc.status_code == 404:
        error = ApiError(404, "NOT_FOUND", f"no route {request.method} {request.url.path}")
    else:
        error = ApiError(
            400 if exc.status_code < 500 else 500,
            "BAD_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR",
            str(exc.detail),
            headers=headers,
        )
    return _respond(request, error)
