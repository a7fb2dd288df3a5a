"""The OpenAPI 3.1 document of the service, built for the app it describes.

Security follows the app's configuration (no ``security`` without authentication; a 403 for
non-loopback callers instead), the provider and resource-type enums follow the registry, the
error codes follow :mod:`atlas.server.errors`. The tests keep it truthful: every route of the
app is here and nothing else, every response the test suite sees is checked against it, and a
property-based fuzz (schemathesis) runs it against the app.
"""

from __future__ import annotations

from typing import Any

import attrs

from atlas.events import EVENT_TYPES
from atlas.server.schemas import Schema, component_schemas, nullable, obj, ref
from atlas.server.settings import Settings

__all__ = ["OPERATIONS", "Op", "build_document"]

_ERRORS: dict[int, str] = {
    400: "The body is not JSON, or is missing; or a credential header (Authorization, "
    "X-API-Key) is repeated.",
    401: "No credentials, or invalid ones (expired, wrong signature, unknown key).",
    403: "Without authentication, only loopback callers are served.",
    404: "No such infrastructure or operation in the caller's workspace (one of another "
    "workspace answers the same).",
    409: "A live infrastructure has that name, another operation holds the infrastructure, "
    "or the provider refused for a conflict.",
    413: "The body is larger than the server accepts (ATLAS_MAX_BODY_BYTES).",
    415: "The body is not sent as application/json.",
    422: "Invalid: every problem with its path (resources[0].specifications.size), or more "
    "resources than the server takes in one spec (ATLAS_MAX_RESOURCES), or over budget, or "
    "beyond the account's capacity, or refused by the provider.",
    424: "No usable cloud credential for the workspace (the sources tried are named), or the "
    "provider refused it.",
    500: "An unexpected error; its details are in the server log under the request id.",
    502: "The provider failed or could not be reached.",
    503: "The state store cannot be used, or the provider asks to slow down (Retry-After), or "
    "the server is at its connection limit (SERVER_BUSY, Retry-After), or the request's work "
    "did not end within the server's deadline (DEADLINE_EXCEEDED, ATLAS_REQUEST_DEADLINE), or "
    "the provider is degraded, its API having failed repeatedly, and new operations for it "
    "wait until it answers again (PROVIDER_DEGRADED, Retry-After; the body names the provider, "
    "since when, and the last error's class).",
}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "An id, or for an infrastructure its name.",
}
_BOOL_QUERY = {"type": "string", "enum": ["true", "false"]}
#: Whole numbers with a unit, at least one of them not zero (``0s`` is refused).
_DURATION_QUERY = {
    "type": "string",
    "pattern": "^([0-9]+[smhd])*0*[1-9][0-9]*[smhd]([0-9]+[smhd])*$",
    "examples": ["36h"],
}


@attrs.frozen
class Op:
    """One operation of the API: what the app routes and the document describes."""

    method: str
    path: str
    operation_id: str
    name: str
    summary: str
    response: Schema | None  # the JSON body of the success answer; None for the event stream
    status: int = 200
    public: bool = False
    #: Public, but credentials sent along are checked (and decide what the answer shows).
    optional_auth: bool = False
    body: bool = False
    errors: tuple[int, ...] = ()
    query: tuple[tuple[str, Schema, str], ...] = ()
    #: Statuses answered with the success body all the same (health's 503 "degraded").
    same_body: tuple[int, ...] = ()
    #: Reads the state store (so may answer 503 when it cannot be used).
    store: bool = True
    #: Changes something: every request leaves an audit entry (atlas.server.audit).
    audited: bool = False
    #: The media types of the success body (JSON unless said).
    media: tuple[str, ...] = ("application/json",)
    #: A security scheme of its own, used instead of the workspaces' when configured.
    scheme: str | None = None
    #: The body's schema, when it is not a spec (a spec also has examples and a deadline).
    body_schema: Schema | None = None


def _envelope(**fields: Schema) -> Schema:
    return obj(fields)


_CHANGE = _envelope(infrastructure=ref("Infrastructure"), operation=ref("Operation"))
_STARTS = (409, 422, 424, 502)
_PAGE = (
    ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size (default 100)."),
    ("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}, "Items to skip."),
)
_APPLY = (
    ("allow_over_budget", _BOOL_QUERY, "Apply even when the plan exceeds the spec's budget."),
    ("rollback", _BOOL_QUERY, "On failure, delete what this operation created (default true)."),
    ("allow_data_loss", _BOOL_QUERY,
     "Apply even when the plan replaces or deletes a resource that keeps data (a database, a "
     "volume), destroying it; without it such a plan is refused with DATA_LOSS (422)."),
)  # fmt: skip
_REPLACE_PLACEMENT = (
    ("replace_placement", _BOOL_QUERY,
     "A provider: any spec: place it again, though its infrastructure exists (otherwise it "
     "keeps the provider and region it lives in). A move to another region of its provider "
     "replaces every resource; one to another provider is refused (422 at `placement`: "
     "destroy, then apply). May be given in the body instead, beside the spec: "
     '`"replace_placement": true`.'),
)  # fmt: skip

_COSTS = (
    ("month", {"type": "string", "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"},
     "The calendar month, YYYY-MM (default: the current one); 422 naming `month` when "
     "malformed."),
    ("actual", _BOOL_QUERY,
     "Add each provider's own bill for the month (the whole account's; needs credentials)."),
)  # fmt: skip

OPERATIONS: tuple[Op, ...] = (
    Op("GET", "/", "service_info", "service", "What this service is and offers.",
       obj({"service": {"type": "string"}, "version": {"type": "string"},
            "description": {"type": "string"},
            "capabilities": {"type": "array", "items": {"type": "string"}},
            "endpoints": {"type": "object", "additionalProperties": {"type": "string"}},
            "authentication": {"type": "array", "items": {"type": "string"}},
            "sandbox": {"type": ["string", "null"]}}), public=True),
    Op("GET", "/openapi.json", "openapi_document", "openapi", "This document.",
       {"type": "object"}, public=True),
    Op("GET", "/api/v1/health", "health", "health",
       "Whether the store can be read and written (200 healthy, 503 degraded), and the "
       "providers installed, with those degraded (status degraded, still 200). Needs no "
       "credentials; sent along, they are checked, and the "
       "answer adds the caller's workspace's running operations.",
       obj({"status": {"type": "string", "enum": ["healthy", "degraded"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "service": {"type": "string"}, "version": {"type": "string"},
            "providers": {"type": "array", "items": {"type": "string"}},
            "store": ref("StoreHealth"),
            "degraded_providers": {
                "type": "array", "items": ref("DegradedProvider"),
                "description": "Providers whose API failed repeatedly: new operations for "
                "them are refused (503 PROVIDER_DEGRADED) until they answer again. The "
                "status is then degraded, yet the answer 200: this replica serves, and "
                "another would fare no better."},
            "operations_running": {
                "type": "integer", "minimum": 0,
                "description": "The caller's workspace's operations running in this process; "
                "only for an authenticated caller (or without authentication)."}},
           optional=("operations_running",)),
       public=True, optional_auth=True, same_body=(503,)),
    Op("GET", "/metrics", "metrics", "metrics",
       "The service's counters in Prometheus' text format (OpenMetrics when asked for): "
       "requests, operations, steps, cloud API calls, throttling, waits, degraded providers. "
       "With ATLAS_METRICS_TOKEN set, send it as a bearer token; without it, served only by "
       "a server without authentication (403 otherwise).",
       {"type": "string"}, public=True, store=False, errors=(401, 403),
       media=("text/plain", "application/openmetrics-text"), scheme="metricsToken"),
    Op("GET", "/api/v1/providers", "list_providers", "providers",
       "Installed providers: whether the caller can create with them, and their prices.",
       _envelope(providers={"type": "array", "items": ref("Provider")},
                 count={"type": "integer", "minimum": 0}), store=False),
    Op("GET", "/api/v1/stats", "stats", "stats",
       "Counts and monthly cost of the workspace, from the records.",
       _envelope(stats=ref("Stats"))),
    Op("POST", "/api/v1/infrastructure", "create_infrastructure", "create_infrastructure",
       "Validate, check the budget and start creating; answers with the operation at once.",
       _CHANGE, status=201, body=True, errors=_STARTS, query=_APPLY, audited=True),
    Op("GET", "/api/v1/infrastructure", "list_infrastructures", "infrastructure",
       "The workspace's infrastructures, newest first (destroyed ones included).",
       _envelope(infrastructures={"type": "array", "items": ref("Infrastructure")},
                 count={"type": "integer", "minimum": 0},
                 limit={"type": "integer", "minimum": 1},
                 offset={"type": "integer", "minimum": 0},
                 next_offset={"type": ["integer", "null"]}),
       errors=(422,), query=_PAGE),
    Op("GET", "/api/v1/infrastructure/{id}", "get_infrastructure", "infrastructure_item",
       "One infrastructure with its resources, provider ids and costs.",
       _envelope(infrastructure=ref("Infrastructure")), errors=(404,)),
    Op("PUT", "/api/v1/infrastructure/{id}", "update_infrastructure", "update_infrastructure",
       "Make the infrastructure match a new spec (same name); answers with the operation.",
       _CHANGE, body=True, errors=(404, *_STARTS), query=(*_APPLY, *_REPLACE_PLACEMENT),
       audited=True),
    Op("DELETE", "/api/v1/infrastructure/{id}", "destroy_infrastructure",
       "destroy_infrastructure",
       "Delete every resource (the record stays, destroyed); answers with the operation. "
       "Imported resources are left in place at the provider (step release) unless "
       "include_imported=true.",
       _CHANGE, errors=(404, *_STARTS), audited=True,
       query=(("include_imported", _BOOL_QUERY,
               "Delete imported resources too (by default they are left in place)."),)),
    Op("GET", "/api/v1/infrastructure/{id}/operations", "list_infrastructure_operations",
       "infrastructure_operations", "The infrastructure's operations, newest first.",
       _envelope(operations={"type": "array", "items": ref("Operation")},
                 count={"type": "integer", "minimum": 0}), errors=(404,)),
    Op("GET", "/api/v1/operations/{id}", "get_operation", "operation",
       "One operation: status, progress, steps, cost change.",
       _envelope(operation=ref("Operation")), errors=(404,)),
    Op("GET", "/api/v1/operations/{id}/events", "operation_events", "operation_events",
       "The operation's progress as server-sent events until it ends (step, lifecycle "
       "events, operation, then end).", None, errors=(404,)),
    Op("POST", "/api/v1/plan", "plan", "plan",
       "What applying the spec would change, with the cost of each change; a resource "
       "with import is planned as an import (read from the provider; nothing is created).",
       _envelope(plan=ref("Plan")), body=True, errors=(424, 502),
       query=(("refresh", _BOOL_QUERY,
               "Read the resources back from the provider first (needs credentials)."),
              *_REPLACE_PLACEMENT)),
    Op("POST", "/api/v1/estimate-cost", "estimate_cost", "estimate_cost",
       "What the spec costs, per resource and line item; needs no credentials. A portable "
       "spec is placed first (the Estimate's `placement` says where and why); with "
       '`"compare": true` in the body (or `?compare=true`) the answer is a Comparison of '
       "every placement its constraints allow, cheapest first (as `atlas estimate --compare "
       "--json`).",
       {"anyOf": [ref("Estimate"), ref("Comparison")]}, body=True, store=False,
       query=(("duration", _DURATION_QUERY,
               "Also price a run this long (`10m`, `36h`, `45d`, or `1d12h`), each line under "
               "its price's billing rule, which the line names (as `atlas estimate "
               "--duration`); 422 naming `duration` when malformed, or given with compare."),
              ("compare", _BOOL_QUERY,
               "Compare every placement of a portable spec (as the body's `compare`)."))),
    Op("GET", "/api/v1/costs", "workspace_costs", "costs",
       "What the workspace's infrastructures have cost in a calendar month (UTC), per "
       "resource, from the journal and each price's billing rule, with a forecast to the "
       "month's end (as `atlas costs --json`).",
       _envelope(costs=ref("CostReport")), errors=(422,), query=_COSTS),
    Op("GET", "/api/v1/infrastructure/{id}/costs", "infrastructure_costs",
       "infrastructure_costs", "The month's cost of one infrastructure, as /api/v1/costs.",
       _envelope(costs=ref("CostReport")), errors=(404, 422), query=_COSTS),
    Op("GET", "/api/v1/budget", "get_budget", "budget",
       "The workspace's own budget (null when none is set).",
       _envelope(budget=nullable(ref("Budget")))),
    Op("PUT", "/api/v1/budget", "set_budget", "set_budget",
       "Set the workspace's budget: monthly_limit, currency, thresholds (percentages, default "
       "[50, 80, 100]) and include_forecast, as a spec's budget; each threshold crossed sends "
       "one cost.threshold_crossed event a month.",
       _envelope(budget=ref("Budget")), body=True, errors=(400, 413, 415, 422), audited=True,
       body_schema=ref("BudgetInput")),
    Op("DELETE", "/api/v1/budget", "clear_budget", "clear_budget",
       "Remove the workspace's budget.", _envelope(budget={"type": "null"}), audited=True),
    Op("GET", "/api/v1/audit", "list_audit", "audit",
       "The workspace's audit trail, oldest first: one entry per request that changes "
       "something (refused ones too) and one when an operation it started ends; each entry "
       "chained to the one before by its hash.",
       _envelope(entries={"type": "array", "items": ref("AuditEntry")},
                 count={"type": "integer", "minimum": 0},
                 next_after={"type": ["integer", "null"],
                             "description": "Pass as after for the next page; null at the end."}),
       errors=(422,),
       query=(("after", {"type": "integer", "minimum": 0},
               "Entries after this seq (default 0: from the first)."),
              ("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
               "Page size (default 100)."))),
)  # fmt: skip

#: From an answer that started an operation to what can be asked next.
_LINKS: dict[str, Any] = {
    name: {"operationId": target, "parameters": {"id": f"$response.body#/{field}/id"}}
    for name, target, field in (
        ("GetInfrastructure", "get_infrastructure", "infrastructure"),
        ("UpdateInfrastructure", "update_infrastructure", "infrastructure"),
        ("DestroyInfrastructure", "destroy_infrastructure", "infrastructure"),
        ("ListOperations", "list_infrastructure_operations", "infrastructure"),
        ("GetOperation", "get_operation", "operation"),
        ("FollowOperation", "operation_events", "operation"),
    )
}
_STREAM: Schema = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["step", "operation", "end", *EVENT_TYPES]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string"},
    },
    "description": "One event; data is JSON: a Step, an Event, an Operation, or for end "
    '{"operation_id", "status", "error"}.',
}


def _request_body(op: Op, settings: Settings) -> dict[str, Any]:
    if op.body_schema is not None:
        return {"required": True, "content": {"application/json": {"schema": op.body_schema}}}
    media: dict[str, Any] = {"schema": ref("InfrastructureSpec")}
    examples = _examples(settings)
    if examples:
        media["examples"] = examples
    return {"required": True, "content": {"application/json": media}}


def _operation(op: Op, settings: Settings) -> dict[str, Any]:
    statuses = set(op.errors) | {500}
    if op.body:  # (a spec is heavy work, which has a deadline: 503)
        statuses |= {400, 413, 415, 422} | (set() if op.body_schema else {503})
    statuses.add(422)  # an unknown query parameter is refused everywhere
    if settings.auth.enabled and (not op.public or op.optional_auth):
        statuses |= {400, 401}  # 400: a credential header given twice
    if not op.public and op.store:
        statuses.add(503)
    if not settings.auth.enabled:
        statuses.add(403)
    ok = _success_content(op)
    responses: dict[str, Any] = {
        str(op.status): {"description": "Success.", "headers": _headers(), "content": ok}
    }
    for status in op.same_body:
        statuses.discard(status)
        responses[str(status)] = {**responses[str(op.status)], "description": "Degraded."}
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "x-name": op.name,
        "responses": responses,
    }
    params = [_ID] if "{id}" in op.path else []
    params += [
        {"name": n, "in": "query", "required": False, "schema": s, "description": d}
        for n, s, d in op.query
    ]
    if params:
        out["parameters"] = params
    if op.body:
        out["requestBody"] = _request_body(op, settings)
    if op.response is _CHANGE:
        responses[str(op.status)]["links"] = _LINKS
    if op.public and settings.auth.enabled:
        out["security"] = []
    if op.scheme is not None and settings.monitoring.metrics_token is not None:
        out["security"] = [{op.scheme: []}]
    return out


def _success_content(op: Op) -> dict[str, Any]:
    if op.response is None:
        return {"text/event-stream": {"schema": _STREAM}}
    return {media: {"schema": op.response} for media in op.media}


def _examples(settings: Settings) -> dict[str, Any]:
    """One example spec per installed provider that declares one (``ProviderInfo.example``)."""
    registry = settings.registry
    infos = (registry.get(name) for name in registry.names())
    return {info.name: {"value": dict(info.example)} for info in infos if info.example}


def _headers() -> dict[str, Any]:
    return {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}


def _security(settings: Settings) -> tuple[dict[str, Any], list[dict[str, list[str]]]]:
    schemes: dict[str, Any] = {}
    if settings.auth.jwt_secret is not None:
        schemes["bearerJWT"] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "HS256, signed with the platform's shared secret; claims "
            "workspace_id, user_id and exp.",
        }
    if settings.auth.api_keys.keys:
        schemes["apiKey"] = {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "A workspace's API key (also accepted as Authorization: Bearer).",
        }
    return schemes, [{name: []} for name in schemes]


def build_document(settings: Settings) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, settings)
    schemes, security = _security(settings)
    error = {"application/json": {"schema": ref("Error")}}
    responses = {
        f"E{status}": {"description": text, "headers": _headers(), "content": error}
        for status, text in _ERRORS.items()
    }
    responses["E401"]["headers"] = {
        **_headers(),
        "WWW-Authenticate": {"required": True, "schema": {"type": "string"}},
    }
    components: dict[str, Any] = {
        "schemas": component_schemas(settings.registry),
        "responses": responses,
        "headers": {
            "RequestId": {
                "description": "The request's id (yours if you sent a plain X-Request-ID).",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "atlas",
            "version": settings.version,
            "description": "Declarative cloud infrastructure: validate and price a spec, plan "
            "it, apply it in the background and follow the operation. Money is a JSON number "
            "rounded to the cent (hourly rates keep their published decimals), in the ISO "
            "4217 currency named beside it: the one its provider bills in.",
        },
        "paths": paths,
        "components": components,
    }
    if schemes:
        document["security"] = security
    if settings.monitoring.metrics_token is not None:  # /metrics' own, in no global list
        schemes["metricsToken"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "The server's metrics token (ATLAS_METRICS_TOKEN).",
        }
    if schemes:
        components["securitySchemes"] = schemes
    return document
