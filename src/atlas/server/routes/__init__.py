"""The route table: one Starlette route per path, its methods dispatched to the handlers.

Every path and method comes from :data:`atlas.server.openapi.OPERATIONS`, so the app and its
document cannot list different routes; a wrong method answers 405 with every allowed method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atlas.exceptions import Problem
from atlas.server import audit, context
from atlas.server.context import caller
from atlas.server.errors import validation_error
from atlas.server.offload import request_deadline
from atlas.server.openapi import OPERATIONS, Op
from atlas.server.routes import (
    accrued,
    audit_log,
    costs,
    infrastructure,
    metrics,
    operations,
    service,
)

__all__ = ["HANDLERS", "build_routes"]

Handler = Callable[[Request], Awaitable[Response]]

#: operationId -> handler.
HANDLERS: Mapping[str, Handler] = {
    "service_info": service.index,
    "openapi_document": service.openapi,
    "health": service.health,
    "metrics": metrics.serve,
    "list_providers": service.providers,
    "stats": service.stats,
    "create_infrastructure": infrastructure.create,
    "list_infrastructures": infrastructure.list_infrastructures,
    "get_infrastructure": infrastructure.read,
    "update_infrastructure": infrastructure.update,
    "destroy_infrastructure": infrastructure.destroy,
    "list_infrastructure_operations": infrastructure.list_operations,
    "get_operation": operations.read,
    "operation_events": operations.events,
    "plan": costs.plan,
    "estimate_cost": costs.estimate,
    "workspace_costs": accrued.workspace_costs,
    "infrastructure_costs": accrued.infrastructure_costs,
    "get_budget": accrued.get_budget,
    "set_budget": accrued.set_budget,
    "clear_budget": accrued.clear_budget,
    "list_audit": audit_log.list_entries,
}


def _dispatch(by_method: Mapping[str, tuple[Op, Handler]]) -> Handler:
    async def endpoint(request: Request) -> Response:
        op, handler = by_method["GET" if request.method == "HEAD" else request.method]
        if op.audited:
            audit.mark(request.scope, f"{op.method} {op.path}")
        if not op.public:
            caller(request)  # 401 before anything else is looked at
        known = {name for name, _, _ in op.query}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            # A misspelt option (allow_overbudget=true) must not be silently ignored.
            expected = ", ".join(sorted(known)) or "none"
            message = f"unknown query parameter (expected: {expected})"
            raise validation_error([Problem(name, message) for name in unknown])
        with request_deadline(context.service(request).settings.request_deadline):
            return await handler(request)

    return endpoint


def build_routes() -> list[Route]:
    paths: dict[str, dict[str, tuple[Op, Handler]]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = (op, HANDLERS[op.operation_id])
    return [
        Route(path, _dispatch(by_method), methods=list(by_method))
        for path, by_method in paths.items()
    ]
