"""``/api/v1/infrastructure``: create, list, read, update, destroy, and its operations.

Each route calls the library; changes start an operation in the background and answer with it
at once (see :mod:`atlas.server.background`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from atlas.exceptions import LockedError, Problem, RecordNotFoundError
from atlas.facade import AsyncAtlas, SpecInput
from atlas.lifecycle.executor import ProgressCallback
from atlas.model.records import OperationRecord
from atlas.server import audit
from atlas.server.auth import Principal
from atlas.server.background import Run
from atlas.server.context import (
    Service,
    caller,
    json_answer,
    query_bool,
    query_int,
    read_spec,
    replace_placement,
    resource_count,
    service,
)
from atlas.server.errors import ApiError, from_exception, validation_error
from atlas.server.offload import no_deadline
from atlas.server.responses import infrastructure_json, operation_json

__all__ = ["create", "destroy", "list_infrastructures", "list_operations", "read", "update"]

MAX_PAGE = 1000


async def create(request: Request) -> Response:
    principal = caller(request)
    # (a new infrastructure is placed afresh whatever replace_placement says)
    doc, _ = replace_placement(request, await read_spec(request))
    options = _apply_options(request)
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        spec = await svc.pool.run(lambda: atlas.validate(doc), resource_count(doc))
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
    # Validated once: the apply takes the spec as it is.
    operation_id = await svc.operations.start(
        principal, _apply(spec, *options), provider=spec.provider
    )
    return await _answer(request, principal, operation_id, status_code=201)


async def list_infrastructures(request: Request) -> Response:
    principal = caller(request)
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    offset = query_int(request, "offset", 0, minimum=0, maximum=10**9)
    async with service(request).workspaces.open(principal) as atlas:
        page = atlas.list(limit=limit + 1, offset=offset)
        more = len(page) > limit
        views = [atlas.get(i.id) for i in page[:limit]]

    def build() -> dict[str, Any]:
        items = [infrastructure_json(view) for view in views]
        return {
            "infrastructures": items,
            "count": len(items),
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if more else None,
        }

    return await json_answer(request, build, sum(len(v.resources) for v in views))


async def read(request: Request) -> Response:
    principal = caller(request)
    async with service(request).workspaces.open(principal) as atlas:
        view = atlas.get(request.path_params["id"])
    return await json_answer(
        request, lambda: {"infrastructure": infrastructure_json(view)}, len(view.resources)
    )


async def update(request: Request) -> Response:
    principal = caller(request)
    svc = service(request)
    async with svc.workspaces.open(principal) as atlas:
        infra = atlas.get(request.path_params["id"]).infrastructure
        _not_busy(svc, infra.id, infra.name)
        given, replace = replace_placement(request, await read_spec(request))
        doc = dict(given)
        name = doc.setdefault("name", infra.name)
        if name != infra.name:
            message = f"must be {infra.name!r}, the name of infrastructure {infra.id} (no renaming)"
            raise validation_error([Problem("name", message)])
        options = _apply_options(request)
        spec = await svc.pool.run(
            lambda: atlas.validate(doc, replace_placement=replace), resource_count(doc)
        )
        if spec.provider != infra.provider:
            message = f"must be {infra.provider!r}: an infrastructure stays with its provider"
            raise validation_error([Problem("provider", message)])
    operation_id = await svc.operations.start(
        principal, _apply(spec, *options, replace=replace), provider=spec.provider
    )
    return await _answer(request, principal, operation_id)


async def destroy(request: Request) -> Response:
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

    operation_id = await svc.operations.start(principal, run, provider=infra.provider)
    return await _answer(request, principal, operation_id)


async def list_operations(request: Request) -> Response:
    principal = caller(request)
    async with service(request).workspaces.open(principal) as atlas:
        ops = [(op, atlas.store.steps(op.id)) for op in atlas.operations(request.path_params["id"])]

    def build() -> dict[str, Any]:
        items = [operation_json(op, steps) for op, steps in ops]
        return {"operations": items, "count": len(items)}

    return await json_answer(request, build, sum(len(steps) for _, steps in ops))


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


def _apply_options(request: Request) -> tuple[bool, bool, bool]:
    """``?allow_over_budget=``, ``?rollback=`` and ``?allow_data_loss=``, read before the body
    is worked on."""
    return (
        query_bool(request, "allow_over_budget"),
        query_bool(request, "rollback", default=True),
        query_bool(request, "allow_data_loss"),
    )


def _apply(
    spec: SpecInput, allow: bool, rollback: bool, data_loss: bool, *, replace: bool = False
) -> Run:
    async def run(atlas: AsyncAtlas, progress: ProgressCallback) -> OperationRecord:
        return await atlas.apply(
            spec,
            allow_over_budget=allow,
            rollback=rollback,
            on_progress=progress,
            allow_data_loss=data_loss,
            replace_placement=replace,
        )

    return run


async def _answer(
    request: Request, principal: Principal, operation_id: str, *, status_code: int = 200
) -> Response:
    async with service(request).workspaces.open(principal) as atlas:
        op = atlas.operation(operation_id)
        view = atlas.get(op.infrastructure_id)
        steps = atlas.store.steps(op.id)
    audit.note(
        request.scope,
        infrastructure_id=view.infrastructure.id,
        infrastructure_name=view.infrastructure.name,
        operation_id=op.id,
        summary=audit.plan_summary(op, steps),
    )

    def build() -> dict[str, Any]:
        return {
            "infrastructure": infrastructure_json(view, op),
            "operation": operation_json(op, steps),
        }

    size = len(view.resources) + len(steps)
    with no_deadline():  # the operation has started: its answer is not refused now
        return await json_answer(request, build, size, status_code=status_code)
