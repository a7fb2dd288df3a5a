"""The state store over SQL, written once for both databases: every method of
:class:`~atlas.store.base.StateStore` but ``check()`` and ``close()``.

:class:`SQLStore` holds the logic: each method is one transaction, in the SQL text of
:mod:`atlas.store.dialect`. A backend (:class:`~atlas.store.sqlite.SQLiteStore`,
:class:`~atlas.store.postgres.PostgresStore`) gives its :class:`~atlas.store.dialect.Dialect`
and the few steps that are its own: how a transaction is had (:meth:`SQLStore._transaction`),
how the outbox numbers events (:meth:`SQLStore._insert_events`), what a restore holds and
sets besides the rows, and its health report.

An infrastructure's lock (lock, heartbeat, unlock, lock_info) is :class:`SQLStore`'s too, but
lives in :mod:`atlas.store.sqllocks` alone: a row with a holder, a heartbeat and a lease, taken
by one algorithm on both databases.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from types import TracebackType
from typing import Any, ClassVar, Self

import attrs

from atlas.exceptions import LockedError, StateError
from atlas.model.cloud import CloudObject
from atlas.model.infrastructure import Budget
from atlas.model.records import (
    AuditEntry,
    BudgetRecord,
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    OperationStatus,
    ResourceRecord,
    StepRecord,
    StepStatus,
    ThresholdCrossing,
)
from atlas.store import audit, codec
from atlas.store import dialect as q
from atlas.store.base import LockInfo, ObjectOwner, Snapshot, Stats
from atlas.store.dialect import Dialect, Tx
from atlas.store.sqllocks import SQLLocks

__all__ = ["SQLStore"]


class SQLStore(SQLLocks):
    """The :class:`~atlas.store.base.StateStore` logic over a SQL database.

    :param shown: the store's location as messages name it (a URL without its password).
    :param lease_seconds: a lock whose heartbeat is older than this is taken over.
    :param clock: the time source (timezone-aware).
    """

    dialect: ClassVar[Dialect]

    def __init__(
        self, *, shown: str, lease_seconds: float, clock: Callable[[], dt.datetime]
    ) -> None:
        self._shown = shown
        self._lease_seconds = lease_seconds
        self._clock = clock
        #: Why the last write failed for want of storage (the driver's error code and words);
        #: cleared by the next one that commits. This process's own observation, for check().
        self._write_error: tuple[str, str] | None = None
        #: The locks this store took: infrastructure id -> (operation id, fencing token).
        self._fences: dict[str, tuple[str, int]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what a backend gives ----------------------------------------------------------------

    @abc.abstractmethod
    def check(self) -> dict[str, Any]:
        """Health (see :meth:`atlas.store.base.StateStore.check`)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def _transaction(self, *, write: bool, snapshot: bool = False) -> AbstractContextManager[Any]:
        """One transaction on the driver's connection, committed when the block ends (rolled
        back if it raises), the driver's errors raised as ``StateError``. ``write``: it will
        write (and must serialise with other writers); ``snapshot``: every table is read as of
        one instant."""

    @abc.abstractmethod
    def _insert_events(self, tx: Tx, events: Sequence[EventRecord]) -> None:
        """Into the outbox, numbered (``seq``) in commit order."""

    def _hold_for_restore(self, tx: Tx) -> None:
        """Keep every other writer out until the restore commits (SQLite's write transaction
        already does)."""

    def _announce(self, tx: Tx, operation_ids: Collection[str]) -> None:
        """Tell the other processes on this store, when ``tx`` commits, that these
        operations' journals changed (see :meth:`follow`); nothing by default."""

    async def follow(self, on_change: Callable[[], None], stop: asyncio.Event) -> None:
        """See :meth:`atlas.store.base.StateStore.follow`: a store that cannot tell waits."""
        del on_change
        await stop.wait()

    def _restore_events(self, tx: Tx, events: Sequence[tuple[int, EventRecord]]) -> None:
        """Restored events keep their place in the outbox."""
        tx.many(q.INSERT_NUMBERED_EVENT, [{**tx.params(e), "seq": seq} for seq, e in events])

    @abc.abstractmethod
    def _next_audit_seq(self, tx: Tx) -> int:
        """The ``seq`` of the entry about to be appended, never one handed out before; the
        transaction holds what keeps every other append out until it commits."""

    def _restore_audit(self, tx: Tx, entries: Sequence[AuditEntry]) -> None:
        """Restored entries keep their ``seq`` (and the next one follows the last)."""
        tx.many(q.INSERT_AUDIT, [tx.params(e) for e in entries])

    # -- shared machinery --------------------------------------------------------------------

    @contextmanager
    def _tx(self, *, write: bool, snapshot: bool = False) -> Iterator[Tx]:
        with self._transaction(write=write, snapshot=snapshot) as conn:
            yield Tx(conn, self.dialect)

    def _write_error_now(self, probed: str | None, *, seen: Callable[[str], bool]) -> str | None:
        """Why a write would fail now: what check()'s probe found, else what the last write
        that failed for want of storage said, unless its code is one the probe would have
        ``seen`` (then the probe's silence clears it). The probe sees a read-only store, not
        a full disk (its write is never flushed): only the next commit clears what it cannot
        see."""
        if probed is not None or self._write_error is None:
            return probed
        code, words = self._write_error
        if seen(code):
            self._write_error = None
            return None
        return words

    def _stamp(self, when: dt.datetime | None = None) -> Any:
        """``when`` (by default now) as the database's time value; a naive time is refused."""
        return self.dialect.codec.time(self._clock() if when is None else when)

    # -- infrastructures ---------------------------------------------------------------------

    def get_infrastructure(self, workspace: str, key: str) -> InfrastructureRecord | None:
        # An id wins over a name; by name, the live infrastructure over destroyed namesakes,
        # and among those the most recent.
        with self._tx(write=False) as tx:
            found: InfrastructureRecord | None = tx.record(
                InfrastructureRecord,
                """SELECT * FROM infrastructures
                   WHERE workspace = :ws AND (id = :key OR name = :key)
                   ORDER BY id = :key DESC, status = 'destroyed', updated_at DESC
                   LIMIT 1""",
                {"ws": workspace, "key": key},
            )
        return found

    def list_infrastructures(
        self, workspace: str, *, limit: int = 100, offset: int = 0
    ) -> list[InfrastructureRecord]:
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    InfrastructureRecord,
                    """SELECT * FROM infrastructures WHERE workspace = ?
                       ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?""",
                    (workspace, max(limit, 0), max(offset, 0)),
                )
            )

    def save_infrastructure(self, record: InfrastructureRecord) -> None:
        with self._tx(write=True) as tx:
            self._fenced(tx, record.id)
            _save_infrastructure(tx, record)

    # -- resources ---------------------------------------------------------------------------

    def list_resources(self, infrastructure_id: str) -> list[ResourceRecord]:
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    ResourceRecord,
                    "SELECT * FROM resources WHERE infrastructure_id = ? ORDER BY name",
                    (infrastructure_id,),
                )
            )

    def save_resource(self, record: ResourceRecord) -> None:
        with self._tx(write=True) as tx:
            self._fenced(tx, record.infrastructure_id)
            _require_infrastructure(tx, record.infrastructure_id)
            tx.run(q.UPSERT_RESOURCE, tx.params(record))

    def record_objects(
        self, infrastructure_id: str, name: str, objects: Sequence[CloudObject]
    ) -> None:
        with self._tx(write=True) as tx:
            self._fenced(tx, infrastructure_id)
            # Locked as read: two reports of one resource merge one after the other.
            row = tx.one(
                tx.dialect.locking(
                    "SELECT objects FROM resources WHERE infrastructure_id = ? AND name = ?"
                ),
                (infrastructure_id, name),
            )
            if row is None:
                raise StateError(
                    f"resource {name!r} of infrastructure {infrastructure_id} is not recorded; "
                    "save it (status 'creating') before recording its objects"
                )
            tx.run(
                """UPDATE resources SET objects = ?, updated_at = ?
                   WHERE infrastructure_id = ? AND name = ?""",
                (
                    codec.merge_objects(row["objects"], objects),
                    self._stamp(),
                    infrastructure_id,
                    name,
                ),
            )

    def delete_resource(self, infrastructure_id: str, name: str) -> None:
        with self._tx(write=True) as tx:
            self._fenced(tx, infrastructure_id)
            tx.run(
                "DELETE FROM resources WHERE infrastructure_id = ? AND name = ?",
                (infrastructure_id, name),
            )

    def owned_objects(self, provider: str) -> dict[str, ObjectOwner]:
        with self._tx(write=False) as tx:
            rows = tx.all(
                """SELECT i.workspace, i.name AS infrastructure, r.name AS resource,
                          r.imported, r.objects
                   FROM resources r JOIN infrastructures i ON i.id = r.infrastructure_id
                   WHERE i.provider = ?""",
                (provider,),
            )
        owned: dict[str, ObjectOwner] = {}
        for row in rows:
            who = ObjectOwner(
                row["workspace"], row["infrastructure"], row["resource"], bool(row["imported"])
            )
            for obj in codec.load_objects(row["objects"]):
                owned.setdefault(obj.id, who)
        return owned

    # -- operations and steps ----------------------------------------------------------------

    def start_operation(
        self, operation: OperationRecord, steps: Sequence[StepRecord], event: EventRecord
    ) -> None:
        strays = sorted({s.operation_id for s in steps} - {operation.id})
        if strays:
            raise StateError(f"steps of operations {strays} given to operation {operation.id}")
        with self._tx(write=True) as tx:
            self._fenced(tx, operation.infrastructure_id)
            _require_infrastructure(tx, operation.infrastructure_id)
            if tx.exists("SELECT 1 FROM operations WHERE id = ?", operation.id):
                raise StateError(f"operation {operation.id} is already recorded")
            tx.run(q.INSERT_OPERATION, tx.params(operation))
            tx.many(q.INSERT_STEP, [tx.params(s) for s in steps])
            self._insert_events(tx, [event])
            self._announce(tx, [operation.id])

    def get_operation(self, workspace: str, operation_id: str) -> OperationRecord | None:
        with self._tx(write=False) as tx:
            found: OperationRecord | None = tx.record(
                OperationRecord,
                "SELECT * FROM operations WHERE workspace = ? AND id = ?",
                (workspace, operation_id),
            )
        return found

    def list_operations(self, workspace: str, infrastructure_id: str) -> list[OperationRecord]:
        arrival = self.dialect.arrival
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    OperationRecord,
                    f"""SELECT * FROM operations WHERE workspace = ? AND infrastructure_id = ?
                        ORDER BY started_at DESC, {arrival} DESC""",  # noqa: S608 - constants
                    (workspace, infrastructure_id),
                )
            )

    def unfinished_operation(self, infrastructure_id: str) -> OperationRecord | None:
        arrival = self.dialect.arrival
        with self._tx(write=False) as tx:
            found: OperationRecord | None = tx.record(
                OperationRecord,
                f"""SELECT * FROM operations
                    WHERE infrastructure_id = ? AND status IN (?, ?)
                    ORDER BY started_at DESC, {arrival} DESC LIMIT 1""",  # noqa: S608
                (infrastructure_id, *q.UNFINISHED),
            )
        return found

    def unfinished_operations(self) -> list[OperationRecord]:
        arrival = self.dialect.arrival
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    OperationRecord,
                    f"""SELECT * FROM operations WHERE status IN (?, ?)
                        ORDER BY started_at, {arrival}""",  # noqa: S608 - constants
                    q.UNFINISHED,
                )
            )

    def update_operation(self, operation_id: str, **changes: Any) -> OperationRecord:
        fixed = sorted(q.FIXED_OPERATION_FIELDS & changes.keys())
        if fixed:
            raise StateError(f"an operation's {', '.join(fixed)} cannot change")
        with self._tx(write=True) as tx:
            current = _operation(tx, operation_id, lock=True)
            self._fenced(tx, current.infrastructure_id)
            updated = attrs.evolve(current, **changes)  # unknown field names raise TypeError
            tx.run(q.UPDATE_OPERATION, tx.params(updated))
            self._announce(tx, [operation_id])
            # Read back, so the caller gets exactly what a later read will (tuples, not lists).
            return _operation(tx, operation_id)

    def finish_operation(
        self,
        operation_id: str,
        status: OperationStatus,
        *,
        error: str | None,
        infrastructure: InfrastructureRecord,
        events: Sequence[EventRecord],
    ) -> None:
        if status in q.UNFINISHED:
            raise StateError(f"an operation cannot finish as {status!r}")
        with self._tx(write=True) as tx:
            self._fenced(tx, _operation(tx, operation_id).infrastructure_id)
            self._fenced(tx, infrastructure.id)
            tx.run(
                "UPDATE operations SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                (status, error, self._stamp(), operation_id),
            )
            _save_infrastructure(tx, infrastructure)
            self._insert_events(tx, events)
            self._announce(tx, [operation_id])

    def continue_operation(
        self, operation_id: str, steps: Sequence[StepRecord], *, interrupted: str
    ) -> OperationRecord:
        strays = sorted({s.operation_id for s in steps} - {operation_id})
        if strays:
            raise StateError(f"steps of operations {strays} given to operation {operation_id}")
        with self._tx(write=True) as tx:
            op = _operation(tx, operation_id, lock=True)
            mine = self._fences.get(op.infrastructure_id)
            if mine is None or mine[0] != operation_id:
                raise LockedError(
                    f"operation {operation_id} does not hold the lock of infrastructure "
                    f"{op.infrastructure_id}: take it (lock, or claim_orphans) first",
                    operation_id=mine[0] if mine is not None else "",
                )
            self._fenced(tx, op.infrastructure_id)
            if op.status not in q.UNFINISHED:
                raise StateError(
                    f"operation {operation_id} is {op.status}: only an unfinished operation is "
                    "carried on"
                )
            tx.run("DELETE FROM steps WHERE operation_id = ? AND status = 'pending'", (op.id,))
            tx.run(
                """UPDATE steps SET status = 'failed', error = ?, finished_at = ?
                   WHERE operation_id = ? AND status = 'running'""",
                (interrupted, self._stamp(), op.id),
            )
            tx.many(q.INSERT_STEP, [tx.params(s) for s in steps])
            done = tx.count(
                "SELECT count(*) AS n FROM steps WHERE operation_id = ? AND status = 'done'",
                op.id,
            )
            carried = attrs.evolve(
                op,
                status="in_progress",
                total_steps=done + len(steps),
                completed_steps=done,
                current_step=None,
                error=None,
                finished_at=None,
            )
            tx.run(q.UPDATE_OPERATION, tx.params(carried))
            self._announce(tx, [op.id])
            return _operation(tx, op.id)

    def steps(self, operation_id: str) -> list[StepRecord]:
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    StepRecord,
                    "SELECT * FROM steps WHERE operation_id = ? ORDER BY idx",
                    (operation_id,),
                )
            )

    def update_step(
        self,
        operation_id: str,
        index: int,
        *,
        status: StepStatus,
        provider_ids: Sequence[str] | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> None:
        params = {
            "operation_id": operation_id,
            "idx": index,
            "status": status,
            "error": error,
            "note": note,
            "provider_ids": None if provider_ids is None else codec.dump_json(list(provider_ids)),
            "running": status == "running",
            "ended": status in q.ENDED,
            "now": self._stamp(),
        }
        with self._tx(write=True) as tx:
            if self._fences:
                self._fenced(tx, _operation(tx, operation_id).infrastructure_id)
            if tx.run(q.UPDATE_STEP, params).rowcount == 0:
                raise StateError(f"step {index} of operation {operation_id} is not recorded")
            self._announce(tx, [operation_id])

    # -- events ------------------------------------------------------------------------------

    def add_events(self, events: Sequence[EventRecord]) -> None:
        with self._tx(write=True) as tx:
            for infrastructure_id in sorted({e.infrastructure_id for e in events}):
                self._fenced(tx, infrastructure_id)
            self._insert_events(tx, events)
            self._announce(tx, sorted({e.operation_id for e in events if e.operation_id}))

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    EventRecord,
                    "SELECT * FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?",
                    (max(limit, 0),),
                )
            )

    def mark_delivered(self, event_ids: Sequence[str]) -> None:
        now = self._stamp()
        with self._tx(write=True) as tx:
            tx.many(
                "UPDATE events SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                [(now, event_id) for event_id in event_ids],
            )

    def events_of(self, workspace: str, operation_id: str) -> list[EventRecord]:
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    EventRecord,
                    "SELECT * FROM events WHERE workspace = ? AND operation_id = ? ORDER BY seq",
                    (workspace, operation_id),
                )
            )

    # -- the audit trail ---------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> AuditEntry:
        with self._tx(write=True) as tx:
            seq = self._next_audit_seq(tx)
            last = tx.one("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")
            sealed = audit.seal(
                entry, seq=seq, prev_hash=audit.GENESIS if last is None else str(last["hash"])
            )
            tx.run(q.INSERT_AUDIT, tx.params(sealed))
        return sealed

    def audit_entries(
        self, workspace: str | None, *, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        scope = "" if workspace is None else " AND workspace = :ws"
        with self._tx(write=False) as tx:
            return list(
                tx.records(
                    AuditEntry,
                    f"""SELECT * FROM audit WHERE seq > :after{scope}
                        ORDER BY seq LIMIT :limit""",  # noqa: S608 - constants
                    {"after": after_seq, "ws": workspace, "limit": max(limit, 0)},
                )
            )

    # -- backup ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        # Text is ordered by its bytes in both databases, so that their snapshots are equal.
        b = self.dialect.binary
        with self._tx(write=False, snapshot=True) as tx:
            return Snapshot(
                infrastructures=tx.everything(
                    InfrastructureRecord, "infrastructures", f"workspace{b}, created_at, id{b}"
                ),
                resources=tx.everything(
                    ResourceRecord, "resources", f"infrastructure_id{b}, name{b}"
                ),
                operations=tx.everything(OperationRecord, "operations", self.dialect.arrival),
                steps=tx.everything(StepRecord, "steps", f"operation_id{b}, idx"),
                events=tuple(
                    (int(r["seq"]), tx.dialect.codec.from_row(r, EventRecord))
                    for r in tx.all("SELECT * FROM events ORDER BY seq")
                ),
                locks=tx.everything(LockInfo, "locks", f"infrastructure_id{b}"),
                audit=tx.everything(AuditEntry, "audit", "seq"),
                budgets=tx.everything(BudgetRecord, "budgets", f"workspace{b}"),
                threshold_crossings=tx.everything(
                    ThresholdCrossing,
                    "budget_crossings",
                    f"workspace{b}, scope{b}, month{b}, threshold",
                ),
            )

    def restore(self, snapshot: Snapshot) -> None:
        with self._tx(write=True) as tx:
            # Nobody else may write while a store is restored: the emptiness checked is the
            # emptiness restored into.
            self._hold_for_restore(tx)
            _refuse_non_empty(tx, self._shown)
            for statement, records in (
                (q.INSERT_INFRASTRUCTURE, snapshot.infrastructures),
                (q.INSERT_RESOURCE, snapshot.resources),
                (q.INSERT_OPERATION, snapshot.operations),
                (q.INSERT_STEP, snapshot.steps),
                (q.INSERT_LOCK, snapshot.locks),
            ):
                tx.many(statement, [tx.params(r) for r in records])
            # A restored lock's token is the highest its infrastructure has handed out.
            tx.many(
                "INSERT INTO lock_tokens (infrastructure_id, token) VALUES (?, ?)",
                [(lock.infrastructure_id, lock.token) for lock in snapshot.locks],
            )
            self._restore_events(tx, snapshot.events)
            self._restore_audit(tx, snapshot.audit)
            # After the events: a threshold crossed is one whose event is queued already.
            tx.many(q.INSERT_BUDGET, [tx.params(r) for r in snapshot.budgets])
            tx.many(q.INSERT_CROSSING, [tx.params(r) for r in snapshot.threshold_crossings])

    # -- budgets -----------------------------------------------------------------------------

    def set_budget(self, workspace: str, budget: Budget | None) -> None:
        with self._tx(write=True) as tx:
            tx.run("DELETE FROM budgets WHERE workspace = ?", (workspace,))
            if budget is not None:
                record = BudgetRecord.of(workspace, budget, updated_at=self._clock())
                tx.run(q.INSERT_BUDGET, tx.params(record))

    def get_budget(self, workspace: str) -> Budget | None:
        with self._tx(write=False) as tx:
            found: BudgetRecord | None = tx.record(
                BudgetRecord, "SELECT * FROM budgets WHERE workspace = ?", (workspace,)
            )
        return None if found is None else found.budget()

    def workspaces(self) -> list[str]:
        with self._tx(write=False) as tx:
            rows = tx.all(
                """SELECT workspace FROM infrastructures
                   UNION SELECT workspace FROM budgets ORDER BY 1"""
            )
        return [str(r["workspace"]) for r in rows]

    def cross_threshold(self, scope: str, month: str, threshold: int, event: EventRecord) -> bool:
        crossing = ThresholdCrossing(
            workspace=event.workspace,
            scope=scope,
            month=month,
            threshold=threshold,
            event_id=event.id,
            crossed_at=event.time,
        )
        with self._tx(write=True) as tx:
            tx.run(q.CROSS_THRESHOLD, tx.params(crossing))
            row = tx.one(
                """SELECT event_id FROM budget_crossings
                   WHERE workspace = ? AND scope = ? AND month = ? AND threshold = ?""",
                (event.workspace, scope, month, threshold),
            )
            if row is None or str(row["event_id"]) != event.id:
                return False  # crossed before, in this month: its event is queued already
            self._insert_events(tx, [event])
        return True

    def crossed_thresholds(self, workspace: str, scope: str, month: str) -> list[int]:
        with self._tx(write=False) as tx:
            rows = tx.all(
                """SELECT threshold FROM budget_crossings
                   WHERE workspace = ? AND scope = ? AND month = ? ORDER BY threshold""",
                (workspace, scope, month),
            )
        return [int(r["threshold"]) for r in rows]

    # -- the rest ----------------------------------------------------------------------------

    def stats(self, workspace: str) -> Stats:
        with self._tx(write=False) as tx:
            infra = tx.all(
                """SELECT status, monthly_cost, currency FROM infrastructures
                   WHERE workspace = ? AND status <> 'destroyed'""",
                (workspace,),
            )
            resources = tx.count(
                """SELECT count(*) AS n FROM resources r JOIN infrastructures i
                       ON i.id = r.infrastructure_id
                   WHERE i.workspace = ? AND i.status <> 'destroyed'
                     AND r.status <> 'deleted'""",
                workspace,
            )
            running = tx.count(
                "SELECT count(*) AS n FROM operations WHERE workspace = ? AND status IN (?, ?)",
                workspace,
                *q.UNFINISHED,
            )
        # Summed here, in Decimal: SQLite's sum() of TEXT would go through REAL.
        costs: dict[str, Decimal] = {}
        for r in infra:
            costs[r["currency"]] = costs.get(r["currency"], Decimal(0)) + Decimal(r["monthly_cost"])
        return Stats(
            total_infrastructures=len(infra),
            active_infrastructures=sum(1 for r in infra if r["status"] == "active"),
            total_resources=resources,
            monthly_costs=dict(sorted(costs.items())),
            operations_in_progress=running,
        )


# -- steps inside a transaction --------------------------------------------------------------


def _require_infrastructure(tx: Tx, infrastructure_id: str) -> None:
    if not tx.exists("SELECT 1 FROM infrastructures WHERE id = ?", infrastructure_id):
        raise StateError(f"infrastructure {infrastructure_id} is not recorded")


def _save_infrastructure(tx: Tx, record: InfrastructureRecord) -> None:
    if record.status != "destroyed":
        clash = tx.one(
            """SELECT id FROM infrastructures
               WHERE workspace = ? AND name = ? AND status <> 'destroyed' AND id <> ?""",
            (record.workspace, record.name, record.id),
        )
        if clash is not None:
            raise StateError(
                f"workspace {record.workspace!r} already has an infrastructure named "
                f"{record.name!r} (id {clash['id']})"
            )
    if tx.run(q.UPSERT_INFRASTRUCTURE, tx.params(record)).rowcount == 0:
        # The id exists, in another workspace: never move it.
        raise StateError(
            f"infrastructure {record.id} does not belong to workspace {record.workspace!r}"
        )


def _operation(tx: Tx, operation_id: str, *, lock: bool = False) -> OperationRecord:
    sql = "SELECT * FROM operations WHERE id = ?"
    sql = tx.dialect.locking(sql) if lock else sql
    found: OperationRecord | None = tx.record(OperationRecord, sql, (operation_id,))
    if found is None:
        raise StateError(f"operation {operation_id} is not recorded")
    return found


def _refuse_non_empty(tx: Tx, shown: str) -> None:
    counts = tx.one(
        """SELECT (SELECT count(*) FROM infrastructures) AS infrastructures,
                  (SELECT count(*) FROM operations) AS operations,
                  (SELECT count(*) FROM events) AS events,
                  (SELECT count(*) FROM locks) AS locks,
                  (SELECT count(*) FROM audit) AS audit_entries,
                  (SELECT count(*) FROM budgets) AS budgets,
                  (SELECT count(*) FROM budget_crossings) AS threshold_crossings"""
    )
    held = {k: int(v) for k, v in dict(counts or {}).items() if v}
    if held:
        what = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in held.items())
        raise StateError(
            f"the state store at {shown} is not empty ({what}): a backup is restored into "
            "an empty store only"
        )
