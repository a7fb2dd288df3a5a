"""``/api/v1/plan`` and ``/api/v1/estimate-cost``: what a spec would change, what it costs.

Neither needs cloud credentials: an estimate uses the price catalogs, a plan the journal
(``?refresh=true`` reads the resources back from the provider first, and does need them).
``?duration=36h`` prices an estimate for a run that long as well, as ``atlas estimate
--duration`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atlas.cost.billing import Duration, parse_duration
from atlas.exceptions import AtlasError, Problem
from atlas.portable.report import comparison_json
from atlas.portable.resolve import compare, is_portable
from atlas.server import jobs
from atlas.server.auth import Principal
from atlas.server.context import (
    PARSE_INLINE_BYTES,
    Service,
    caller,
    json_answer,
    parse_body,
    query_bool,
    read_body,
    replace_placement,
    resource_count,
    service,
)
from atlas.server.errors import from_exception, validation_error
from atlas.server.responses import estimate_json, placed_estimate_json, plan_json
from atlas.spec.validate import validate_spec

__all__ = ["estimate", "plan"]


async def plan(request: Request) -> Response:
    principal = caller(request)
    refresh = query_bool(request, "refresh")
    svc = service(request)
    body = await read_body(request)
    given = await parse_body(request, body)
    doc, replace = replace_placement(request, given)
    if not refresh and doc is given and _nothing_recorded(svc, principal, doc):
        # A diff against nothing: a worker process answers it whole, on a core of its own.
        limit = svc.settings.max_resources
        return _json(await svc.pool.in_process(jobs.plan_answer, body, limit))
    async with svc.workspaces.open(principal) as atlas:
        result = await atlas.plan(doc, refresh=refresh, replace_placement=replace)
    return await json_answer(request, lambda: {"plan": plan_json(result)}, len(result.changes))


async def estimate(request: Request) -> Response:
    principal = caller(request)
    duration = _duration(request)
    svc = service(request)
    body = await read_body(request)
    wants_compare = query_bool(request, "compare") or b'"compare"' in body
    if wants_compare:
        return await _compare(request, principal, body, duration)
    if svc.pool.processes and len(body) >= PARSE_INLINE_BYTES:
        limit = svc.settings.max_resources
        return _json(await svc.pool.in_process(jobs.estimate_answer, body, limit, duration))
    doc = await parse_body(request, body)
    async with svc.workspaces.open(principal) as atlas:
        if not is_portable(doc, atlas.registry):
            result = await atlas.estimate(doc, duration=duration)
            return await json_answer(request, lambda: estimate_json(result), len(result.breakdown))
        registry = atlas.registry
        spec = await svc.pool.offload(
            lambda: validate_spec(doc, registry=registry, purpose="estimate")
        )
        result = await atlas.estimate(spec, duration=duration)
    return await json_answer(request, lambda: placed_estimate_json(spec, result), len(doc))


async def _compare(
    request: Request, principal: Principal, body: bytes, duration: Duration | None
) -> Response:
    """Every placement of a portable spec, cheapest first (``"compare": true`` in the body,
    or ``?compare=true``), as ``atlas estimate --compare --json`` prints it."""
    svc = service(request)
    doc = dict(await parse_body(request, body))
    flag = doc.pop("compare", None)
    if flag is not None and not isinstance(flag, bool):
        raise validation_error([Problem("compare", "must be true or false")])
    if not (flag or query_bool(request, "compare")):
        # ("compare" appeared in the body, but not as the flag): an estimate after all
        async with svc.workspaces.open(principal) as atlas:
            registry = atlas.registry
            spec = await svc.pool.offload(
                lambda: validate_spec(doc, registry=registry, purpose="estimate")
            )
            result = await atlas.estimate(spec, duration=duration)
        return await json_answer(request, lambda: placed_estimate_json(spec, result), len(doc))
    if duration is not None:
        raise validation_error([Problem("duration", "a comparison prices the month only")])
    async with svc.workspaces.open(principal) as atlas:
        registry = atlas.registry

    def answer() -> dict[str, Any]:
        try:
            return comparison_json(compare(doc, registry=registry))
        except AtlasError as exc:
            raise from_exception(exc) from None

    return JSONResponse(await svc.pool.offload(answer))


def _nothing_recorded(svc: Service, principal: Principal, doc: Mapping[str, Any]) -> bool:
    """Whether a worker process can answer this plan (:func:`atlas.server.jobs.plan_answer`):
    there are worker processes, the spec is large, imports nothing (which reads the cloud),
    and names no live infrastructure of the workspace (whose records the plan diffs)."""
    if not svc.pool.processes or resource_count(doc) < svc.pool.inline_below:
        return False
    if any(isinstance(r, Mapping) and "import" in r for r in doc["resources"]):
        return False
    name = doc.get("name")
    if not isinstance(name, str):
        return True  # not a spec validation lets through: the worker says why, as here
    infra = svc.settings.store.get_infrastructure(principal.workspace, name)
    return infra is None or infra.status == "destroyed"


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _duration(request: Request) -> Duration | None:
    """``?duration=``: a length such as ``10m``, ``36h`` or ``45d``; 422 naming it otherwise."""
    raw = request.query_params.get("duration")
    if raw is None:
        return None
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise validation_error([Problem("duration", str(exc))]) from None
