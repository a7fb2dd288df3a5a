"""Records as the JSON the callers read (shapes from the platform's contract, extended).

One shape on every surface: the HTTP API answers with it (:mod:`atlas.server` re-exports it as
``atlas.server.responses``) and ``atlas COMMAND --json`` prints it. It lives outside the
server package because the server is an optional extra and the command line is not.

Money is a JSON number rounded half-up to the cent, in the ISO 4217 ``currency`` sent beside
it (the one its provider bills in): the library keeps ``Decimal`` inside, and rounds only here,
at the edge. Times are ISO 8601 in UTC with a ``Z``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

# Types only: the command line imports this module for `--json`, and what it describes is
# already loaded by then.
if TYPE_CHECKING:
    from atlas.cost.accrual import CostReport
    from atlas.cost.estimate import Estimate
    from atlas.facade import AsyncAtlas, Drift, InfrastructureView
    from atlas.lifecycle.plan import Plan
    from atlas.model.cloud import ResourceState
    from atlas.model.infrastructure import Budget, InfrastructureSpec
    from atlas.model.records import OperationRecord, ResourceRecord, StepRecord
    from atlas.store.base import Stats

__all__ = [
    "actual_json",
    "amount",
    "budget_json",
    "drift_json",
    "estimate_json",
    "infrastructure_json",
    "iso",
    "operation_json",
    "placed_estimate_json",
    "plan_json",
    "state_json",
    "stats_json",
    "step_json",
]

_CENT = Decimal("0.01")
_UNDER_WAY = ("pending", "in_progress")


def amount(value: Decimal) -> float:
    """Rounded half-up to the cent; ``+ 0`` so that no ``-0.0`` reaches a caller."""
    try:
        return float(value.quantize(_CENT, ROUND_HALF_UP) + 0)
    except InvalidOperation:  # more digits than a context holds: cents do not matter there
        return float(value)


def iso(time: dt.datetime | None) -> str | None:
    if time is None:
        return None
    return time.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def infrastructure_json(
    view: InfrastructureView, running: OperationRecord | None = None
) -> dict[str, Any]:
    """An infrastructure as callers read it; with ``running``, an apply still under way, its
    spec, tags and monthly cost are those the apply works toward (the record keeps the last
    spec applied in full, which a first apply has not reached yet)."""
    infra = view.infrastructure
    spec = dict(infra.spec)
    cost, currency = infra.monthly_cost, infra.currency
    if running is not None and running.kind == "apply" and running.status in _UNDER_WAY:
        spec = dict(running.spec)
        before = infra.monthly_cost if infra.currency == running.currency else Decimal(0)
        cost, currency = before + running.cost_change, running.currency
    return {
        "id": infra.id,
        "name": infra.name,
        "workspace_id": infra.workspace,
        "provider": infra.provider,
        "region": infra.region,
        "status": infra.status,
        "tags": dict(spec.get("tags") or {}),
        "estimated_monthly_cost": amount(cost),
        "currency": currency,
        "resources": [_resource_json(r) for r in view.resources],
        "spec": spec or None,
        "placement": _placement(spec),
        "created_at": iso(infra.created_at),
        "updated_at": iso(infra.updated_at),
    }


def _placement(spec: dict[str, Any]) -> dict[str, Any] | None:
    """Where a ``provider: any`` spec was placed and why, as recorded (``None`` otherwise)."""
    if "placed" not in spec:
        return None
    from atlas.portable.record import placed_json  # noqa: PLC0415

    return placed_json(spec)


def _resource_json(record: ResourceRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "type": record.type,
        "status": record.status,
        "provider_ids": [o.id for o in record.objects],
        "objects": [
            {"id": o.id, "name": o.name, "status": o.status, "attributes": dict(o.attributes)}
            for o in record.objects
        ],
        "monthly_cost": None if record.monthly_cost is None else amount(record.monthly_cost),
        "currency": record.currency,
        "specifications": dict(record.spec.get("specifications") or {}),
        "operation_id": record.operation_id,
        "updated_at": iso(record.updated_at),
        "imported": record.imported,
    }


def operation_json(op: OperationRecord, steps: Sequence[StepRecord]) -> dict[str, Any]:
    return {
        "id": op.id,
        "infrastructure_id": op.infrastructure_id,
        "workspace_id": op.workspace,
        "kind": op.kind,
        "status": op.status,
        "total_steps": op.total_steps,
        "completed_steps": op.completed_steps,
        "current_step": op.current_step,
        "created_resources": list(op.created_resources),
        "cost_change": amount(op.cost_change),
        "currency": op.currency,
        "error": op.error,
        "started_at": iso(op.started_at),
        "finished_at": iso(op.finished_at),
        "steps": [step_json(s) for s in steps],
    }


def step_json(step: StepRecord) -> dict[str, Any]:
    return {
        "index": step.index,
        "resource": step.resource,
        "type": step.type,
        "action": step.action,
        "status": step.status,
        "provider_ids": list(step.provider_ids),
        "error": step.error,
        "note": step.note,
        "started_at": iso(step.started_at),
        "finished_at": iso(step.finished_at),
    }


def stats_json(stats: Stats) -> dict[str, Any]:
    total = stats.estimated_monthly_cost
    return {
        "total_infrastructures": stats.total_infrastructures,
        "active_infrastructures": stats.active_infrastructures,
        "total_resources": stats.total_resources,
        # One figure while every infrastructure is billed in one currency; null (with the
        # figures by currency beside it) when two can't be added up.
        "estimated_monthly_cost": None if total is None else amount(total),
        "currency": stats.currency,
        "estimated_monthly_cost_by_currency": {
            c: amount(a) for c, a in stats.monthly_costs.items()
        },
        "operations_in_progress": stats.operations_in_progress,
    }


def estimate_json(estimate: Estimate) -> dict[str, Any]:
    """The library's own shape (monthly figures to the cent; hourly rates keep the
    provider's five decimals, the precision they are published with)."""
    return estimate.to_dict()


def placed_estimate_json(spec: InfrastructureSpec, estimate: Estimate) -> dict[str, Any]:
    """:func:`estimate_json`, with where a portable spec was placed and why (``placement``)."""
    out = estimate_json(estimate)
    if spec.placement is not None:
        from atlas.portable.report import decision_json  # noqa: PLC0415

        out["placement"] = decision_json(spec.placement)
    return out


def plan_json(plan: Plan) -> dict[str, Any]:
    out = plan.to_dict()
    if plan.budget is not None:
        out["budget"]["monthly_limit"] = amount(plan.budget.monthly_limit)
    return out


def drift_json(drift: Drift) -> dict[str, Any]:
    """What a refresh found about one resource: ``deleted`` or ``changed``, and how."""
    return {"resource": drift.resource, "kind": drift.kind, "details": list(drift.details)}


def state_json(state: ResourceState) -> dict[str, Any]:
    """A resource as it exists at the provider (what reconcile finds), with its objects."""
    return {
        "type": state.type,
        "name": state.name,
        "objects": [
            {"id": o.id, "name": o.name, "status": o.status, "attributes": dict(o.attributes)}
            for o in state.objects
        ],
    }


async def actual_json(atlas: AsyncAtlas, report: CostReport) -> list[dict[str, Any]]:
    """What each provider of the report's infrastructures says its bill is for the month
    (the whole account's), or ``"reported": false`` when it reports no charges."""
    out: list[dict[str, Any]] = []
    for name in sorted({i.provider for i in report.infrastructures}):
        charges = await atlas.actual_costs(name, month=report.period)
        if charges is None:
            out.append({"provider": name, "reported": False})
            continue
        out.append(
            {
                "provider": name,
                "reported": True,
                "amount": amount(charges.amount),
                "currency": charges.currency,
                "final": charges.final,
                "source": charges.source,
                "generated_at": None
                if charges.generated_at is None
                else charges.generated_at.isoformat(),
            }
        )
    return out


def budget_json(budget: Budget) -> dict[str, Any]:
    """A workspace's budget, as ``GET /api/v1/budget`` and ``atlas budget show --json`` give it."""
    return {
        "monthly_limit": amount(budget.monthly_limit),
        "currency": budget.currency,
        "thresholds": list(budget.thresholds),
        "include_forecast": budget.include_forecast,
    }
