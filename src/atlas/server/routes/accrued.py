"""``/api/v1/costs`` and ``/api/v1/infrastructure/{id}/costs``: what the caller's workspace (or
one of its infrastructures) has cost this month or ``?month=YYYY-MM``, from the journal, with a
forecast to the month's end; ``?actual=true`` adds each provider's own bill (read with the
caller's credentials). The same figures as ``atlas costs --json``: both are
:meth:`atlas.cost.accrual.CostReport.to_dict`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from atlas.cost.accrual import parse_month
from atlas.exceptions import Problem
from atlas.server.context import caller, json_answer, query_bool, service
from atlas.server.errors import validation_error
from atlas.wire import actual_json

__all__ = ["infrastructure_costs", "workspace_costs"]


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
        report = atlas.costs(key, month=month, now=svc.settings.clock())
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
