"""The embedded state store: one SQLite file (or ``:memory:`` for tests).

Durability first: WAL with ``synchronous=FULL`` (a committed step survives a power cut), a busy
timeout (a second process waits for the write lock instead of failing at once) and foreign keys,
each read back when the store opens. Every method is one transaction; writes begin with
``BEGIN IMMEDIATE`` so that two processes on one file serialise at the start of a transaction
rather than failing half-way through it.

One connection serves every thread, guarded by a lock: the sync facade calls from a worker
thread, and ``:memory:`` is one database per connection anyway.

:meth:`SQLiteStore.check` tells whether writes would succeed, not only reads: SQLite opens a file
it may not write read-only without a word, and then every write fails while every read answers.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import attrs

from atlas.exceptions import LockedError, StateError
from atlas.model.cloud import CloudObject
from atlas.model.records import (
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    OperationStatus,
    ResourceRecord,
    StepRecord,
    StepStatus,
    utcnow,
)
from atlas.store import codec, schema
from atlas.store.base import LockInfo, ObjectOwner, Snapshot, Stats
from atlas.store.leases import current_holder, holder_is_gone, lease_expired

__all__ = ["DEFAULT_STATE_PATH", "STATE_ENV", "SQLiteStore"]

logger = logging.getLogger(__name__)

#: The environment variable naming the state store (a file, or a URL: atlas.store.opening).
STATE_ENV: Final = "ATLAS_STATE"
#: Where the state lives when nothing says otherwise (relative to the working directory).
DEFAULT_STATE_PATH: Final = Path(".atlas") / "state.db"

_MEMORY = ":memory:"
_UNFINISHED = ("pending", "in_progress")
_ENDED: frozenset[str] = frozenset({"done", "failed", "timed_out", "rolled_back"})
#: SQLite's errors (``sqlite_errorname``, prefixes) that say the storage cannot take a write,
#: rather than that another writer is busy or a statement is wrong.
_STORAGE_ERRORS = (
    "SQLITE_READONLY",
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_PERM",
)
#: An operation's identity: update_operation may change anything else.
_FIXED_OPERATION_FIELDS = frozenset({"id", "workspace", "infrastructure_id"})


# The statements are built from the records' fields (codec.columns), so that a field added to
# a record is stored without a statement to edit. Table and column names are this module's own
# constants, never input: hence the noqa for string-built SQL.


def _insert(table: str, record: type[Any], *, extra: Sequence[str] = ()) -> str:
    """``INSERT`` of every column of ``record`` (named parameters, as codec.params gives),
    after the ``extra`` columns that are not the record's."""
    names = (*extra, *codec.columns(record))
    values = ", ".join(f":{n}" for n in names)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})"  # noqa: S608


def _assign(record: type[Any], fixed: Collection[str], *, source: str = "excluded.") -> str:
    """``column = <source>column`` for every column of ``record`` but the ``fixed`` ones."""
    return ", ".join(f"{n} = {source}{n}" for n in codec.columns(record) if n not in fixed)


_INSERT_INFRASTRUCTURE = _insert("infrastructures", InfrastructureRecord)
_UPSERT_INFRASTRUCTURE = (
    _INSERT_INFRASTRUCTURE
    + f" ON CONFLICT (id) DO UPDATE SET {_assign(InfrastructureRecord, ('id', 'workspace'))}"
    + " WHERE infrastructures.workspace = excluded.workspace"
)
# An upsert, never INSERT OR REPLACE: a replace deletes the row first, and the cascade would
# take the infrastructure's resources and operations with it.
_INSERT_RESOURCE = _insert("resources", ResourceRecord)
_UPSERT_RESOURCE = (
    _INSERT_RESOURCE
    + " ON CONFLICT (infrastructure_id, name) DO UPDATE SET "
    + _assign(ResourceRecord, ("infrastructure_id", "name"))
)
_INSERT_OPERATION = _insert("operations", OperationRecord)
_OPERATION_CHANGES = _assign(OperationRecord, _FIXED_OPERATION_FIELDS, source=":")
_UPDATE_OPERATION = f"UPDATE operations SET {_OPERATION_CHANGES} WHERE id = :id"  # noqa: S608
_INSERT_STEP = _insert("steps", StepRecord)
# ``running`` keeps the first start (a resumed step started when it first ran) and clears an
# earlier end; an end state stamps the end. Provider ids are only replaced when given.
_UPDATE_STEP = """
    UPDATE steps SET
        status = :status,
        error = :error,
        note = coalesce(:note, note),
        provider_ids = coalesce(:provider_ids, provider_ids),
        started_at = CASE WHEN :running THEN coalesce(started_at, :now) ELSE started_at END,
        finished_at = CASE WHEN :ended THEN :now WHEN :running THEN NULL ELSE finished_at END
    WHERE operation_id = :operation_id AND idx = :idx
"""
_INSERT_EVENT = _insert("events", EventRecord)
#: A restored event keeps its place in the outbox.
_RESTORE_EVENT = _insert("events", EventRecord, extra=("seq",))
_INSERT_LOCK = _insert("locks", LockInfo)
_UPSERT_LOCK = """
    INSERT INTO locks (infrastructure_id, operation_id, holder, acquired_at, heartbeat_at)
    VALUES (:infrastructure_id, :operation_id, :holder, :now, :now)
    ON CONFLICT (infrastructure_id) DO UPDATE SET
        operation_id = excluded.operation_id, holder = excluded.holder,
        acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at
"""


class SQLiteStore:
    """The :class:`~atlas.store.base.StateStore` in one SQLite file.

    :param path: the database file (its directory is created), or ``":memory:"``.
    :param lease_seconds: a lock whose heartbeat is older than this is taken over.
    :param clock: the time source (timezone-aware), injectable so leases test without sleeping.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = _MEMORY,
        *,
        lease_seconds: float = 120.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._path = os.fspath(path)
        self._in_memory = self._path == _MEMORY
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._mutex = threading.RLock()
        #: Why the last write failed for want of storage (SQLite's error name and words);
        #: cleared by the next one that commits.
        self._write_error: tuple[str, str] | None = None
        self._conn: sqlite3.Connection | None = self._open()

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    @property
    def path(self) -> str:
        """The database file (``":memory:"`` for none): what else may open it (the shared
        rate budget, :mod:`atlas.store.budget`)."""
        return self._path

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- opening and transactions ------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            if not self._in_memory:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self._path,
                timeout=schema.BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._mutex
            )
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state store at {self._path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        try:
            _prepare(conn, in_memory=self._in_memory)
        except sqlite3.Error as exc:
            conn.close()
            raise StateError(f"cannot prepare the state store at {self._path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._conn is None:
                raise StateError(f"the state store at {self._path} is closed")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                self._note_write_error(exc, write=write)
                raise StateError(f"the state store at {self._path} is busy: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                # Some errors (disk full, I/O) end the transaction themselves.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    self._note_write_error(exc, write=write)
                    raise StateError(f"the state store at {self._path} failed: {exc}") from exc
                raise
            if write:
                self._write_error = None

    def _note_write_error(self, exc: sqlite3.Error, *, write: bool) -> None:
        if write and _is_storage_error(exc):
            # SQLite's words, which name no path.
            self._write_error = (str(getattr(exc, "sqlite_errorname", "")), str(exc))

    def _probe_write(self, conn: sqlite3.Connection) -> str | None:
        """Why a write would fail now, or ``None``: a write that changes nothing (an UPDATE
        matching no row still needs write access), rolled back. It never waits for the write
        lock: another process holding it is writing, which is no sign of trouble."""
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE locks SET holder = holder WHERE 0")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            return str(exc) if _is_storage_error(exc) else None
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(schema.BUSY_TIMEOUT_MS)}")
        return None

    def _now(self) -> str:
        return codec.dump_time(self._clock())

    # -- infrastructures ---------------------------------------------------------------------

    def get_infrastructure(self, workspace: str, key: str) -> InfrastructureRecord | None:
        # An id wins over a name; by name, the live infrastructure over destroyed namesakes,
        # and among those the most recent.
        with self._transaction(write=False) as conn:
            row = conn.execute(
                """SELECT * FROM infrastructures
                   WHERE workspace = :ws AND (id = :key OR name = :key)
                   ORDER BY id = :key DESC, status = 'destroyed', updated_at DESC
                   LIMIT 1""",
                {"ws": workspace, "key": key},
            ).fetchone()
        return None if row is None else codec.from_row(row, InfrastructureRecord)

    def list_infrastructures(
        self, workspace: str, *, limit: int = 100, offset: int = 0
    ) -> list[InfrastructureRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT * FROM infrastructures WHERE workspace = ?
                   ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?""",
                (workspace, max(limit, 0), max(offset, 0)),
            ).fetchall()
        return [codec.from_row(r, InfrastructureRecord) for r in rows]

    def save_infrastructure(self, record: InfrastructureRecord) -> None:
        with self._transaction(write=True) as conn:
            self._save_infrastructure(conn, record)

    def _save_infrastructure(self, conn: sqlite3.Connection, record: InfrastructureRecord) -> None:
        if record.status != "destroyed":
            clash = conn.execute(
                """SELECT id FROM infrastructures
                   WHERE workspace = ? AND name = ? AND status != 'destroyed' AND id != ?""",
                (record.workspace, record.name, record.id),
            ).fetchone()
            if clash is not None:
                raise StateError(
                    f"workspace {record.workspace!r} already has an infrastructure named "
                    f"{record.name!r} (id {clash['id']})"
                )
        cursor = conn.execute(_UPSERT_INFRASTRUCTURE, codec.params(record))
        if cursor.rowcount == 0:  # the id exists, in another workspace: never move it
            raise StateError(
                f"infrastructure {record.id} does not belong to workspace {record.workspace!r}"
            )

    # -- resources ---------------------------------------------------------------------------

    def list_resources(self, infrastructure_id: str) -> list[ResourceRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM resources WHERE infrastructure_id = ? ORDER BY name",
                (infrastructure_id,),
            ).fetchall()
        return [codec.from_row(r, ResourceRecord) for r in rows]

    def save_resource(self, record: ResourceRecord) -> None:
        with self._transaction(write=True) as conn:
            _require_infrastructure(conn, record.infrastructure_id)
            conn.execute(_UPSERT_RESOURCE, codec.params(record))

    def record_objects(
        self, infrastructure_id: str, name: str, objects: Sequence[CloudObject]
    ) -> None:
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT objects FROM resources WHERE infrastructure_id = ? AND name = ?",
                (infrastructure_id, name),
            ).fetchone()
            if row is None:
                raise StateError(
                    f"resource {name!r} of infrastructure {infrastructure_id} is not recorded; "
                    "save it (status 'creating') before recording its objects"
                )
            conn.execute(
                """UPDATE resources SET objects = ?, updated_at = ?
                   WHERE infrastructure_id = ? AND name = ?""",
                (
                    codec.merge_objects(row["objects"], objects),
                    self._now(),
                    infrastructure_id,
                    name,
                ),
            )

    def delete_resource(self, infrastructure_id: str, name: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(
                "DELETE FROM resources WHERE infrastructure_id = ? AND name = ?",
                (infrastructure_id, name),
            )

    def owned_objects(self, provider: str) -> dict[str, ObjectOwner]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT i.workspace, i.name AS infrastructure, r.name AS resource,
                          r.imported, r.objects
                   FROM resources r JOIN infrastructures i ON i.id = r.infrastructure_id
                   WHERE i.provider = ?""",
                (provider,),
            ).fetchall()
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
        with self._transaction(write=True) as conn:
            _require_infrastructure(conn, operation.infrastructure_id)
            if _exists(conn, "SELECT 1 FROM operations WHERE id = ?", operation.id):
                raise StateError(f"operation {operation.id} is already recorded")
            conn.execute(_INSERT_OPERATION, codec.params(operation))
            conn.executemany(_INSERT_STEP, [codec.params(s) for s in steps])
            conn.execute(_INSERT_EVENT, codec.params(event))

    def get_operation(self, workspace: str, operation_id: str) -> OperationRecord | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT * FROM operations WHERE workspace = ? AND id = ?",
                (workspace, operation_id),
            ).fetchone()
        return None if row is None else codec.from_row(row, OperationRecord)

    def list_operations(self, workspace: str, infrastructure_id: str) -> list[OperationRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT * FROM operations WHERE workspace = ? AND infrastructure_id = ?
                   ORDER BY started_at DESC, rowid DESC""",
                (workspace, infrastructure_id),
            ).fetchall()
        return [codec.from_row(r, OperationRecord) for r in rows]

    def unfinished_operation(self, infrastructure_id: str) -> OperationRecord | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                """SELECT * FROM operations
                   WHERE infrastructure_id = ? AND status IN (?, ?)
                   ORDER BY started_at DESC, rowid DESC LIMIT 1""",
                (infrastructure_id, *_UNFINISHED),
            ).fetchone()
        return None if row is None else codec.from_row(row, OperationRecord)

    def unfinished_operations(self) -> list[OperationRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT * FROM operations WHERE status IN (?, ?)
                   ORDER BY started_at, rowid""",
                _UNFINISHED,
            ).fetchall()
        return [codec.from_row(r, OperationRecord) for r in rows]

    def update_operation(self, operation_id: str, **changes: Any) -> OperationRecord:
        fixed = sorted(_FIXED_OPERATION_FIELDS & changes.keys())
        if fixed:
            raise StateError(f"an operation's {', '.join(fixed)} cannot change")
        with self._transaction(write=True) as conn:
            current = _operation(conn, operation_id)
            updated = attrs.evolve(current, **changes)  # unknown field names raise TypeError
            conn.execute(_UPDATE_OPERATION, codec.params(updated))
            # Read back, so the caller gets exactly what a later read will (tuples, not lists).
            return _operation(conn, operation_id)

    def finish_operation(
        self,
        operation_id: str,
        status: OperationStatus,
        *,
        error: str | None,
        infrastructure: InfrastructureRecord,
        events: Sequence[EventRecord],
    ) -> None:
        if status in _UNFINISHED:
            raise StateError(f"an operation cannot finish as {status!r}")
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE operations SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                (status, error, self._now(), operation_id),
            )
            if cursor.rowcount == 0:
                raise StateError(f"operation {operation_id} is not recorded")
            self._save_infrastructure(conn, infrastructure)
            conn.executemany(_INSERT_EVENT, [codec.params(e) for e in events])

    def steps(self, operation_id: str) -> list[StepRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM steps WHERE operation_id = ? ORDER BY idx", (operation_id,)
            ).fetchall()
        return [codec.from_row(r, StepRecord) for r in rows]

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
            "ended": status in _ENDED,
            "now": self._now(),
        }
        with self._transaction(write=True) as conn:
            if conn.execute(_UPDATE_STEP, params).rowcount == 0:
                raise StateError(f"step {index} of operation {operation_id} is not recorded")

    # -- locks -------------------------------------------------------------------------------

    def lock(self, infrastructure_id: str, operation_id: str) -> None:
        holder = current_holder()
        now = self._clock()
        with self._transaction(write=True) as conn:
            held = _lock_row(conn, infrastructure_id)
            if held is not None:
                if held.operation_id == operation_id and held.holder == holder:
                    _touch_lock(conn, infrastructure_id, codec.dump_time(now))
                    return
                if not self._is_stale(held, now):
                    raise _locked_error(conn, held)
                logger.warning(
                    "taking over the lock of infrastructure %s from operation %s "
                    "(holder %s, last heartbeat %s)",
                    infrastructure_id,
                    held.operation_id,
                    held.holder,
                    held.heartbeat_at.isoformat(),
                )
            conn.execute(
                _UPSERT_LOCK,
                {
                    "infrastructure_id": infrastructure_id,
                    "operation_id": operation_id,
                    "holder": holder,
                    "now": codec.dump_time(now),
                },
            )

    def _is_stale(self, held: LockInfo, now: dt.datetime) -> bool:
        return holder_is_gone(held.holder) or lease_expired(
            held.heartbeat_at, now, self._lease_seconds
        )

    def heartbeat(self, infrastructure_id: str, operation_id: str) -> None:
        # A holder that lost its lease (and the lock with it) must learn so here and stop.
        with self._transaction(write=True) as conn:
            held = _lock_row(conn, infrastructure_id)
            if held is None:
                raise StateError(
                    f"operation {operation_id} does not hold the lock of infrastructure "
                    f"{infrastructure_id}: nobody does"
                )
            if held.operation_id != operation_id or held.holder != current_holder():
                raise _locked_error(conn, held)
            _touch_lock(conn, infrastructure_id, self._now())

    def unlock(self, infrastructure_id: str, operation_id: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(
                "DELETE FROM locks WHERE infrastructure_id = ? AND operation_id = ?",
                (infrastructure_id, operation_id),
            )

    def lock_info(self, infrastructure_id: str) -> LockInfo | None:
        with self._transaction(write=False) as conn:
            return _lock_row(conn, infrastructure_id)

    # -- events ------------------------------------------------------------------------------

    def add_events(self, events: Sequence[EventRecord]) -> None:
        with self._transaction(write=True) as conn:
            conn.executemany(_INSERT_EVENT, [codec.params(e) for e in events])

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?",
                (max(limit, 0),),
            ).fetchall()
        return [codec.from_row(r, EventRecord) for r in rows]

    def mark_delivered(self, event_ids: Sequence[str]) -> None:
        now = self._now()
        with self._transaction(write=True) as conn:
            conn.executemany(
                "UPDATE events SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                [(now, event_id) for event_id in event_ids],
            )

    def events_of(self, workspace: str, operation_id: str) -> list[EventRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM events WHERE workspace = ? AND operation_id = ? ORDER BY seq",
                (workspace, operation_id),
            ).fetchall()
        return [codec.from_row(r, EventRecord) for r in rows]

    # -- backup ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        # One read transaction: in WAL mode it sees every table as of its first read.
        with self._transaction(write=False) as conn:
            return Snapshot(
                infrastructures=_all(
                    conn,
                    InfrastructureRecord,
                    "SELECT * FROM infrastructures ORDER BY workspace, created_at, id",
                ),
                resources=_all(
                    conn, ResourceRecord, "SELECT * FROM resources ORDER BY infrastructure_id, name"
                ),
                operations=_all(conn, OperationRecord, "SELECT * FROM operations ORDER BY rowid"),
                steps=_all(conn, StepRecord, "SELECT * FROM steps ORDER BY operation_id, idx"),
                events=tuple(
                    (int(r["seq"]), codec.from_row(r, EventRecord))
                    for r in conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
                ),
                locks=_all(conn, LockInfo, "SELECT * FROM locks ORDER BY infrastructure_id"),
            )

    def restore(self, snapshot: Snapshot) -> None:
        with self._transaction(write=True) as conn:
            _refuse_non_empty(conn, self._path)
            for statement, records in (
                (_INSERT_INFRASTRUCTURE, snapshot.infrastructures),
                (_INSERT_RESOURCE, snapshot.resources),
                (_INSERT_OPERATION, snapshot.operations),
                (_INSERT_STEP, snapshot.steps),
                (_INSERT_LOCK, snapshot.locks),
            ):
                conn.executemany(statement, [codec.params(r) for r in records])
            conn.executemany(
                _RESTORE_EVENT, [{**codec.params(e), "seq": seq} for seq, e in snapshot.events]
            )

    # -- the rest ----------------------------------------------------------------------------

    def stats(self, workspace: str) -> Stats:
        with self._transaction(write=False) as conn:
            infra = conn.execute(
                """SELECT status, monthly_cost, currency FROM infrastructures
                   WHERE workspace = ? AND status != 'destroyed'""",
                (workspace,),
            ).fetchall()
            resources = _count(
                conn,
                """SELECT count(*) FROM resources r JOIN infrastructures i
                       ON i.id = r.infrastructure_id
                   WHERE i.workspace = ? AND i.status != 'destroyed' AND r.status != 'deleted'""",
                workspace,
            )
            running = _count(
                conn,
                "SELECT count(*) FROM operations WHERE workspace = ? AND status IN (?, ?)",
                workspace,
                *_UNFINISHED,
            )
        # Summed here, in Decimal: SQL's sum() of TEXT would go through REAL.
        costs: dict[str, Decimal] = {}
        for r in infra:
            costs[r["currency"]] = costs.get(r["currency"], Decimal(0)) + codec.load_money(
                r["monthly_cost"]
            )
        return Stats(
            total_infrastructures=len(infra),
            active_infrastructures=sum(1 for r in infra if r["status"] == "active"),
            total_resources=resources,
            monthly_costs=dict(sorted(costs.items())),
            operations_in_progress=running,
        )

    def check(self) -> dict[str, Any]:
        with self._mutex:
            with self._transaction(write=False) as conn:
                settings = schema.verify_settings(conn, in_memory=self._in_memory)
                version = schema.version(conn)
            write_error = self._probe_write(conn)
            if write_error is None and self._write_error is not None:
                name, words = self._write_error
                # The probe sees a read-only store, not a full disk (its write is never
                # flushed): only the next commit clears what it cannot see.
                if name.startswith("SQLITE_READONLY"):
                    self._write_error = None
                else:
                    write_error = words
        report: dict[str, Any] = {
            "backend": "sqlite",
            "path": self._path,
            "sqlite_version": sqlite3.sqlite_version,
            **settings,
            "schema_version": version,
            "durable": not self._in_memory,
            "writable": write_error is None,
        }
        if write_error is not None:
            report["write_error"] = write_error
        if self._in_memory:
            report["note"] = "in-memory store: no WAL, nothing survives close(); for tests only"
        return report

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# -- helpers (run inside a transaction) ------------------------------------------------------


def _is_storage_error(exc: sqlite3.Error) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(_STORAGE_ERRORS)


def _exists(conn: sqlite3.Connection, sql: str, *params: object) -> bool:
    return conn.execute(sql, params).fetchone() is not None


def _count(conn: sqlite3.Connection, sql: str, *params: object) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _all(conn: sqlite3.Connection, cls: type[Any], sql: str) -> tuple[Any, ...]:
    return tuple(codec.from_row(r, cls) for r in conn.execute(sql).fetchall())


def _refuse_non_empty(conn: sqlite3.Connection, path: str) -> None:
    held = {
        table: n
        for table in ("infrastructures", "operations", "events", "locks")
        if (n := _count(conn, f"SELECT count(*) FROM {table}"))  # noqa: S608 - constants
    }
    if held:
        what = ", ".join(f"{n} {table}" for table, n in held.items())
        raise StateError(
            f"the state store at {path} is not empty ({what}): a backup is restored into "
            "an empty store only"
        )


def _require_infrastructure(conn: sqlite3.Connection, infrastructure_id: str) -> None:
    if not _exists(conn, "SELECT 1 FROM infrastructures WHERE id = ?", infrastructure_id):
        raise StateError(f"infrastructure {infrastructure_id} is not recorded")


def _operation(conn: sqlite3.Connection, operation_id: str) -> OperationRecord:
    row = conn.execute("SELECT * FROM operations WHERE id = ?", (operation_id,)).fetchone()
    if row is None:
        raise StateError(f"operation {operation_id} is not recorded")
    return codec.from_row(row, OperationRecord)


def _lock_row(conn: sqlite3.Connection, infrastructure_id: str) -> LockInfo | None:
    row = conn.execute(
        "SELECT * FROM locks WHERE infrastructure_id = ?", (infrastructure_id,)
    ).fetchone()
    return None if row is None else codec.from_row(row, LockInfo)


def _touch_lock(conn: sqlite3.Connection, infrastructure_id: str, now: str) -> None:
    conn.execute(
        "UPDATE locks SET heartbeat_at = ? WHERE infrastructure_id = ?", (now, infrastructure_id)
    )


def _locked_error(conn: sqlite3.Connection, held: LockInfo) -> LockedError:
    row = conn.execute(
        "SELECT name FROM infrastructures WHERE id = ?", (held.infrastructure_id,)
    ).fetchone()
    label = held.infrastructure_id if row is None else row["name"]
    since = held.acquired_at.isoformat()
    return LockedError(
        f"infrastructure {label} is locked by operation {held.operation_id} since {since}",
        operation_id=held.operation_id,
        since=since,
    )


def _prepare(conn: sqlite3.Connection, *, in_memory: bool) -> None:
    """Settings and migrations, retried while another process is doing the same.

    Switching a new file to WAL needs it to itself, and SQLite may answer "locked" at once
    rather than through the busy handler when several processes open a new store together.
    """
    deadline = time.monotonic() + schema.BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            schema.configure(conn, in_memory=in_memory)
            schema.migrate(conn)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
