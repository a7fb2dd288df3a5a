"""The JSON Schemas of the OpenAPI document: every body the service reads or writes.

Objects atlas writes are closed (``additionalProperties: false``), so a field added to a
response without its schema fails the tests that check every response against the document.
Free-form parts say so: a resource's ``specifications`` and ``attributes``, a plan's old and
new field values, an event's ``data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atlas.events import EVENT_TYPES
from atlas.portable.kinds import ANY as ANY_PROVIDER
from atlas.portable.kinds import PORTABLE_TYPES
from atlas.providers.registry import ProviderRegistry
from atlas.server.errors import CODES
from atlas.spec.validate import NAME_PATTERN

__all__ = ["component_schemas"]

Schema = dict[str, Any]

INFRA_STATUSES = [
    "pending",
    "provisioning",
    "active",
    "updating",
    "error",
    "destroying",
    "destroyed",
]
RESOURCE_STATUSES = ["pending", "creating", "active", "updating", "error", "deleting", "deleted"]
OPERATION_STATUSES = ["pending", "in_progress", "completed", "failed"]
STEP_STATUSES = ["pending", "running", "done", "failed", "timed_out", "rolled_back"]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(
    properties: Mapping[str, Schema], *, optional: tuple[str, ...] = (), **extra: Any
) -> Schema:
    """A closed object: every property required but those named ``optional``."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [k for k in properties if k not in optional],
        "properties": dict(properties),
        **extra,
    }


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer", "minimum": 0}
BOOLEAN: Schema = {"type": "boolean"}
FREE: Schema = {"type": "object", "additionalProperties": True}
ANY: Schema = {}
TIME: Schema = {"type": "string", "format": "date-time"}
MONEY: Schema = {
    "type": "number",
    "description": "An amount in the `currency` beside it, rounded half-up to the cent.",
}
RATE: Schema = {
    "type": "number",
    "description": "An amount an hour in the `currency` beside it, to the decimals providers "
    "publish rates with.",
}
CURRENCY: Schema = {
    "type": "string",
    "pattern": "^[A-Z]{3}$",
    "description": "The ISO 4217 code of the amounts beside it: what the provider bills in.",
}


def _spec(registry: ProviderRegistry) -> Schema:
    names = registry.names()
    providers = sorted({*names, *(alias for n in names for alias in registry.get(n).aliases)})
    types = sorted({t for n in names for t in registry.kinds(n)} | PORTABLE_TYPES)
    name = {"type": "string", "pattern": NAME_PATTERN.pattern}
    resource = obj(
        {
            "type": {"type": "string", "enum": types},
            "name": name,
            "specifications": {
                **FREE,
                "description": "The resource kind's fields: see the spec format reference.",
            },
            "import": {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                ],
                "description": "Provider ids of objects that exist already (made outside "
                "atlas) for this resource to adopt instead of creating: one id, or a list for "
                "a counted resource. The plan shows an import; destroy leaves them in place.",
            },
        },
        optional=("specifications", "import"),
    )
    budget = obj(
        {
            "monthly_limit": {
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10**15},
                    {"type": "string", "description": 'A decimal, such as "99.50".'},
                ],
                "description": "A positive amount; a string keeps every decimal.",
            },
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        optional=("currency",),
    )
    return obj(
        {
            "name": name,
            "provider": {
                "type": "string",
                "enum": sorted({*providers, ANY_PROVIDER}),
                "description": "A provider, or `any` to let atlas place a portable spec "
                "(docs/portable.md).",
            },
            "region": {
                "type": "string",
                "minLength": 1,
                "description": "Required, except with `provider: any` (placement.regions).",
            },
            "placement": {
                **obj(
                    {
                        "providers": {"type": "array", "items": STRING},
                        "regions": {"type": "array", "items": STRING},
                        "features": {"type": "array", "items": STRING},
                        "budget": {"anyOf": [{"type": "number"}, STRING]},
                        "currency": CURRENCY,
                    },
                    optional=("providers", "regions", "features", "budget", "currency"),
                ),
                "description": "With `provider: any`: where it may be placed.",
            },
            "resources": {"type": "array", "items": resource},
            "tags": {"type": "object", "additionalProperties": STRING},
            "budget": nullable(budget),
            "compare": {
                **BOOLEAN,
                "description": "POST /api/v1/estimate-cost only: true answers a Comparison "
                "of every placement instead of one estimate.",
            },
        },
        optional=("region", "placement", "tags", "budget", "compare"),
        description="An infrastructure spec. Validation goes further than this schema "
        "(references between resources, sizes, regions): its 422 lists every problem with "
        "its path, e.g. resources[1].specifications.size.",
    )


def _records() -> dict[str, Schema]:
    cloud_object = obj(
        {
            "id": STRING,
            "name": STRING,
            "status": {"type": "string", "enum": RESOURCE_STATUSES},
            "attributes": FREE,
        }
    )
    resource = obj(
        {
            "name": STRING,
            "type": STRING,
            "status": {"type": "string", "enum": RESOURCE_STATUSES},
            "provider_ids": {"type": "array", "items": STRING},
            "objects": {"type": "array", "items": cloud_object},
            "monthly_cost": nullable(MONEY),
            "currency": CURRENCY,
            "specifications": FREE,
            "operation_id": STRING,
            "updated_at": TIME,
            "imported": {
                "type": "boolean",
                "description": "Adopted by an import, not created by atlas: a destroy keeps it.",
            },
        }
    )
    infrastructure = obj(
        {
            "id": STRING,
            "name": STRING,
            "workspace_id": STRING,
            "provider": STRING,
            "region": STRING,
            "status": {"type": "string", "enum": INFRA_STATUSES},
            "tags": {"type": "object", "additionalProperties": STRING},
            "estimated_monthly_cost": MONEY,
            "currency": CURRENCY,
            "resources": {"type": "array", "items": resource},
            "spec": nullable({**FREE, "description": "The spec last applied (canonical)."}),
            "placement": {
                **nullable(ref("PlacementRecord")),
                "description": "For a provider: any spec: where it was placed and why, as "
                "recorded with the infrastructure (the spec's `placed`).",
            },
            "created_at": TIME,
            "updated_at": TIME,
        }
    )
    step = obj(
        {
            "index": INTEGER,
            "resource": STRING,
            "type": STRING,
            "action": {
                "type": "string",
                "enum": ["create", "update", "delete", "import", "release", "prepare"],
            },
            "status": {"type": "string", "enum": STEP_STATUSES},
            "provider_ids": {"type": "array", "items": STRING},
            "error": nullable(STRING),
            "note": nullable(STRING),
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
        }
    )
    operation = obj(
        {
            "id": STRING,
            "infrastructure_id": STRING,
            "workspace_id": STRING,
            "kind": {"type": "string", "enum": ["apply", "destroy"]},
            "status": {"type": "string", "enum": OPERATION_STATUSES},
            "total_steps": INTEGER,
            "completed_steps": INTEGER,
            "current_step": nullable(STRING),
            "created_resources": {"type": "array", "items": STRING},
            "cost_change": {
                **MONEY,
                "description": "Monthly cost after minus before, in `currency`.",
            },
            "currency": CURRENCY,
            "error": nullable(STRING),
            "started_at": TIME,
            "finished_at": nullable(TIME),
            "steps": {"type": "array", "items": ref("Step")},
        }
    )
    event = obj(
        {
            "id": STRING,
            "type": {"type": "string", "enum": list(EVENT_TYPES)},
            "time": TIME,
            "workspace_id": STRING,
            "infrastructure_id": STRING,
            "infrastructure_name": STRING,
            "operation_id": nullable(STRING),
            "cost_change": MONEY,
            "cost_change_exact": STRING,
            "currency": CURRENCY,
            "data": FREE,
        },
        description="A lifecycle event, as webhooks carry it (an event stream's data).",
    )
    return {
        "CloudObject": cloud_object,
        "Resource": resource,
        "Infrastructure": infrastructure,
        "Step": step,
        "Operation": operation,
        "Event": event,
    }


def _costs() -> dict[str, Schema]:
    field_change = obj({"path": STRING, "old": ANY, "new": ANY})
    change = obj(
        {
            "action": {
                "type": "string",
                "enum": ["create", "update", "replace", "delete", "import", "release"],
            },
            "resource_name": STRING,
            "resource_type": STRING,
            "reason": STRING,
            "fields": {"type": "array", "items": field_change},
            "import_ids": {
                "type": "array",
                "items": STRING,
                "description": "For an import: the provider ids adopted.",
            },
            "needs_replacement": {
                **nullable(STRING),
                "description": "For an import: why the objects would need replacing to match "
                "the spec (such a plan is refused: change the spec to match, or drop import).",
            },
            "destroys_data": {
                **BOOLEAN,
                "description": "A replacement or delete of a resource that keeps data (a "
                "database, a volume): its data is destroyed; applying needs allow_data_loss.",
            },
            "monthly_cost_before": nullable(MONEY),
            "monthly_cost_after": nullable(MONEY),
            "cost_change": nullable(MONEY),
        }
    )
    budget = obj({"monthly_limit": MONEY, "currency": CURRENCY, "over_budget": BOOLEAN})
    account_step = obj(
        {
            "type": STRING,
            "name": STRING,
            "region": STRING,
            "reason": STRING,
            "details": {"type": "object", "additionalProperties": True},
        }
    )
    plan = obj(
        {
            "infrastructure": STRING,
            "changes": {"type": "array", "items": change},
            "cost_before": MONEY,
            "cost_after": MONEY,
            "cost_change": MONEY,
            "currency": CURRENCY,
            "budget": nullable(budget),
            "unpriced": {"type": "array", "items": STRING},
            "warnings": {
                "type": "array",
                "items": STRING,
                "description": "Budget thresholds (the workspace's or the spec's) this month's "
                "forecast would cross once the plan is applied.",
            },
            "account_steps": {
                "type": "array",
                "items": account_step,
                "description": "What the account needs first, outside the infrastructure "
                "(a region's default network); listed only by a plan that read the cloud.",
            },
            "placement": {
                **nullable(ref("PlacementRecord")),
                "description": "For a provider: any spec: where it is placed and why; kept "
                "where its infrastructure lives unless replace_placement.",
            },
        }
    )
    billing = obj(
        {
            "rule": STRING,
            "metering": {"type": "string", "enum": ["second", "hour"]},
            "minimum_seconds": INTEGER,
            "minimum_amount": MONEY,
            "cap_hours_per_month": INTEGER,
            "source": nullable(STRING),
            "as_of": nullable(STRING),
        }
    )
    line = obj(
        {
            "description": STRING,
            "sku": STRING,
            "quantity": {"type": "number"},
            "unit": STRING,
            "monthly_cost": nullable(MONEY),
            "hourly_cost": nullable(RATE),
            "source": nullable(STRING),
            "unpriced": STRING,
            "run_cost": {
                **nullable(MONEY),
                "description": "With `duration`: what the line costs for the run, as its "
                "billing rule meters it (null when unpriced).",
            },
            "billing": {
                **nullable(billing),
                "description": "With `duration`: the billing rule that priced the line.",
            },
        },
        optional=("unpriced", "run_cost", "billing"),
    )
    resource = obj(
        {
            "resource_type": STRING,
            "resource_name": STRING,
            "estimated_cost": nullable(MONEY),
            "estimated_hourly_cost": nullable(RATE),
            "estimated_run_cost": {
                **nullable(MONEY),
                "description": "With `duration`: the resource's cost for the run.",
            },
            "line_items": {"type": "array", "items": line},
            "unpriced": {"type": "array", "items": STRING},
        },
        optional=("unpriced", "estimated_run_cost"),
    )
    estimate = obj(
        {
            "estimated_monthly_cost": MONEY,
            "estimated_hourly_cost": RATE,
            "duration": {
                **obj({"text": STRING, "seconds": INTEGER}),
                "description": "The run priced, as asked (`?duration=`) and in seconds.",
            },
            "estimated_run_cost": {
                **MONEY,
                "description": "With `duration`: what the priced resources cost for the run.",
            },
            "currency": CURRENCY,
            "complete": {**BOOLEAN, "description": "False when some price is unknown."},
            "breakdown": {"type": "array", "items": resource},
            "catalogs": {
                "type": "array",
                "items": obj({"provider": STRING, "source": STRING, "effective_date": STRING}),
            },
            "placement": {
                **ref("PlacementDecision"),
                "description": "For a portable spec: where it was placed, and why.",
            },
        },
        optional=("duration", "estimated_run_cost", "placement"),
    )
    return {
        "PlannedChange": change,
        "Plan": plan,
        "ResourceEstimate": resource,
        "Estimate": estimate,
        "LineItem": line,
        **_portable(),
    }


def _portable() -> dict[str, Schema]:
    """The answer of ``estimate-cost`` with ``compare`` (atlas.portable.report)."""
    native = {**FREE, "description": "A native resource document, as in a spec."}
    lines = {"type": "array", "items": ref("LineItem")}
    choice = {
        "resource": STRING,
        "offering": STRING,
        "reason": STRING,
        "monthly_cost": nullable(MONEY),
        "resources": {"type": "array", "items": native},
    }
    decision = obj(
        {
            "provider": STRING,
            "region": STRING,
            "monthly_cost": nullable(MONEY),
            "currency": CURRENCY,
            "reason": STRING,
            "runner_up": nullable(
                obj(
                    {
                        "provider": STRING,
                        "region": STRING,
                        "monthly_cost": nullable(MONEY),
                        "difference": nullable(MONEY),
                    }
                )
            ),
            "choices": {"type": "array", "items": obj(choice)},
        }
    )
    candidate = obj(
        {
            "rank": INTEGER,
            "provider": STRING,
            "region": STRING,
            "region_group": STRING,
            "monthly_cost": nullable(MONEY),
            "currency": CURRENCY,
            "more_than_cheapest": nullable(MONEY),
            "choices": {
                "type": "array",
                "items": obj(
                    {
                        "resources": {"type": "array", "items": STRING},
                        "offering": STRING,
                        "reason": STRING,
                        "monthly_cost": nullable(MONEY),
                        "line_items": lines,
                    },
                    description="One answer, and the resources that got it.",
                ),
            },
            "support": obj({"resources": {"type": "array", "items": native}, "line_items": lines}),
        }
    )
    placement = obj(
        {
            "providers": {"type": "array", "items": STRING},
            "regions": {"type": "array", "items": STRING},
            "features": {"type": "array", "items": STRING},
            "budget": nullable(MONEY),
            "currency": CURRENCY,
        }
    )
    excluded = obj({"provider": STRING, "region": nullable(STRING), "reason": STRING})
    comparison = obj(
        {
            "placement": placement,
            "decision": nullable(ref("PlacementDecision")),
            "candidates": {"type": "array", "items": candidate},
            "excluded": {"type": "array", "items": excluded},
        },
        description="Every placement a portable spec's constraints allow, cheapest first "
        "(ties broken as docs/portable.md says), and what was left out and why.",
    )
    where = obj({"provider": STRING, "region": STRING})
    record = {
        **decision,
        "required": [*decision["required"], "kept", "decided_at", "moved_from"],
        "properties": {
            **decision["properties"],
            "kept": {
                **BOOLEAN,
                "description": "The placement recorded with the infrastructure, kept (not "
                "chosen afresh: another may be cheaper now; see runner_up).",
            },
            "decided_at": {
                **nullable(TIME),
                "description": "When the placement was first decided.",
            },
            "moved_from": {
                **nullable(where),
                "description": "A re-placement that moves the infrastructure to another "
                "region of its provider: where from (every resource is replaced).",
            },
        },
    }
    return {"PlacementDecision": decision, "PlacementRecord": record, "Comparison": comparison}


def _service() -> dict[str, Schema]:
    provider = obj(
        {
            "name": STRING,
            "title": STRING,
            "aliases": {"type": "array", "items": STRING},
            "status": {"type": "string", "enum": ["available", "disconnected", "estimate_only"]},
            "connected": BOOLEAN,
            "can_create": BOOLEAN,
            "sandbox": BOOLEAN,
            "credentials": {
                "type": "string",
                "enum": ["found", "missing", "unchecked", "not_needed"],
            },
            "credentials_error": nullable(STRING),
            "resource_types": {"type": "array", "items": STRING},
            "pricing": nullable(
                obj({"currency": CURRENCY, "effective_date": STRING, "source": STRING})
            ),
        }
    )
    store = obj(
        {
            "status": {
                "type": "string",
                "enum": ["ok", "degraded", "error"],
                "description": "ok; degraded: it reads but a write would fail (every change "
                "answers 503 meanwhile); error: it cannot be read.",
            },
            "backend": STRING,
            "schema_version": {"type": ["integer", "string", "null"]},
            "durable": BOOLEAN,
            "writable": BOOLEAN,
            "error": {**STRING, "description": "Why it is degraded or in error."},
        },
        optional=("backend", "schema_version", "durable", "writable", "error"),
    )
    stats = obj(
        {
            "total_infrastructures": INTEGER,
            "active_infrastructures": INTEGER,
            "total_resources": INTEGER,
            "estimated_monthly_cost": {
                **nullable(MONEY),
                "description": "The total in `currency`; null when the infrastructures are "
                "billed in several currencies, which cannot be added up.",
            },
            "currency": {
                **nullable(CURRENCY),
                "description": "What every live infrastructure is billed in; null when there "
                "is none, or several.",
            },
            "estimated_monthly_cost_by_currency": {
                "type": "object",
                "additionalProperties": MONEY,
                "propertyNames": CURRENCY,
                "description": "The total for each currency in use.",
            },
            "operations_in_progress": INTEGER,
            "month_to_date": {
                **nullable(MONEY),
                "description": "What the workspace has cost so far this calendar month (UTC), "
                "from the journal (GET /api/v1/costs); null across several currencies.",
            },
        }
    )
    degraded = obj(
        {
            "provider": STRING,
            "since": TIME,
            "last_error": {
                **STRING,
                "description": "The class of the last error (ServerError, ConnectError): "
                "never its message.",
            },
            "retry_after": {
                "type": "integer",
                "minimum": 0,
                "description": "Seconds until one operation may try it again (0: now).",
            },
        }
    )
    return {
        "Provider": provider,
        "StoreHealth": store,
        "Stats": stats,
        "DegradedProvider": degraded,
    }


def _errors() -> dict[str, Schema]:
    problem = obj({"path": STRING, "message": STRING})
    error = obj(
        {
            "error": {**STRING, "description": "The error's class name."},
            "message": STRING,
            "code": {"type": "string", "enum": list(CODES)},
            "request_id": STRING,
            "problems": {"type": "array", "items": problem},
            "operation_id": STRING,
            "infrastructure_id": STRING,
            "sources_tried": {"type": "array", "items": STRING},
            "resources": {
                "type": "array",
                "items": STRING,
                "description": "With DATA_LOSS: the resources whose data the plan destroys.",
            },
            "limit": {
                "type": "integer",
                "description": "For TOO_MANY_RESOURCES: the most resources a spec may have.",
            },
            # PROVIDER_DEGRADED: which provider, since when, the last error's class, and the
            # seconds Retry-After says.
            "provider": STRING,
            "degraded_since": TIME,
            "last_error": STRING,
            "retry_after": {"type": "integer", "minimum": 1},
        },
        optional=(
            "request_id",
            "problems",
            "operation_id",
            "infrastructure_id",
            "sources_tried",
            "resources",
            "limit",
            "provider",
            "degraded_since",
            "last_error",
            "retry_after",
        ),
    )
    return {"Problem": problem, "Error": error}


def _audit() -> dict[str, Schema]:
    text_or_null = nullable(STRING)
    entry = obj(
        {
            "seq": {
                "type": "integer",
                "minimum": 1,
                "description": "Its place in the trail, across every workspace.",
            },
            "id": STRING,
            "time": TIME,
            "workspace": text_or_null,
            "actor": {**text_or_null, "description": "The JWT's user_id, or api-key:<name>."},
            "auth_method": {
                "type": "string",
                "enum": ["jwt", "api_key", "none", "resume", "refused"],
            },
            "remote_address": text_or_null,
            "request_id": text_or_null,
            "action": {
                **STRING,
                "description": '"<METHOD> <route>" for a request, '
                '"operation.<kind>" for the end of an operation it started.',
            },
            "infrastructure_id": text_or_null,
            "infrastructure_name": text_or_null,
            "operation_id": text_or_null,
            "outcome": {
                **STRING,
                "description": "ok or refused for a request; the "
                "operation's status (completed, failed) for its end.",
            },
            "status_code": {"type": ["integer", "null"]},
            "error_code": text_or_null,
            "summary": {
                **FREE,
                "description": "Figures: the plan's changes by action, the "
                "cost change as a decimal string beside its currency.",
            },
            "prev_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        }
    )
    return {"AuditEntry": entry}


MONTH: Schema = {"type": "string", "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"}


def _accrued() -> dict[str, Schema]:
    figure = nullable(MONEY)
    daily = {
        "type": "array",
        "items": obj({"date": {"type": "string", "format": "date"}, "cost": MONEY}),
        "description": "Cost per day of the month so far; the days add up to month_to_date.",
    }
    resource = obj(
        {
            "name": STRING,
            "type": STRING,
            "live": {**BOOLEAN, "description": "Whether it still exists."},
            "seconds": {**INTEGER, "description": "How long it existed in the month."},
            "month_to_date": figure,
            "forecast": figure,
            "unpriced": {"type": "array", "items": STRING},
        },
        optional=("unpriced",),
    )
    infra = obj(
        {
            "id": STRING,
            "name": STRING,
            "provider": STRING,
            "region": STRING,
            "currency": CURRENCY,
            "month_to_date": MONEY,
            "forecast": MONEY,
            "complete": BOOLEAN,
            "daily": daily,
            "resources": {"type": "array", "items": resource},
        }
    )
    actual = obj(
        {
            "provider": STRING,
            "reported": BOOLEAN,
            "amount": MONEY,
            "currency": CURRENCY,
            "final": {**BOOLEAN, "description": "An issued invoice, not usage so far."},
            "source": STRING,
            "generated_at": nullable(TIME),
        },
        optional=("amount", "currency", "final", "source", "generated_at"),
    )
    report = obj(
        {
            "workspace": STRING,
            "month": MONTH,
            "start": TIME,
            "end": TIME,
            "as_of": TIME,
            "currency": nullable(CURRENCY),
            "month_to_date": figure,
            "forecast": figure,
            "complete": BOOLEAN,
            "totals": {
                "type": "object",
                "propertyNames": CURRENCY,
                "additionalProperties": obj({"month_to_date": MONEY, "forecast": MONEY}),
            },
            "daily": daily,
            "infrastructures": {"type": "array", "items": infra},
            "actual": {"type": "array", "items": actual},
        },
        optional=("actual",),
    )
    budget = obj(
        {
            "monthly_limit": MONEY,
            "currency": CURRENCY,
            "thresholds": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 1000},
                "description": "Percentages of monthly_limit, ascending.",
            },
            "include_forecast": {
                **BOOLEAN,
                "description": "Whether the forecast to the month's end counts too.",
            },
        }
    )
    given = obj(
        {
            "monthly_limit": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1e15},
            "currency": CURRENCY,
            "thresholds": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 1, "maximum": 1000},
            },
            "include_forecast": BOOLEAN,
        },
        optional=("currency", "thresholds", "include_forecast"),
    )
    return {"CostReport": report, "Budget": budget, "BudgetInput": given}


def component_schemas(registry: ProviderRegistry) -> dict[str, Schema]:
    return {
        "InfrastructureSpec": _spec(registry),
        **_records(),
        **_audit(),
        **_accrued(),
        **_costs(),
        **_service(),
        **_errors(),
    }
