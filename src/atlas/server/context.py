"""What a route needs from a request: the service, the caller, a JSON body, query values."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atlas.exceptions import Problem
from atlas.server.auth import Principal, authenticate
from atlas.server.background import Operations
from atlas.server.errors import ApiError, validation_error
from atlas.server.jobs import parse_json, parse_spec
from atlas.server.metrics import Monitor
from atlas.server.offload import WorkerPool, render_json
from atlas.server.settings import Settings
from atlas.server.workspaces import Workspaces

__all__ = [
    "Service",
    "caller",
    "json_answer",
    "parse_body",
    "query_bool",
    "query_int",
    "read_body",
    "read_json",
    "read_spec",
    "replace_placement",
    "resource_count",
    "service",
]

#: A body this long or longer is parsed on a worker thread (a MiB is some 20 ms of parsing).
PARSE_INLINE_BYTES = 65_536
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_JSON_TYPES = re.compile(r"application/(?:[\w.+-]+\+)?json", re.I)


@attrs.define
class Service:
    """One running service: built by :func:`atlas.server.create_app`, kept on ``app.state``."""

    settings: Settings
    workspaces: Workspaces
    operations: Operations
    document: dict[str, Any]
    pool: WorkerPool
    monitor: Monitor
    stopping: asyncio.Event = attrs.field(factory=asyncio.Event)


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


def caller(request: Request) -> Principal:
    """The authenticated caller (401 otherwise); noted for the access log."""
    state = request.scope["state"]
    known: Principal | None = state.get("principal")
    if known is None:
        known = authenticate(service(request).settings.auth, request.headers)
        state["principal"] = known
        state["workspace"] = known.workspace
    return known


async def read_body(request: Request) -> bytes:
    """The body of a JSON request: 415 unless it says it is JSON, 413 beyond the limit (from
    its ``Content-Length`` before it is read, or as it arrives), 400 when there is none."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip()
    if not _JSON_TYPES.fullmatch(media):
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
    limit = service(request).settings.body_limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            _too_large(limit)
    if not body.strip():
        raise ApiError(400, "BAD_REQUEST", "the request needs a JSON body")
    return bytes(body)


async def read_json(request: Request) -> Any:
    """The body as JSON (:func:`read_body`'s answers, and 400 when it is malformed)."""
    data = await read_body(request)
    if len(data) < PARSE_INLINE_BYTES:
        return parse_json(data)
    return await service(request).pool.offload(lambda: parse_json(data))


async def read_spec(request: Request) -> Mapping[str, Any]:
    """A spec body (see :func:`atlas.server.jobs.parse_spec`: a JSON object of at most
    :attr:`Settings.max_resources` resources)."""
    return await parse_body(request, await read_body(request))


async def parse_body(request: Request, data: bytes) -> Mapping[str, Any]:
    """:func:`atlas.server.jobs.parse_spec` of a body :func:`read_body` read, on a worker
    thread when it is large."""
    limit = service(request).settings.max_resources
    if len(data) < PARSE_INLINE_BYTES:
        return parse_spec(data, limit)
    return await service(request).pool.offload(lambda: parse_spec(data, limit))


async def json_answer(
    request: Request, build: Callable[[], Any], size: int, *, status_code: int = 200
) -> Response:
    """``JSONResponse(build())``; an answer about ``size`` resources or more (steps, changes)
    is built and written out on a worker thread, the same bytes."""
    pool = service(request).pool
    if size < pool.inline_below:
        return JSONResponse(build(), status_code=status_code)
    body = await pool.offload(lambda: render_json(build()))
    return Response(body, status_code=status_code, media_type="application/json")


def resource_count(doc: Mapping[str, Any]) -> int:
    """How many resources a spec body lists (what heavy work on it scales with)."""
    resources = doc.get("resources")
    return len(resources) if isinstance(resources, list) else 0


def _too_large(limit: int) -> NoReturn:
    raise ApiError(413, "PAYLOAD_TOO_LARGE", f"the request body exceeds {limit} bytes")


def query_int(request: Request, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        _bad_query(name, f"must be a whole number from {minimum} to {maximum}")
    return int(raw)


def query_bool(request: Request, name: str, *, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        _bad_query(name, "must be true or false")
    return raw == "true"


#: The flag that places a provider: any spec again (atlas plan --replace-placement).
REPLACE_PLACEMENT = "replace_placement"


def replace_placement(request: Request, doc: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """``replace_placement``, given as ``?replace_placement=true`` or as a key of the body
    beside the spec (``"replace_placement": true``, like estimate-cost's ``compare``); the
    spec without it, and the flag."""
    flag = query_bool(request, REPLACE_PLACEMENT)
    if REPLACE_PLACEMENT not in doc:
        return doc, flag
    rest = {k: v for k, v in doc.items() if k != REPLACE_PLACEMENT}
    value = doc[REPLACE_PLACEMENT]
    if not isinstance(value, bool):
        raise validation_error([Problem(REPLACE_PLACEMENT, "must be true or false")])
    return rest, flag or value


def _bad_query(name: str, message: str) -> NoReturn:
    raise validation_error([Problem(name, message)])
