"""Carrying out a plan: in dependency order, journaled step by step, rolled back on failure.

Builds are dependency-driven: each step starts the moment the steps it depends on are done,
and is journaled ``done`` (and reported) the moment its own resource is ready, whatever else
is still under way. Waits of one kind share their polling rounds at the provider
(:class:`atlas.providers.HandlerProvider`), so concurrency costs no extra calls.

Every step goes through the store before and after the cloud call: the intent (the resource
row, status ``creating``) is committed before the provider is asked, provider ids the moment
they are known, then ``done`` / ``failed`` / ``timed_out``. A crash at any point therefore
leaves a record of what may exist, which the next apply adopts (see :mod:`atlas.lifecycle.plan`).
"""

from __future__ import annotations

import asyncio
import graphlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal

import attrs

from atlas.exceptions import AtlasError, LeftInPlaceError, LockLostError, WaitTimeoutError
from atlas.lifecycle.plan import Plan, PlannedChange
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.model.records import (
    OperationRecord,
    ResourceRecord,
    StepAction,
    StepRecord,
    StepStatus,
    utcnow,
)
from atlas.providers.contract import AccountStep, Provider, StepContext
from atlas.spec.dump import dump_resource
from atlas.spec.references import dependencies
from atlas.store.base import StateStore

__all__ = ["Executor", "ProgressCallback", "plan_steps"]

logger = logging.getLogger("atlas.lifecycle")

#: Called as the operation progresses (for live displays); never allowed to fail it.
ProgressCallback = Callable[[OperationRecord, StepRecord | None], None]


def plan_steps(
    plan: Plan,
    spec: InfrastructureSpec,
    recorded_deps: Mapping[str, set[str]],
    operation_id: str,
    *,
    first_index: int = 0,
) -> list[StepRecord]:
    """The plan as ordered steps: the account steps first (action ``prepare``), then deletes
    and releases (dependents before what they depend on), then creates, imports and updates
    (what is depended on first). A replacement is a delete and a create.

    ``recorded_deps`` are the references of the resources as recorded
    (:func:`atlas.lifecycle.plan.recorded_dependencies`); steps are numbered from
    ``first_index`` (after the steps of an operation carried on)."""
    gone = [c for c in plan.changes if c.action in ("delete", "replace", "release")]
    made = [c for c in plan.changes if c.action in ("create", "update", "replace", "import")]
    delete_order = _topological({c.resource: recorded_deps.get(c.resource, set()) for c in gone})
    deps = dependencies(spec.resources)  # the whole spec's: weak references need it
    build_order = _topological({c.resource: deps[c.resource] for c in made})
    by_name = {c.resource: c for c in plan.changes}
    steps: list[tuple[str, str, StepAction]] = [(a.name, a.type, "prepare") for a in plan.account]
    for n in reversed(delete_order):
        steps.append(
            (n, by_name[n].type, "release" if by_name[n].action == "release" else "delete")
        )
    for n in build_order:
        planned = by_name[n].action
        action: StepAction = (
            "update" if planned == "update" else "import" if planned == "import" else "create"
        )
        steps.append((n, spec.resource(n).type, action))
    return [
        StepRecord(operation_id, i, n, t, a, "pending", (), None, None, None)
        for i, (n, t, a) in enumerate(steps, start=first_index)
    ]


@attrs.define
class Executor:
    """Runs one operation's steps against one provider, keeping the store up to date."""

    store: StateStore
    provider: Provider
    owner: Owner
    infrastructure_id: str
    spec: InfrastructureSpec
    plan: Plan
    operation: OperationRecord
    rollback: bool = True
    parallelism: int = 8
    #: Seconds a resource of each kind may take to become ready (the provider declares them,
    #: :attr:`atlas.providers.ProviderInfo.ready_timeouts`); ``default_timeout`` for the rest.
    timeouts: Mapping[str, float] = attrs.field(factory=dict)
    default_timeout: float = 600.0
    on_progress: ProgressCallback | None = None
    #: Once set (the first Ctrl-C), no new step starts: the steps under way finish and are
    #: journaled, the rest stay ``pending``, and :meth:`run` ends with an ``interrupted``
    #: error, without a rollback (the next apply resumes).
    stop: asyncio.Event | None = None
    _created: list[str] = attrs.field(factory=list)
    _imported: list[str] = attrs.field(factory=list)

    async def run(self, steps: Sequence[StepRecord]) -> str | None:
        """Carry out ``steps``; the error that stopped the operation, or ``None``."""
        prepares = [s for s in steps if s.action == "prepare"]
        deletes = [s for s in steps if s.action in ("delete", "release")]
        builds = [s for s in steps if s.action not in ("delete", "release", "prepare")]
        try:
            for step in [*prepares, *deletes]:
                if self._stopped():
                    break
                await (self._prepare(step) if step.action == "prepare" else self._delete(step))
            else:
                await self._build(builds)
        except LockLostError:
            # Another process carries the operation on: nothing more is asked of the cloud
            # here (no rollback: what this one made is the new holder's to adopt).
            raise
        except WaitTimeoutError as exc:
            # Not rolled back: what exists is recorded with its ids, and a resume finishes it.
            return self._interrupted(exc) or f"{exc} (atlas apply again to resume)"
        except AtlasError as exc:
            return self._interrupted(exc) or await self._fail(exc)
        return self._interrupted()

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _interrupted(self, exc: AtlasError | None = None) -> str | None:
        """When stopped from outside: what was left undone, and that a resume finishes it.
        Nothing is rolled back, not even after a failure: every step is journaled as it
        ended, and the next apply plans what remains."""
        if not self._stopped():
            return None
        left = sum(1 for s in self.store.steps(self.operation.id) if s.status == "pending")
        if left == 0 and exc is None:
            return None  # the stop came after the last step had started: all is done
        failed = f"; {type(exc).__name__}: {exc}" if exc is not None else ""
        plural = "s" if left != 1 else ""
        again = (
            "atlas destroy again to finish"
            if self.operation.kind == "destroy"
            else "atlas apply again to resume"
        )
        return f"interrupted: {left} step{plural} not started{failed} ({again})"

    # -- building, in dependency order -------------------------------------------------------

    async def _build(self, builds: Sequence[StepRecord]) -> None:
        """Start each step the moment what it depends on is done (started by the step that
        unblocks it, not by a later pass), at most ``parallelism`` creating at once. The
        first failure stops new starts; it is raised once every step under way has ended
        and been journaled."""
        names = {s.resource for s in builds}
        deps = dependencies(self.spec.resources)
        blocked = {s.resource: deps[s.resource] & names for s in builds}
        by_name = {s.resource: s for s in builds}
        built: set[str] = set()
        running: set[asyncio.Task[None]] = set()
        failures: list[Exception] = []
        limit = asyncio.Semaphore(self.parallelism)

        def launch() -> None:
            # Steps unblocked at the same moment start together, in plan order.
            if failures or self._stopped():
                return
            for name in sorted((n for n, d in blocked.items() if d <= built), key=_index(by_name)):
                del blocked[name]
                running.add(asyncio.create_task(build(by_name[name])))

        async def build(step: StepRecord) -> None:
            try:
                if await self._step(step, limit):
                    built.add(step.resource)
                    launch()
            except Exception as exc:  # raised below, once the steps under way have ended
                failures.append(exc)

        launch()
        try:
            while running:
                ended, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running.difference_update(ended)
        finally:
            # Cancelled from outside (the operation given up): so are the steps under way.
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if failures:
            lost = [f for f in failures if isinstance(f, LockLostError)]
            raise (lost or failures)[0]

    async def _step(self, step: StepRecord, limit: asyncio.Semaphore) -> bool:
        """One build step from intent to ``done``; ``False`` when a stop came while it
        waited for its turn, so it was never started."""
        async with limit:
            if self._stopped():
                return False
            state = await self._start(step)
        self._finish(step, await self._wait(step, state))
        return True

    # -- steps -------------------------------------------------------------------------------

    async def _prepare(self, step: StepRecord) -> None:
        """An account step: outside the infrastructure, so nothing is recorded as its resource
        and nothing rolls it back."""
        wanted = self._account_step(step)
        self._progress(step)
        try:
            await self.provider.prepare(wanted)
        except AtlasError as exc:
            self._failed(step, str(exc))
            raise
        self._done(step)

    def _account_step(self, step: StepRecord) -> AccountStep:
        for wanted in self.plan.account:
            if (wanted.name, wanted.type) == (step.resource, step.type):
                return wanted
        raise AtlasError(f"the plan has no account step {step.type} {step.resource}")

    async def _delete(self, step: StepRecord) -> None:
        record = self._record(step.resource)
        self._progress(step)
        if step.action == "release":
            # Imported: it existed before atlas and goes on existing; only the record goes.
            self.store.delete_resource(self.infrastructure_id, step.resource)
            self._done(step, note=_release_note(self.operation.kind))
            return
        note = None
        if record is not None:
            self.store.save_resource(attrs.evolve(record, status="deleting", updated_at=utcnow()))
            try:
                await self.provider.delete(self.owner, record.state())
            except LeftInPlaceError as kept:
                # The cloud keeps it and that is safe: gone from the infrastructure, and said.
                note = str(kept)
            except AtlasError as exc:
                self._failed(step, str(exc))
                raise
            self.store.delete_resource(self.infrastructure_id, step.resource)
        self._done(step, note=note)

    async def _start(self, step: StepRecord) -> ResourceState:
        """Record the intent, then ask the provider; ids are recorded as soon as they exist."""
        res = self.spec.resource(step.resource)
        change = self.plan.change(step.resource)
        existing = self._record(step.resource)
        if step.action == "import":
            return await self._import(step, res, change, existing)
        if step.action == "update" and existing is not None:
            # The old spec stays recorded until the update is done: if it fails or is cut
            # short, the next plan still sees the change to make.
            self.store.save_resource(
                attrs.evolve(
                    existing, status="updating", operation_id=self.operation.id, updated_at=utcnow()
                )
            )
        else:
            self.store.save_resource(self._row(res, "creating", existing))
        self._progress(step)
        deps = self._deps()
        # A create or an update a crash cut short is carried on under the operation that
        # journaled it, so that a provider's idempotency tokens (derived from it: an update
        # may create objects too) are the ones already sent.
        interrupted = existing is not None and existing.status in ("creating", "updating")
        intent = (
            existing.operation_id if existing is not None and interrupted else self.operation.id
        )
        try:
            ctx = StepContext(self.owner, self.spec, res, deps, intent)
            if step.action == "update" and existing is not None:
                return await self.provider.update(ctx, existing.state())
            # Look for what exists before creating whenever this resource has a record (an
            # interrupted create, a replacement): only a resource atlas has never written down
            # can be created without looking.
            resume = (change is not None and change.resume) or existing is not None
            # Counted as made by this operation from the moment it is asked for: a create that
            # fails may still have left objects, and a rollback must look for them.
            self._created.append(step.resource)
            state = await self.provider.create(ctx, on_created=self._ids(step), recover=resume)
            return state
        except AtlasError as exc:
            self._failed(step, str(exc))
            raise

    async def _import(
        self,
        step: StepRecord,
        res: ResourceSpec,
        change: PlannedChange | None,
        existing: ResourceRecord | None,
    ) -> ResourceState:
        """Adopt exactly what the plan read: journal it as imported, then change in place
        what differs. Never a create."""
        found = self.plan.imports.get(step.resource)
        if found is None:
            error = f"{step.resource}: the plan read nothing to import (plan again)"
            self._failed(step, error)
            raise AtlasError(error)
        row = self._row(res, "creating", existing, objects=found.objects)
        self.store.save_resource(attrs.evolve(row, imported=True))
        self._imported.append(step.resource)
        self.store.update_step(
            self.operation.id, step.index, status="running", provider_ids=found.ids
        )
        self._progress(step)
        state = found.state(res.name)
        if change is None or not change.fields:
            return state
        try:
            ctx = StepContext(self.owner, self.spec, res, self._deps(), self.operation.id)
            return await self.provider.update(ctx, state)
        except AtlasError as exc:
            self._failed(step, str(exc))
            raise

    async def _wait(self, step: StepRecord, state: ResourceState) -> ResourceState:
        """Until ``step``'s resource is ready. Each step waits on its own, so it is done the
        moment it is ready; the provider polls the waits of one kind together."""
        timeout = self.timeouts.get(state.type, self.default_timeout)
        try:
            [ready] = await self.provider.wait(self.owner, [state], timeout=timeout)
        except WaitTimeoutError:
            self._failed(step, f"not ready in {timeout:g}s", status="timed_out")
            raise
        return ready

    def _finish(self, step: StepRecord, state: ResourceState) -> None:
        res = self.spec.resource(step.resource)
        if state.status != "active":
            why = "; ".join(str(o.attributes.get("error", o.status)) for o in state.objects)
            self.store.save_resource(
                self._row(res, "error", self._record(step.resource), objects=state.objects)
            )
            self._failed(step, why)
            raise AtlasError(f"{step.resource} failed at the provider: {why}")
        self.store.save_resource(self._row(res, "active", None, objects=state.objects))
        self._done(step, state.ids)

    # -- failure -----------------------------------------------------------------------------

    async def _fail(self, exc: AtlasError) -> str:
        message = f"{type(exc).__name__}: {exc}"
        if not self.rollback:
            return message
        undone = []
        for name in reversed(self._created):
            record = self._record(name)
            if record is None or record.imported:  # never delete what atlas did not make
                continue
            # The intent first, as for every delete: it is also what proves this process
            # still holds the lock (a holder fenced out must never delete what the new one
            # adopts).
            self.store.save_resource(attrs.evolve(record, status="deleting", updated_at=utcnow()))
            try:
                await self.provider.delete(self.owner, record.state())
            except LeftInPlaceError as kept:
                message += f"; {kept}"
            except AtlasError as again:
                return f"{message}; rolling back {name} failed too: {again}"
            self.store.delete_resource(self.infrastructure_id, name)
            undone.append(name)
            for s in self.store.steps(self.operation.id):
                # A failed step keeps its status and error: that is the record of what broke.
                if s.resource == name and s.action == "create" and s.status != "failed":
                    self.store.update_step(self.operation.id, s.index, status="rolled_back")
                    self._notify(self._op(), s)
        if undone:
            message += f"; rolled back what this operation created: {', '.join(undone)}"
        released = self._release_imports()
        if released:
            message += f"; let go of what it imported (left in place): {', '.join(released)}"
        return message

    def _release_imports(self) -> list[str]:
        """A rolled-back import is let go again: its objects stay as they are at the
        provider, and the infrastructure no longer records them."""
        released = []
        for name in reversed(self._imported):
            record = self._record(name)
            if record is None or not record.imported:
                continue
            self.store.delete_resource(self.infrastructure_id, name)
            released.append(name)
            for s in self.store.steps(self.operation.id):
                if s.resource == name and s.action == "import" and s.status != "failed":
                    self.store.update_step(
                        self.operation.id, s.index, status="rolled_back", note="left in place"
                    )
        return released

    # -- bookkeeping -------------------------------------------------------------------------

    def _ids(self, step: StepRecord) -> Callable[[str, Sequence[CloudObject]], Awaitable[None]]:
        async def record(name: str, objects: Sequence[CloudObject]) -> None:
            self.store.record_objects(self.infrastructure_id, name, objects)
            ids = [o.id for o in objects]
            self.store.update_step(
                self.operation.id, step.index, status="running", provider_ids=ids
            )

        return record

    def _done(
        self, step: StepRecord, ids: Sequence[str] | None = None, *, note: str | None = None
    ) -> None:
        self.store.update_step(
            self.operation.id, step.index, status="done", provider_ids=ids, note=note
        )
        steps = self.store.steps(self.operation.id)
        done = [s for s in steps if s.status == "done"]
        op = self.store.update_operation(
            self.operation.id,
            completed_steps=len(done),
            current_step=None,
            created_resources=tuple(s.resource for s in done if s.action == "create"),
        )
        self._notify(op, step, steps)

    def _progress(self, step: StepRecord) -> None:
        """The step is under way: the journal and the live display say so."""
        self.store.update_step(self.operation.id, step.index, status="running")
        op = self.store.update_operation(
            self.operation.id, current_step=f"{step.action} {step.type} {step.resource}"
        )
        self._notify(op, step)

    def _failed(self, step: StepRecord, error: str, *, status: StepStatus = "failed") -> None:
        """The step ended badly: journaled with its error, and the live display told."""
        self.store.update_step(self.operation.id, step.index, status=status, error=error)
        self._notify(self._op(), step)

    def _op(self) -> OperationRecord:
        op = self.store.get_operation(self.operation.workspace, self.operation.id)
        return op if op is not None else self.operation

    def _notify(
        self, op: OperationRecord, step: StepRecord, steps: Sequence[StepRecord] | None = None
    ) -> None:
        """Tell the display, with the step as the journal now has it (status, provider ids,
        times), not the record the operation started from."""
        if self.on_progress is None:
            return
        if steps is None:
            steps = self.store.steps(self.operation.id)
        fresh = next((s for s in steps if s.index == step.index), step)
        try:
            self.on_progress(op, fresh)
        except Exception:  # a display must never break an operation
            logger.exception("progress callback failed")

    def _record(self, name: str) -> ResourceRecord | None:
        return next(
            (r for r in self.store.list_resources(self.infrastructure_id) if r.name == name), None
        )

    def _deps(self) -> dict[str, ResourceState]:
        return {r.name: r.state() for r in self.store.list_resources(self.infrastructure_id)}

    def _row(
        self,
        res: ResourceSpec,
        status: str,
        existing: ResourceRecord | None,
        *,
        objects: Sequence[CloudObject] | None = None,
    ) -> ResourceRecord:
        change: PlannedChange | None = self.plan.change(res.name)
        cost = change.monthly_after if change is not None else None
        previous = existing or self._record(res.name)
        return ResourceRecord(
            infrastructure_id=self.infrastructure_id,
            name=res.name,
            type=res.type,
            status=status,  # type: ignore[arg-type]
            spec=dump_resource(res),
            objects=tuple(objects)
            if objects is not None
            else (previous.objects if previous else ()),
            monthly_cost=cost.amount
            if cost is not None
            else (previous.monthly_cost if previous else Decimal(0)),
            currency=cost.currency
            if cost is not None
            else (previous.currency if previous else self.plan.currency),
            operation_id=self.operation.id,
            updated_at=utcnow(),
            imported=previous.imported if previous else False,
        )


def _release_note(kind: str) -> str:
    if kind == "destroy":
        return "left in place: imported; atlas destroy --include-imported deletes it"
    return "left in place: imported, and no longer in the spec"


def _topological(graph: Mapping[str, set[str]]) -> list[str]:
    names = set(graph)
    return list(
        graphlib.TopologicalSorter({n: deps & names for n, deps in graph.items()}).static_order()
    )


def _index(by_name: Mapping[str, StepRecord]) -> Callable[[str], int]:
    return lambda name: by_name[name].index
