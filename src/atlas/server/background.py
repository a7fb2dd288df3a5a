"""Operations run as asyncio tasks the app keeps track of.

A request that changes infrastructure starts the library's apply or destroy in a task and
answers as soon as the operation is in the journal (its first step starting), or with the
error that stopped it before that (invalid, over budget, locked, no credentials). The task
runs on after the answer; shutting down cancels what still runs, which leaves each operation
``in_progress`` in the journal with its lock free.

Operations are shared by every process on one store (replicas of ``atlas serve`` behind a load
balancer, on one PostgreSQL database): each process claims, at start and then every
``claim_interval`` seconds (:meth:`Operations.watch_orphans`), the operations left without a
live holder: a lock set free by a shutdown, a holder whose process is gone (on this host), or
one whose heartbeat is older than the lease (a replica killed, or cut off). A claim is one
transaction that skips what another process is claiming at that moment, so each operation is
carried on by exactly one process, in place (:meth:`atlas.AsyncAtlas.resume`): the same
operation id ends ``completed``. A holder that only looked dead learns it at its next write,
which the lock's fencing token refuses (:class:`~atlas.exceptions.LockLostError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable

from atlas.exceptions import AtlasError, LockedError, LockLostError
from atlas.facade import AsyncAtlas
from atlas.http import observe_calls
from atlas.lifecycle.executor import ProgressCallback
from atlas.model.records import OperationRecord, StepRecord, utcnow
from atlas.providers.registry import ProviderRegistry
from atlas.server import audit
from atlas.server.auth import Principal
from atlas.server.logs import request_id_var
from atlas.server.metrics import ENDED_STEP, Monitor
from atlas.server.offload import no_deadline
from atlas.server.workspaces import Workspaces
from atlas.store.base import StateStore

__all__ = ["Operations", "Run", "watch_budgets"]

logger = logging.getLogger("atlas.server")

#: What a task does with its AsyncAtlas: apply, destroy or resume, reporting progress.
Run = Callable[[AsyncAtlas, ProgressCallback], Awaitable[OperationRecord]]


class Operations:
    """The operations this process runs (see the module docstring)."""

    def __init__(
        self,
        workspaces: Workspaces,
        store: StateStore,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        monitor: Monitor | None = None,
    ) -> None:
        self._workspaces = workspaces
        self._store = store
        self._clock = clock
        #: Counts operations and steps, hears their cloud calls, and refuses new operations
        #: for a degraded provider (atlas.server.degradation).
        self._monitor = monitor
        #: Each running task -> the id of its operation, once it has one.
        self._tasks: dict[asyncio.Task[OperationRecord], str | None] = {}
        #: Each running task -> the workspace it runs for.
        self._workspaces_of: dict[asyncio.Task[OperationRecord], str] = {}
        #: Running operation id -> its infrastructure's id.
        self._infrastructures: dict[str, str] = {}
        #: Tasks whose early errors go back to a caller rather than to the log.
        self._answered: set[asyncio.Task[OperationRecord]] = set()
        self._changed = asyncio.Event()
        #: Operations this process could not carry on -> when (monotonic): not claimed again
        #: here for a lease, so a process that can takes them first.
        self._failed: dict[str, float] = {}

    @property
    def running(self) -> int:
        return len(self._tasks)

    def running_in(self, workspace: str) -> int:
        """How many of the running tasks are the workspace's: what it may be told."""
        return sum(1 for ws in self._workspaces_of.values() if ws == workspace)

    def running_on(self, infrastructure_id: str) -> str | None:
        """The operation this process runs on the infrastructure, if the journal has it
        unfinished (its task may still be delivering events after the end)."""
        if infrastructure_id not in self._infrastructures.values():
            return None
        unfinished = self._store.unfinished_operation(infrastructure_id)
        if unfinished is None or unfinished.id not in self._infrastructures:
            return None
        return unfinished.id

    async def start(self, principal: Principal, run: Run, *, provider: str | None = None) -> str:
        """Start ``run``; the id of its operation once recorded, or ``run``'s error. With
        ``provider`` (the one it works with), refused at once (503) while that provider is
        degraded."""
        probe = None
        if self._monitor is not None and provider is not None:
            number = self._monitor.admit(provider)
            probe = None if number is None else (provider, number)
        started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = self._spawn(principal, run, started, probe=probe)
        waiting: set[asyncio.Future[object]] = {task, started}  # type: ignore[arg-type]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if started.done():
            return started.result()
        return task.result().id  # finished before any step: an empty plan, or an error

    def _spawn(
        self,
        principal: Principal,
        run: Run,
        started: asyncio.Future[str] | None = None,
        *,
        probe: tuple[str, int] | None = None,
    ) -> asyncio.Task[OperationRecord]:
        counted: set[tuple[int, str]] = set()  # (step, status) already counted

        def progress(op: OperationRecord, step: StepRecord | None) -> None:
            if self._monitor is not None and step is not None and step.status in ENDED_STEP:
                self._count_step(step, counted)
            if self._tasks.get(task) is None:
                self._tasks[task] = op.id
                self._infrastructures[op.id] = op.infrastructure_id
            if started is not None and not started.done():
                started.set_result(op.id)
            self.notify()

        request_id = request_id_var.get()

        async def body() -> OperationRecord:
            result: OperationRecord | None = None
            observing = (
                contextlib.nullcontext()
                if self._monitor is None
                else observe_calls(self._monitor.observe)  # for those resumed, too
            )
            try:
                with no_deadline(), observing:  # an operation outlives its request
                    async with self._workspaces.open(principal) as atlas:
                        result = await run(atlas, progress)
                        return result
            finally:
                # An empty plan ends before any step reports progress: its id is the result's.
                operation_id = self._tasks.get(task) or (None if result is None else result.id)
                self._wrap_up(principal, operation_id, request_id, probe)

        task = asyncio.create_task(body(), name=f"atlas-operation-{principal.workspace}")
        self._tasks[task] = None
        self._workspaces_of[task] = principal.workspace
        if started is not None:
            self._answered.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[OperationRecord]) -> None:
        operation_id = self._tasks.pop(task, None)
        self._workspaces_of.pop(task, None)
        self._infrastructures.pop(operation_id or "", None)
        answered = task in self._answered
        self._answered.discard(task)
        self.notify()
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, LockLostError):
            # Expected after a pause or a cut-off longer than the lease: another process
            # carries the operation on, and this one stopped writing at once.
            logger.warning("operation %s is carried on by another process: %s", operation_id, exc)
            return
        # An error before the operation started is the caller's answer (422, 409, ...); any
        # other reaches the log: a resume that could not start, or a bug.
        if exc is not None and (operation_id is not None or not answered):
            logger.error(
                "operation %s ended with an error", operation_id or "(not started)", exc_info=exc
            )

    def _count_step(self, step: StepRecord, counted: set[tuple[int, str]]) -> None:
        """Count a step that ended (once for each status it ends in)."""
        if self._monitor is not None and (step.index, step.status) not in counted:
            counted.add((step.index, step.status))
            self._monitor.metrics.step_ended(step)

    def _wrap_up(
        self,
        principal: Principal,
        operation_id: str | None,
        request_id: str | None,
        probe: tuple[str, int] | None,
    ) -> None:
        """What an operation's task does last: the audit entry and the count of its end, and
        the probe of a degraded provider it was, given back."""
        ended = None
        if operation_id is not None:
            ended = self._audit_end(principal, operation_id, request_id)
        if self._monitor is None:
            return
        if ended is not None:
            self._monitor.metrics.operation_ended(ended)
        if probe is not None:
            self._monitor.health.probe_ended(*probe)

    def _audit_end(
        self, principal: Principal, operation_id: str, request_id: str | None
    ) -> OperationRecord | None:
        """The audit entry of the operation's end, if the journal has it ended (one cut short
        by a shutdown or taken over by another process ends there, and is recorded there);
        the operation as ended, if it did."""
        try:
            op = self._store.get_operation(principal.workspace, operation_id)
            if op is None or op.status not in ("completed", "failed"):
                return None
            infra = self._store.get_infrastructure(op.workspace, op.infrastructure_id)
        except AtlasError as exc:
            logger.error("could not read operation %s for the audit trail: %s", operation_id, exc)
            return None
        entry = audit.operation_entry(
            principal,
            op,
            request_id=request_id,
            infrastructure_name=None if infra is None else infra.name,
            clock=self._clock,
        )
        audit.append(self._store, entry)
        return op

    def notify(self) -> None:
        """Wake every event stream: something may have changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout: float) -> None:
        """Return when :meth:`notify` is next called, or after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def claim_orphans(self) -> list[str]:
        """Claim every operation left without a live holder and carry each on in a task (see
        the module docstring); the ids of those taken up."""
        taken: list[str] = []
        lease = self._store.lease_seconds
        now = time.monotonic()
        for op_id, when in list(self._failed.items()):
            if now - when >= lease:
                del self._failed[op_id]
        while True:
            claimed = self._store.claim_orphans(limit=_CLAIM_BATCH, skip=frozenset(self._failed))
            for op in claimed:
                logger.info(
                    "carrying on operation %s (%s) of workspace %s from its journal",
                    op.id,
                    op.kind,
                    op.workspace,
                )
                self._spawn(Principal(op.workspace, method="resume"), _resume(op, self._failed))
                taken.append(op.id)
            if len(claimed) < _CLAIM_BATCH:
                return taken

    async def watch_orphans(self, every: float, stopping: asyncio.Event) -> None:
        """Until ``stopping`` is set: every ``every`` seconds, :meth:`claim_orphans`. A store
        that cannot be read now is tried again at the next round."""
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)
            if stopping.is_set():
                return
            try:
                self.claim_orphans()
            except AtlasError as exc:
                logger.warning("could not look for operations to carry on: %s", exc)

    async def shutdown(self) -> list[str]:
        """Cancel what still runs; the ids of the operations left to resume."""
        tasks = list(self._tasks)
        left = [op_id for op_id in self._tasks.values() if op_id is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for op_id in left:
            logger.info("operation %s interrupted by shutdown; it resumes at the next start", op_id)
        return left


#: Operations claimed per transaction; a pass claims batches until none is left.
_CLAIM_BATCH = 10


def _resume(operation: OperationRecord, failed: dict[str, float]) -> Run:
    async def run(atlas: AsyncAtlas, progress: ProgressCallback) -> OperationRecord:
        del progress  # resume() reports no progress; event streams read the journal
        operation_id = operation.id
        try:
            return await atlas.resume(operation_id)
        except LockedError as exc:
            # Expected, not a failure: another process (an `atlas apply` from the command
            # line, another replica) holds the infrastructure and carries on with it, or took
            # it over from this one (LockLostError).
            logger.info(
                "operation %s is not carried on here: %s; its holder carries on (if its holder "
                "goes away, a process sharing this store takes it over)",
                operation_id,
                exc,
            )
            return atlas.operation(operation_id)
        except BaseException:
            # It could not begin (no credential, a provider down): the claim is let go, so a
            # process that can carry it on takes it at once; this one tries again after a
            # lease. (A start cut short by a shutdown lets it go too: the lock is released.)
            atlas.store.unlock(operation.infrastructure_id, operation_id)
            failed[operation_id] = time.monotonic()
            raise

    return run


async def watch_budgets(
    store: StateStore,
    registry: ProviderRegistry,
    every: float,
    stopping: asyncio.Event,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
) -> None:
    """Until ``stopping`` is set: every ``every`` seconds, check every workspace's budgets
    (:func:`atlas.cost.budgets.check_budgets`); a threshold crossed queues its event, which
    event delivery sends. Several replicas may check at once: each threshold is recorded once.
    A store that cannot be read now is tried again at the next round."""
    from atlas.cost.budgets import check_budgets  # noqa: PLC0415 - only with a checker

    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), every)
        if stopping.is_set():
            return
        try:
            crossed = check_budgets(store, registry, now=clock())
        except AtlasError as exc:
            logger.warning("could not check the budgets: %s", exc)
            continue
        for c in crossed:
            logger.info(
                "budget %s of workspace %s: %d %% crossed for %s",
                c.scope,
                c.event.workspace,
                c.threshold,
                c.event.data.get("month"),
            )
