"""``/api/v1/operations/{id}``: one operation, and its progress as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from atlas.server.context import caller, json_answer, service
from atlas.server.responses import operation_json
from atlas.server.sse import operation_events

__all__ = ["events", "read"]


async def read(request: Request) -> Response:
    principal = caller(request)
    async with service(request).workspaces.open(principal) as atlas:
        op = atlas.operation(request.path_params["id"])
        steps = atlas.store.steps(op.id)
    return await json_answer(request, lambda: {"operation": operation_json(op, steps)}, len(steps))


async def events(request: Request) -> StreamingResponse:
    principal = caller(request)
    svc = service(request)
    operation_id = request.path_params["id"]
    async with svc.workspaces.open(principal) as atlas:
        atlas.operation(operation_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[bytes]:
        async with svc.workspaces.open(principal) as atlas:
            async for frame in operation_events(svc, atlas, operation_id):
                yield frame

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
