"""What the state store keeps: infrastructures, their resources, operations, steps, events, the
audit trail, budgets and the budget thresholds already crossed.

Plain attrs records, JSON-safe in their ``dict`` fields, scoped by workspace. Status values are
the ones the platform's agents already read. An amount of money is a ``Decimal`` with its
ISO 4217 ``currency`` beside it (the model does not depend on :mod:`atlas.cost`, so it holds no
:class:`~atlas.cost.Money`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from atlas.model.cloud import CloudObject, ResourceState, ResourceStatus
from atlas.model.infrastructure import Budget

__all__ = [
    "AuditEntry",
    "BudgetRecord",
    "EventRecord",
    "EventType",
    "InfraStatus",
    "InfrastructureRecord",
    "OperationKind",
    "OperationRecord",
    "OperationStatus",
    "ResourceRecord",
    "StepAction",
    "StepRecord",
    "StepStatus",
    "ThresholdCrossing",
    "utcnow",
]

InfraStatus = Literal[
    "pending", "provisioning", "active", "updating", "error", "destroying", "destroyed"
]
OperationStatus = Literal["pending", "in_progress", "completed", "failed"]
OperationKind = Literal["apply", "destroy"]
#: ``import`` adopts objects that exist outside atlas; ``release`` lets an imported resource go
#: from the infrastructure, leaving it in place; ``prepare`` does an account-level step a
#: provider asks for before the infrastructure's own (it belongs to no resource).
StepAction = Literal["create", "update", "delete", "import", "release", "prepare"]
StepStatus = Literal["pending", "running", "done", "failed", "timed_out", "rolled_back"]
EventType = Literal[
    "infrastructure.created",
    "infrastructure.updated",
    "infrastructure.destroyed",
    "deployment.started",
    "deployment.completed",
    "deployment.failed",
    "cost.threshold_crossed",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: Every amount below is in the currency beside it, the one its provider bills in. There is no
#: default, so that no record can claim dollars (or anything) by omission.
_ISO_4217 = attrs.validators.matches_re(r"[A-Z]{3}")


@attrs.frozen
class InfrastructureRecord:
    """An infrastructure as applied: ``spec`` is the canonical document last applied."""

    id: str
    workspace: str
    name: str
    provider: str
    region: str
    status: InfraStatus
    spec: Mapping[str, Any]
    monthly_cost: Decimal
    #: The ISO 4217 code of ``monthly_cost``.
    currency: str = attrs.field(validator=_ISO_4217)
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen
class ResourceRecord:
    """One resource of an infrastructure as it exists at the provider.

    ``spec`` is the resource's canonical document as last applied (what the plan diffs
    against); ``objects`` its provider objects, ids committed the moment they are known;
    ``monthly_cost`` the price when it was last applied, in ``currency``.
    """

    infrastructure_id: str
    name: str
    type: str
    status: ResourceStatus
    spec: Mapping[str, Any]
    objects: tuple[CloudObject, ...]
    monthly_cost: Decimal | None
    currency: str = attrs.field(validator=_ISO_4217)
    operation_id: str
    updated_at: dt.datetime
    #: Adopted by an ``import:`` rather than created by atlas: rollback never deletes it, and a
    #: destroy leaves it in place unless asked to include imported resources.
    imported: bool = False

    def state(self) -> ResourceState:
        return ResourceState(self.type, self.name, self.objects)


@attrs.frozen
class OperationRecord:
    """One apply or destroy, tracked from start to end (what ``/operations/{id}`` serves)."""

    id: str
    workspace: str
    infrastructure_id: str
    kind: OperationKind
    status: OperationStatus
    total_steps: int
    completed_steps: int
    current_step: str | None
    created_resources: tuple[str, ...]
    cost_change: Decimal
    currency: str = attrs.field(validator=_ISO_4217)
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    #: The desired document this operation works toward (so it can be resumed).
    spec: Mapping[str, Any]


@attrs.frozen
class StepRecord:
    """One step of an operation: the intent is recorded before the cloud is asked."""

    operation_id: str
    index: int
    resource: str
    type: str
    action: StepAction
    status: StepStatus
    provider_ids: tuple[str, ...]
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    #: One line on how the step ended when that is worth saying though it did not fail
    #: ("kept: the region's default VPC ...", "left in place: imported").
    note: str | None = None


@attrs.frozen
class EventRecord:
    """A lifecycle event, committed to the outbox with the change it reports."""

    id: str
    type: EventType
    time: dt.datetime
    workspace: str
    infrastructure_id: str
    infrastructure_name: str
    operation_id: str | None
    cost_change: Decimal
    currency: str = attrs.field(validator=_ISO_4217)
    data: Mapping[str, Any] = attrs.field(factory=dict)
    delivered_at: dt.datetime | None = None


@attrs.frozen
class AuditEntry:
    """One entry of the audit trail: who did what, when, from where, and how it ended.

    Appended, never changed (:meth:`atlas.store.base.StateStore.append_audit`): the store gives
    it its place (``seq``, across every workspace), the ``hash`` of the entry before it
    (``prev_hash``) and its own ``hash`` (:mod:`atlas.store.audit`), so that an entry edited
    or removed by hand breaks the chain. Nothing in it is a secret: the caller is named, never
    their token.
    """

    id: str
    time: dt.datetime
    #: ``None`` for a request refused before its caller was known (no or bad credentials).
    workspace: str | None
    #: The JWT's user, or ``api-key:<name>``; ``None`` when nobody was authenticated.
    actor: str | None
    #: ``jwt``, ``api_key``, ``none`` (a server without authentication), ``resume`` (a
    #: process carrying an operation on), or ``refused``.
    auth_method: str
    remote_address: str | None
    request_id: str | None
    #: ``"<METHOD> <route>"`` for a request, ``"operation.<kind>"`` for an operation's end.
    action: str
    infrastructure_id: str | None
    infrastructure_name: str | None
    operation_id: str | None
    #: ``ok`` or ``refused`` for a request, the operation's status for an operation's end.
    outcome: str
    #: The HTTP status answered (``None`` for an operation's end).
    status_code: int | None
    #: The error's stable code (``LOCKED``, ``UNAUTHORIZED``, ...), when it ended in one.
    error_code: str | None
    #: JSON-safe figures: the plan's changes by action, the cost change and its currency.
    summary: Mapping[str, Any] = attrs.field(factory=dict)
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


@attrs.frozen
class BudgetRecord:
    """A workspace's own budget as stored (``atlas budget set``, ``PUT /api/v1/budget``): the
    :class:`~atlas.model.infrastructure.Budget` it holds (:meth:`budget`), whose it is and when
    it was last set. An infrastructure's budget is in its spec, not here."""

    workspace: str
    monthly_limit: Decimal
    #: The ISO 4217 code of ``monthly_limit``.
    currency: str = attrs.field(validator=_ISO_4217)
    #: Whole percentages of ``monthly_limit``, ascending.
    thresholds: tuple[int, ...]
    include_forecast: bool
    updated_at: dt.datetime

    @classmethod
    def of(cls, workspace: str, budget: Budget, *, updated_at: dt.datetime) -> BudgetRecord:
        return cls(
            workspace=workspace,
            monthly_limit=budget.monthly_limit,
            currency=budget.currency,
            thresholds=tuple(budget.thresholds),
            include_forecast=budget.include_forecast,
            updated_at=updated_at,
        )

    def budget(self) -> Budget:
        return Budget(self.monthly_limit, self.currency, self.thresholds, self.include_forecast)


@attrs.frozen
class ThresholdCrossing:
    """A threshold of a budget crossed in a month, recorded with the id of the
    ``cost.threshold_crossed`` event queued for it (in the same transaction), so that the
    threshold is alerted once that month however many processes check."""

    workspace: str
    #: ``workspace`` (the workspace's own budget) or ``infrastructure:<id>`` (a spec's).
    scope: str
    #: The calendar month, ``YYYY-MM`` (UTC).
    month: str
    #: A whole percentage of the budget's monthly limit.
    threshold: int
    event_id: str
    crossed_at: dt.datetime
