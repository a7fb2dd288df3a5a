"""Running an operation end to end: lock, journal, execute, finish, events.

Shared by apply and destroy; :class:`atlas.AsyncAtlas` is the way in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs

from atlas.cost.money import Money
from atlas.events import new_event
from atlas.exceptions import AtlasError, OperationInterruptedError
from atlas.lifecycle.executor import Executor, ProgressCallback, plan_steps
from atlas.lifecycle.plan import Plan, recorded_dependencies
from atlas.model.cloud import Owner
from atlas.model.infrastructure import InfrastructureSpec
from atlas.model.records import (
    EventRecord,
    EventType,
    InfraStatus,
    InfrastructureRecord,
    OperationKind,
    OperationRecord,
    StepRecord,
    utcnow,
)
from atlas.providers.contract import Provider
from atlas.providers.declarations import ResourceKind
from atlas.spec.dump import dump_spec
from atlas.store.base import StateStore

__all__ = ["OperationRunner", "additions", "event"]

logger = logging.getLogger("atlas.lifecycle")


def event(
    type: EventType,
    infra: InfrastructureRecord,
    operation_id: str | None,
    cost_change: Money,
    data: Mapping[str, Any] | None = None,
) -> EventRecord:
    """An event about ``infra`` (checked by :func:`atlas.events.new_event`)."""
    return new_event(
        type,
        workspace=infra.workspace,
        infrastructure_id=infra.id,
        infrastructure_name=infra.name,
        operation_id=operation_id,
        cost_change=cost_change,
        data=data,
    )


@attrs.define
class OperationRunner:
    """One apply or destroy of one infrastructure."""

    store: StateStore
    provider: Provider
    kinds: Mapping[str, ResourceKind]
    infra: InfrastructureRecord
    spec: InfrastructureSpec
    plan: Plan
    kind: OperationKind
    rollback: bool = True
    timeouts: Mapping[str, float] | None = None
    default_timeout: float = 600.0
    on_progress: ProgressCallback | None = None
    #: Seconds between heartbeats; by default a quarter of the store's lease, so that a
    #: holder misses three before it is taken to be gone.
    heartbeat_every: float | None = None
    #: Set it to stop starting steps (see :attr:`Executor.stop`); the operation then ends
    #: ``failed`` with an ``interrupted`` error, nothing rolled back, resumable.
    stop: asyncio.Event | None = None
    #: An unfinished operation to carry on in place (same id), rather than a new one: what a
    #: resume after a crash, or a takeover from a replica that died, does.
    continuing: OperationRecord | None = None

    async def run(self) -> OperationRecord:
        """Start, execute and finish the operation; the store says the rest.

        The provider's credential is resolved before anything is written: without one, the
        error is raised with the infrastructure, its resources and any interrupted operation
        exactly as they were."""
        await self.provider.connect()
        if self.stop is not None and self.stop.is_set():
            raise OperationInterruptedError(
                f"interrupted before the {self.kind} of {self.infra.name} started: nothing changed"
            )
        op = self.continuing or self._operation()
        self.store.lock(self.infra.id, op.id)
        try:
            steps = self._steps(op)
            status: InfraStatus = (
                "provisioning"
                if self.infra.status == "pending"
                else ("destroying" if self.kind == "destroy" else "updating")
            )
            self.infra = attrs.evolve(self.infra, status=status, updated_at=utcnow())
            if self.continuing is not None:
                self.store.save_infrastructure(self.infra)
                op = self.store.continue_operation(op.id, steps, interrupted=_INTERRUPTED)
                logger.info(
                    "operation %s (%s of %s) carried on from its journal: %d step(s) left",
                    op.id,
                    self.kind,
                    self.infra.name,
                    len(steps),
                )
            else:
                op = attrs.evolve(op, total_steps=len(steps))
                self._supersede_interrupted(op)
                self.store.save_infrastructure(self.infra)
                self.store.start_operation(
                    op,
                    steps,
                    event(
                        "deployment.started",
                        self.infra,
                        op.id,
                        self.plan.cost_change,
                        {"kind": self.kind, "total_steps": len(steps)},
                    ),
                )
            executor = self._executor(op)
            async with self._heartbeat(op.id):
                error = await executor.run(steps)
            return self._finish(op, error)
        finally:
            self.store.unlock(self.infra.id, op.id)

    def _steps(self, op: OperationRecord) -> list[StepRecord]:
        """The plan's steps, numbered after any the operation already has (a carry-on)."""
        recorded = self.store.list_resources(self.infra.id)
        first = 0
        if self.continuing is not None:
            first = 1 + max((s.index for s in self.store.steps(op.id)), default=-1)
        deps = recorded_dependencies(recorded, self.kinds)
        return plan_steps(self.plan, self.spec, deps, op.id, first_index=first)

    def _operation(self) -> OperationRecord:
        return OperationRecord(
            id=str(uuid.uuid4()),
            workspace=self.infra.workspace,
            infrastructure_id=self.infra.id,
            kind=self.kind,
            status="in_progress",
            total_steps=0,
            completed_steps=0,
            current_step=None,
            created_resources=(),
            cost_change=self.plan.cost_change.amount,
            currency=self.plan.currency,
            error=None,
            started_at=utcnow(),
            finished_at=None,
            spec=dump_spec(self.spec),
        )

    def _executor(self, op: OperationRecord) -> Executor:
        executor = Executor(
            store=self.store,
            provider=self.provider,
            owner=Owner(self.infra.workspace, self.infra.name),
            infrastructure_id=self.infra.id,
            spec=self.spec,
            plan=self.plan,
            operation=op,
            rollback=self.rollback,
            on_progress=self.on_progress,
            stop=self.stop,
            timeouts=dict(self.timeouts or {}),
            default_timeout=self.default_timeout,
        )
        return executor

    def _supersede_interrupted(self, op: OperationRecord) -> None:
        """An operation left in progress by a crash ends here; this one takes over its work."""
        old = self.store.unfinished_operation(self.infra.id)
        if old is None or old.id == op.id:
            return
        why = (
            f"interrupted; its resources are being deleted by destroy operation {op.id}"
            if self.kind == "destroy"
            else f"interrupted; resumed by operation {op.id}"
        )
        for step in self.store.steps(old.id):
            if step.status in ("pending", "running"):
                self.store.update_step(old.id, step.index, status="failed", error=why)
        self.store.finish_operation(
            old.id, "failed", error=why, infrastructure=self.infra, events=[]
        )

    def _finish(self, op: OperationRecord, error: str | None) -> OperationRecord:
        resources = self.store.list_resources(self.infra.id)
        cost = Money.total(
            (Money(r.monthly_cost, r.currency) for r in resources if r.monthly_cost is not None),
            self.plan.currency,
        )
        change = cost - Money(self.infra.monthly_cost, self.infra.currency)
        status: InfraStatus
        if error is not None:
            status = "error"
        elif self.kind == "destroy":
            status = "destroyed"
        else:
            status = "active"
        # The spec recorded is the last one applied in full: a failed operation keeps the old
        # one, so the next plan still sees what remains to do. An infrastructure with none yet
        # has never been created, whatever earlier attempts did.
        first = not self.infra.spec
        spec = dump_spec(self.spec) if error is None else self.infra.spec
        self.infra = attrs.evolve(
            self.infra,
            status=status,
            # Where it was applied in full: a spec that moved it to another region (every
            # resource replaced there) has it live in that region now.
            region=self.spec.region
            if error is None and self.kind == "apply"
            else self.infra.region,
            monthly_cost=cost.amount,
            currency=cost.currency,
            spec=spec,
            updated_at=utcnow(),
        )
        events = [
            event(
                "deployment.failed" if error else "deployment.completed",
                self.infra,
                op.id,
                change,
                {"error": error} if error else {},
            )
        ]
        if error is None:
            kind: EventType = (
                "infrastructure.destroyed"
                if self.kind == "destroy"
                else "infrastructure.created"
                if first
                else "infrastructure.updated"
            )
            events.append(event(kind, self.infra, op.id, change))
        self.store.update_operation(
            op.id, cost_change=change.amount, currency=change.currency, current_step=None
        )
        self.store.finish_operation(
            op.id,
            "failed" if error else "completed",
            error=error,
            infrastructure=self.infra,
            events=events,
        )
        final = self.store.get_operation(self.infra.workspace, op.id)
        assert final is not None
        return final

    @contextlib.asynccontextmanager
    async def _heartbeat(self, operation_id: str) -> AsyncIterator[None]:
        """Keep the lock's lease alive while the operation runs."""

        every = self.heartbeat_every
        if every is None:
            every = max(self.store.lease_seconds / 4, 0.05)

        async def beat() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    self.store.heartbeat(self.infra.id, operation_id)
                except AtlasError as exc:
                    # Another operation took the lock over (this one looked dead): say so once;
                    # the operation still ends and records its outcome.
                    logger.error("operation %s lost its lock: %s", operation_id, exc)
                    return

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


#: What a step that was running when its holder stopped says, once carried on: whatever it
#: made is recorded with its ids, and the step planned again in its place adopts it.
_INTERRUPTED = (
    "interrupted: the process running this step stopped; the operation was carried on from "
    "its journal, and the step planned again in its place adopts what this one made"
)


def additions(plan: Plan, spec: InfrastructureSpec) -> dict[str, int]:
    """How many objects of each kind the plan adds (for the account-limit check)."""
    counts: dict[str, int] = {}
    for change in plan.changes:
        if change.action in ("create", "replace") and not change.resume:
            res = spec.resource(change.resource)
            n = int(getattr(res.specifications, "count", 1))
            counts[res.type] = counts.get(res.type, 0) + n
    return counts
