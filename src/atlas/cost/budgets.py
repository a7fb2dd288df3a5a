"""Budget alerts: each threshold of a budget crossed sends one ``cost.threshold_crossed`` event
a month.

A workspace's own budget (set with ``atlas budget set`` or ``PUT /api/v1/budget``) watches every
infrastructure of the workspace; an infrastructure's (``budget:`` in its spec, as last applied)
watches it alone. What is compared with a threshold is the month to date (from the journal,
:mod:`atlas.cost.accrual`), or with ``include_forecast`` the month to date and the forecast to
the month's end. The thresholds crossed are recorded in the store with the event, in one
transaction (:meth:`~atlas.store.base.StateStore.cross_threshold`), so a threshold is alerted
once a month (and at least once: the event is in the outbox, delivered like every other) however
many processes check, and several thresholds crossed at once are queued in ascending order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from atlas.cost.accrual import CostReport, workspace_costs
from atlas.cost.money import Money
from atlas.events.payload import new_event
from atlas.exceptions import AtlasError
from atlas.model.infrastructure import Budget
from atlas.model.records import EventRecord, InfrastructureRecord
from atlas.providers.registry import ProviderRegistry
from atlas.store.base import StateStore

__all__ = ["Crossing", "check_budgets", "check_workspace", "spec_budget", "threshold_warnings"]

WORKSPACE_SCOPE = "workspace"


@attrs.frozen
class Crossing:
    """A threshold crossed: the event queued for it."""

    scope: str
    threshold: int
    event: EventRecord


def spec_budget(infra: InfrastructureRecord, registry: ProviderRegistry) -> Budget | None:
    """The budget of the spec last applied to ``infra``, if it has one (and it still
    validates)."""
    from atlas.spec.validate import validate_budget  # noqa: PLC0415 - not for every import

    raw = infra.spec.get("budget") if infra.spec else None
    if not isinstance(raw, Mapping):
        return None
    try:
        return validate_budget(raw, registry, default_currency=infra.currency)
    except AtlasError:
        return None


def check_budgets(
    store: StateStore, registry: ProviderRegistry, *, now: dt.datetime
) -> list[Crossing]:
    """Every workspace's budgets, checked once; the thresholds newly crossed."""
    out: list[Crossing] = []
    for workspace in store.workspaces():
        out.extend(check_workspace(store, registry, workspace, now=now))
    return out


def check_workspace(
    store: StateStore, registry: ProviderRegistry, workspace: str, *, now: dt.datetime
) -> list[Crossing]:
    """The workspace's budget and its infrastructures' budgets, checked as of ``now``."""
    report = workspace_costs(store, registry, workspace, now=now)
    out: list[Crossing] = []
    budget = store.get_budget(workspace)
    if budget is not None and report.currency in (None, budget.currency):
        amount = _watched(report, budget, None)
        if amount is not None:
            watch = _Watch(workspace, WORKSPACE_SCOPE, None, budget, amount)
            out += _cross(store, watch, report, now)
    for infra_cost in report.infrastructures:
        infra = store.get_infrastructure(workspace, infra_cost.id)
        own = spec_budget(infra, registry) if infra is not None else None
        if infra is None or own is None or own.currency != infra.currency:
            continue
        amount = _watched(report, own, infra.id)
        if amount is not None:
            watch = _Watch(workspace, f"infrastructure:{infra.id}", infra, own, amount)
            out += _cross(store, watch, report, now)
    return out


def _watched(report: CostReport, budget: Budget, infra_id: str | None) -> Decimal | None:
    """What the budget compares with its thresholds: month to date, or with the forecast."""
    if infra_id is None:
        if report.currency is None and report.infrastructures:
            return None  # several currencies: nothing to add up
        return report.forecast if budget.include_forecast else report.accrued
    found = next(i for i in report.infrastructures if i.id == infra_id)
    return found.forecast if budget.include_forecast else found.accrued


@attrs.frozen
class _Watch:
    """One budget being checked: whose, over what, and the amount it is compared with."""

    workspace: str
    scope: str
    infra: InfrastructureRecord | None
    budget: Budget
    amount: Decimal


def _cross(
    store: StateStore, watch: _Watch, report: CostReport, now: dt.datetime
) -> list[Crossing]:
    workspace, scope, infra, budget = watch.workspace, watch.scope, watch.infra, watch.budget
    done = set(store.crossed_thresholds(workspace, scope, report.period))
    out = []
    for threshold in sorted(budget.thresholds):
        level = budget.monthly_limit * threshold / 100
        if threshold in done or watch.amount < level:
            continue
        data = _data(watch, threshold, level, report)
        event = new_event(
            "cost.threshold_crossed",
            workspace=workspace,
            infrastructure_id=infra.id if infra else "",
            infrastructure_name=infra.name if infra else "",
            operation_id=None,
            cost_change=Money.zero(budget.currency),
            data=data,
            clock=lambda: now,
        )
        if store.cross_threshold(scope, report.period, threshold, event):
            out.append(Crossing(scope, threshold, event))
    return out


def _data(watch: _Watch, threshold: int, level: Decimal, report: CostReport) -> dict[str, Any]:
    scope, budget, amount = watch.scope, watch.budget, watch.amount
    return {
        "scope": "workspace" if scope == WORKSPACE_SCOPE else "infrastructure",
        "month": report.period,
        "threshold_percent": threshold,
        "threshold_amount": str(level.quantize(Decimal("0.01"))),
        "monthly_limit": str(budget.monthly_limit),
        "currency": budget.currency,
        "basis": "month_to_date_and_forecast" if budget.include_forecast else "month_to_date",
        "amount": str(amount.quantize(Decimal("0.01"))),
    }


def threshold_warnings(
    store: StateStore,
    workspace: str,
    *,
    spec_limit: Budget | None,
    cost_before: Decimal,
    cost_after: Decimal,
) -> list[str]:
    """What a plan should warn of: each threshold of the workspace's budget, or of the spec's,
    that the monthly cost crosses once the plan is applied (a whole month at the new rate:
    what the plan itself prices, so the warning does not depend on the day it is made)."""
    out: list[str] = []
    budget = store.get_budget(workspace)
    if budget is not None:
        total = store.stats(workspace).monthly_costs.get(budget.currency)
        if total is not None or not store.stats(workspace).monthly_costs:
            now = total or Decimal(0)
            out += _warn("the workspace budget", budget, now, now + cost_after - cost_before)
    if spec_limit is not None:
        out += _warn("the spec's budget", spec_limit, cost_before, cost_after)
    return out


def _warn(what: str, budget: Budget, before: Decimal, after: Decimal) -> list[str]:
    out = []
    for threshold in sorted(budget.thresholds):
        level = budget.monthly_limit * threshold / 100
        if before < level <= after:
            out.append(
                f"applying takes the monthly cost from {before:.2f} to {after:.2f} "
                f"{budget.currency}, across {threshold} % of {what} "
                f"({level:.2f} of {budget.monthly_limit} {budget.currency})"
            )
    return out
