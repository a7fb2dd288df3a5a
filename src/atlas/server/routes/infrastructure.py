"""``/api/v1/infrastructure``: create, list, read, update, destroy, and its operations.

Each route calls the library; changes start an operation in the background and answer with it
at once (see :mod:`atlas.server.background`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from atlas.exceptions import LockedError, Problem, RecordNotFoundError
from atlas.facade import AsyncAtlas
from atlas.lifecycle.executor import ProgressCallback
from atlas.model.records import OperationRecord
from atlas.server.auth import Principal
from atlas.server.background import Run
from atlas.server.context import Service, caller, query_bool, query_int, read_spec, service
from atlas.server.errors import ApiError, from_exception, validation_error
from atlas.server.responses import infrastructure_json, operation_json

__all__ = ["create", "destroy", "list_infrastructures", "list_operations", "read", "update"]

MAX_PAGE = 1000


async def create(request: Request) -> JSONResponse:
    principal = caller(request)
    doc = await read_spec(request)
    run = _apply(doc, request)
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        spec = atlas.validate(doc)
        try:
            existing = atlas.get(spec.name).infrastructure
        except RecordNotFoundError:
            existing = None
    if existing is not None and existing.status != "destroyed":
        raise ApiError(
            409,
            "INFRASTRUCTURE_EXISTS",
            f"infrastructure {spec.name!r} exists (id {existing.id}); "
            f"change it with PUT /api/v1/infrastructure/{existing.id}",
            extra={"infrastructure_id": existing.id},
        )
    operation_id = await svc.operations.start(principal, run)
    return JSONResponse(await _answer(request, principal, operation_id), status_code=201)


async def list_infrastructures(request: Request) -> JSONResponse:
    principal = caller(request)
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    offset = query_int(request, "offset", 0, minimum=0, maximum=10**9)
    async with service(request).workspaces.open(principal) as atlas:
        page = atlas.list(limit=limit + 1, offset=offset)
        more = len(page) > limit
        items = [infrastructure_json(atlas.get(i.id)) for i in page[:limit]]
    return JSONResponse(
        {
            "infrastructures": items,
            "count": len(items),
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if more else None,
        }
    )


async def read(request: Request) -> JSONResponse:
    principal = caller(request)
    async with service(request).workspaces.open(principal) as atlas:
        view = atlas.get(request.path_params["id"])
    return JSONResponse({"infrastructure": infrastructure_json(view)})


async def update(request: Request) -> JSONResponse:
    principal = caller(request)
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        infra = atlas.get(request.path_params["id"]).infrastructure
        _not_busy(svc, infra.id, infra.name)
        doc = dict(await read_spec(request))
        name = doc.setdefault("name", infra.name)
        if name != infra.name:
            message = f"must be {infra.name!r}, the name of infrastructure {infra.id} (no renaming)"
            raise validation_error([Problem("name", message)])
        if atlas.validate(doc).provider != infra.provider:
            message = f"must be {infra.provider!r}: an infrastructure stays with its provider"
            raise validation_error([Problem("provider", message)])
    operation_id = await svc.operations.start(principal, _apply(doc, request))
    return JSONResponse(await _answer(request, principal, operation_id))


async def destroy(request: Request) -> JSONResponse:
    principal = caller(request)
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        infra = atlas.get(request.path_params["id"]).infrastructure
    _not_busy(svc, infra.id, infra.name)
    infra_id = infra.id
    include_imported = query_bool(request, "include_imported")

    async def run(atlas: AsyncAtlas, progress: ProgressCallback) -> OperationRecord:
        return await atlas.destroy(
            infra_id, on_progress=progress, include_imported=include_imported
        )

    operation_id = await svc.operations.start(principal, run)
    return JSONResponse(await _answer(request, principal, operation_id))


async def list_operations(request: Request) -> JSONResponse:
    principal = caller(request)
    async with service(request).workspaces.open(principal) as atlas:
        ops = atlas.operations(request.path_params["id"])
        items = [operation_json(op, atlas.store.steps(op.id)) for op in ops]
    return JSONResponse({"operations": items, "count": len(items)})


def _not_busy(svc: Service, infra_id: str, name: str) -> None:
    """One operation at a time: answered here like the store's lock would (409), before a
    second one reads a spec the first has not recorded yet."""
    running = svc.operations.running_on(infra_id)
    if running is not None:
        raise from_exception(
            LockedError(
                f"infrastructure {name} is locked by operation {running}", operation_id=running
            )
        )


def _apply(doc: Mapping[str, Any], request: Request) -> Run:
    allow = query_bool(request, "allow_over_budget")
    rollback = query_bool(request, "rollback", default=True)
    data_loss = query_bool(request, "allow_data_loss")

    async def run(atlas: AsyncAtlas, progress: ProgressCallback) -> OperationRecord:
        return await atlas.apply(
            doc,
            allow_over_budget=allow,
            rollback=rollback,
            on_progress=progress,
            allow_data_loss=data_loss,
        )

    return run


async def _answer(request: Request, principal: Principal, operation_id: str) -> dict[str, Any]:
    async with service(request).workspaces.open(principal) as atlas:
        op = atlas.operation(operation_id)
        view = atlas.get(op.infrastructure_id)
        return {
            "infrastructure": infrastructure_json(view, op),
            "operation": operation_json(op, atlas.store.steps(op.id)),
        }
