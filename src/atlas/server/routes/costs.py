"""``/api/v1/plan`` and ``/api/v1/estimate-cost``: what a spec would change, what it costs.

Neither needs cloud credentials: an estimate uses the price catalogs, a plan the journal
(``?refresh=true`` reads the resources back from the provider first, and does need them).
``?duration=36h`` prices an estimate for a run that long as well, as ``atlas estimate
--duration`` does.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from atlas.cost.billing import Duration, parse_duration
from atlas.exceptions import Problem
from atlas.server.context import caller, json_answer, query_bool, read_spec, service
from atlas.server.errors import validation_error
from atlas.server.responses import estimate_json, plan_json

__all__ = ["estimate", "plan"]


async def plan(request: Request) -> Response:
    principal = caller(request)
    refresh = query_bool(request, "refresh")
    doc = await read_spec(request)
    async with service(request).workspaces.open(principal) as atlas:
        result = await atlas.plan(doc, refresh=refresh)
    return await json_answer(request, lambda: {"plan": plan_json(result)}, len(result.changes))


async def estimate(request: Request) -> Response:
    principal = caller(request)
    duration = _duration(request)
    doc = await read_spec(request)
    async with service(request).workspaces.open(principal) as atlas:
        result = await atlas.estimate(doc, duration=duration)
    return await json_answer(request, lambda: estimate_json(result), len(result.breakdown))


def _duration(request: Request) -> Duration | None:
    """``?duration=``: a length such as ``10m``, ``36h`` or ``45d``; 422 naming it otherwise."""
    raw = request.query_params.get("duration")
    if raw is None:
        return None
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise validation_error([Problem("duration", str(exc))]) from None
