"""The service itself: ``/``, ``/openapi.json``, ``/api/v1/health``, ``/providers``, ``/stats``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from atlas.credentials import Secret
from atlas.server.auth import presents_credentials
from atlas.server.context import Service, caller, service
from atlas.server.responses import amount, iso, stats_json
from atlas.server.workspaces import known_credentials

__all__ = ["health", "index", "openapi", "providers", "stats"]

SERVICE = "atlas"
CAPABILITIES = (
    "validate",
    "estimate",
    "plan",
    "apply",
    "destroy",
    "operations",
    "operation-events",
    "stats",
    "audit",
    "metrics",
    "costs",
)


async def index(request: Request) -> JSONResponse:
    svc = service(request)
    endpoints = {
        route["x-name"]: path
        for path, item in svc.document["paths"].items()
        for route in item.values()
        if isinstance(route, dict) and "x-name" in route
    }
    return JSONResponse(
        {
            "service": SERVICE,
            "version": svc.settings.version,
            "description": "Declarative cloud infrastructure: validated specs, costs before "
            "anything is spent, every operation journaled.",
            "capabilities": list(CAPABILITIES),
            "endpoints": endpoints,
            "authentication": svc.settings.auth.modes() or ["none"],
            "sandbox": svc.settings.sandbox,
        }
    )


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(service(request).document)


async def health(request: Request) -> JSONResponse:
    """Public, for load balancers; so it tells nobody about any workspace. A caller who sends
    credentials is authenticated (401 for bad ones) and told how many operations its own
    workspace has running."""
    svc = service(request)
    principal = None
    if not svc.settings.auth.enabled or presents_credentials(request.headers):
        principal = caller(request)
    store = _store_health(svc)
    healthy = store["status"] == "ok"
    # A degraded provider does not make this replica unfit to serve (another would fare no
    # better): the status says so, the answer stays 200, load balancers keep it.
    degraded = [
        {"provider": d.provider, "since": iso(d.since), "last_error": d.last_error,
         "retry_after": d.retry_after}
        for d in svc.monitor.health.degraded()
    ]  # fmt: skip
    body: dict[str, Any] = {
        "status": "healthy" if healthy and not degraded else "degraded",
        "timestamp": iso(svc.settings.clock()),
        "service": SERVICE,
        "version": svc.settings.version,
        "providers": list(svc.settings.registry.names()),
        "store": store,
        "degraded_providers": degraded,
    }
    if principal is not None:
        body["operations_running"] = svc.operations.running_in(principal.workspace)
    return JSONResponse(body, status_code=200 if healthy else 503)


def _store_health(svc: Service) -> dict[str, Any]:
    """``ok``; ``degraded`` when it reads but cannot write (a read-only file, a full disk),
    which fails every change with 503 as surely as a store that cannot be read; ``error``."""
    try:
        report = svc.settings.store.check()
    except Exception as exc:  # an unusable store is what health is for; say so, briefly
        return {"status": "error", "error": type(exc).__name__}
    writable = report.get("writable", True) is not False
    store: dict[str, Any] = {
        "status": "ok" if writable else "degraded",
        "backend": str(report.get("backend", "")),
        "schema_version": report.get("schema_version"),
        "durable": bool(report.get("durable")),
        "writable": writable,
    }
    if not writable:
        store["error"] = f"writes fail: {report.get('write_error') or 'reason unknown'}"
    return store


async def providers(request: Request) -> JSONResponse:
    principal = caller(request)
    svc = service(request)
    items = [await _provider(svc, name, principal.jwt) for name in svc.settings.registry.names()]
    return JSONResponse({"providers": items, "count": len(items)})


async def _provider(svc: Service, name: str, jwt: Secret | None) -> dict[str, Any]:
    registry = svc.settings.registry
    info = registry.get(name)
    sandbox = name in svc.settings.shared_providers
    can_create = sandbox or info.factory is not None or svc.settings.provider_factory is not None
    credentials, problem = "not_needed", None
    if not sandbox and can_create:
        probe = svc.settings.credential_probe or known_credentials(
            svc.settings.registry, svc.settings.env
        )
        try:
            problem = await probe(name, jwt)
            credentials = "missing" if problem else "found"
        except LookupError:
            credentials = "unchecked"
    connected = can_create and credentials != "missing"
    status = "available" if connected else "disconnected" if can_create else "estimate_only"
    catalog = registry.catalog(name)
    return {
        "name": name,
        "title": info.title,
        "aliases": list(info.aliases),
        "status": status,
        "connected": connected,
        "can_create": can_create,
        "sandbox": sandbox,
        "credentials": credentials,
        "credentials_error": problem,
        "resource_types": sorted(registry.kinds(name)),
        "pricing": None
        if catalog is None
        else {
            "currency": catalog.currency,
            "effective_date": catalog.effective_date.isoformat(),
            "source": catalog.origin,
        },
    }


async def stats(request: Request) -> JSONResponse:
    principal = caller(request)
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        doc = stats_json(atlas.stats())
        now = svc.settings.clock()
        # The journal of the whole workspace, priced: a worker thread's job (see costs).
        month_to_date = (await svc.pool.offload(lambda: atlas.costs(now=now))).accrued
    doc["month_to_date"] = None if month_to_date is None else amount(month_to_date)
    return JSONResponse({"stats": doc})
