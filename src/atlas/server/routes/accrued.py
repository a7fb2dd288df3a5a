"""``/api/v1/costs``, ``/api/v1/infrastructure/{id}/costs`` and ``/api/v1/budget``.

What the caller's workspace (or one of its infrastructures) has cost this month or
``?month=YYYY-MM``, from the journal, with a forecast to the month's end; ``?actual=true``
adds each provider's own bill (read with the caller's credentials). The same figures as
``atlas costs --json``: both are :meth:`atlas.cost.accrual.CostReport.to_dict`.
``/api/v1/budget`` reads, sets (``PUT``, a budget as a spec writes one) and removes
(``DELETE``) the workspace's own budget, which ``atlas serve`` checks every
``budget_interval`` seconds (:func:`atlas.server.background.watch_budgets`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atlas.cost.accrual import parse_month
from atlas.exceptions import Problem
from atlas.server.context import caller, json_answer, query_bool, read_body, service
from atlas.server.errors import validation_error
from atlas.server.jobs import parse_json
from atlas.spec.validate import validate_budget
from atlas.wire import actual_json, budget_json

__all__ = [
    "clear_budget",
    "get_budget",
    "infrastructure_costs",
    "set_budget",
    "workspace_costs",
]


async def workspace_costs(request: Request) -> Response:
    return await _answer(request, None)


async def infrastructure_costs(request: Request) -> Response:
    return await _answer(request, request.path_params["id"])


async def _answer(request: Request, key: str | None) -> Response:
    principal = caller(request)
    month = _month(request)
    actual = query_bool(request, "actual")
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        now = svc.settings.clock()
        # Reading and pricing the journal of every resource (70 to 90 ms for 2,000 here) runs
        # on a worker thread, whatever the size: it is not known before it is read.
        report = await svc.pool.offload(lambda: atlas.costs(key, month=month, now=now))
        doc: dict[str, Any] = report.to_dict()
        if actual:
            doc["actual"] = await actual_json(atlas, report)
    size = sum(len(i.resources) for i in report.infrastructures)
    return await json_answer(request, lambda: {"costs": doc}, size)


def _month(request: Request) -> str | None:
    raw = request.query_params.get("month")
    if raw is None:
        return None
    try:
        parse_month(raw)
    except ValueError as exc:
        raise validation_error([Problem("month", str(exc))]) from None
    return raw


# -- the workspace's budget --------------------------------------------------------------------


async def get_budget(request: Request) -> Response:
    principal = caller(request)
    budget = service(request).settings.store.get_budget(principal.workspace)
    return JSONResponse({"budget": None if budget is None else budget_json(budget)})


async def set_budget(request: Request) -> Response:
    """``PUT``: the body is a budget as a spec writes one; problems name ``budget.<field>``."""
    principal = caller(request)
    svc = service(request)
    doc = parse_json(await read_body(request))
    budget = validate_budget(doc, svc.settings.registry)
    svc.settings.store.set_budget(principal.workspace, budget)
    return JSONResponse({"budget": budget_json(budget)})


async def clear_budget(request: Request) -> Response:
    principal = caller(request)
    service(request).settings.store.set_budget(principal.workspace, None)
    return JSONResponse({"budget": None})
