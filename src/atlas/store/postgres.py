"""The state store on a PostgreSQL server, for several ``atlas serve`` replicas (or machines)
sharing one truth. Chosen by a URL: ``ATLAS_STATE=postgresql://user@host/db``.

It keeps every rule of :class:`~atlas.store.sqlite.SQLiteStore`, by the same means where the
database has them: every method is one transaction; a read-modify-write locks the row it
reads (``SELECT ... FOR UPDATE``) where SQLite's ``BEGIN IMMEDIATE`` serialises writers; an
infrastructure's lock is a row with a holder, a heartbeat and a lease (never an advisory lock,
which a transaction-pooling proxy strands and which names no holder); the outbox is numbered
in commit order (see :mod:`atlas.store.pgschema`); money is exact (``numeric``), times are
UTC; leases are measured with the injected clock, so every replica's clock must be kept right
(NTP), as every holder's is in SQLite's case too.

**Synchronous, on a pool.** :class:`~atlas.store.base.StateStore` is synchronous today, so this
store is too: psycopg 3 with a :class:`psycopg_pool.ConnectionPool` (a connection per call,
checked before it is handed out, so one dropped by a database restart is replaced rather than
failing the call). The async core calls the store from its event loop exactly as it calls
SQLite's; an async protocol (psycopg's ``AsyncConnectionPool``) would change every caller and
is left for later.

Every transaction states its isolation level (``READ COMMITTED``; ``REPEATABLE READ`` for a
snapshot) in its own ``BEGIN``, and nothing relies on a session setting, so the store works
behind a transaction-pooling proxy. Server-wide durability (``fsync``, ``synchronous_commit``)
is the operator's to set: :meth:`PostgresStore.check` reports it (``durable``) rather than
refusing it.

A URL may hold a password: it is shown redacted (:func:`atlas.store.opening.redact`) in every
message, ``repr`` and ``check()``, and scrubbed from any error text the driver gives.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Final

import attrs

from atlas.exceptions import StateError
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
from atlas.store import codec, pgschema
from atlas.store import pgsql as sql
from atlas.store.base import LockInfo, ObjectOwner, Snapshot, Stats
from atlas.store.leases import current_holder, holder_is_gone, lease_expired
from atlas.store.opening import passwords_in, redact

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    Conn = psycopg.Connection[dict[str, Any]]

__all__ = ["PostgresStore"]

logger = logging.getLogger(__name__)

_CODEC: Final = codec.POSTGRES
_UNFINISHED = ("pending", "in_progress")
_ENDED: frozenset[str] = frozenset({"done", "failed", "timed_out", "rolled_back"})
_READ_ONLY = "25006"
#: How long the write probe of check() waits for a table lock before calling the store
#: writable anyway: someone holding it (a migration) is writing, which is no sign of trouble.
_PROBE_LOCK_TIMEOUT_MS = 200
_INSTALL = "pip install 'atlas-infra[postgres]'"


def _drivers() -> tuple[ModuleType, ModuleType]:
    """psycopg and psycopg_pool, or a StateError saying which extra to install."""
    try:
        import psycopg  # noqa: PLC0415 - the postgres extra is optional
        import psycopg_pool  # noqa: PLC0415
    except ImportError as exc:
        raise StateError(
            f"a postgresql:// state store needs the postgres extra ({exc.name} is not "
            f"installed): {_INSTALL}"
        ) from None
    return psycopg, psycopg_pool


class PostgresStore:
    """The :class:`~atlas.store.base.StateStore` in a PostgreSQL database (the ``postgres``
    extra: psycopg 3 and psycopg-pool).

    :param url: a libpq connection URI, ``postgresql://user:password@host:port/dbname?...``
        (any libpq parameter; ``options=-csearch_path%3Dname`` puts the store in a schema).
    :param lease_seconds: a lock whose heartbeat is older than this is taken over.
    :param clock: the time source (timezone-aware), injectable so leases test without sleeping.
    :param pool_size: the most connections held open at once (each call takes one for the
        length of its transaction).
    :param connect_timeout: seconds to wait for the server when connecting, and for a free
        connection of the pool.

    The schema is migrated when the store opens. An unreachable server, a bad URL or a
    missing driver is a :class:`~atlas.exceptions.StateError` that names the redacted URL.
    """

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = 120.0,
        clock: Callable[[], dt.datetime] = utcnow,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._shown = redact(url)
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._timeout = connect_timeout
        self._secrets = passwords_in(url)
        self._psycopg, pool_module = _drivers()
        self._secrets += self._passwords(url)
        #: Why the last write failed for want of storage (SQLSTATE and words); cleared by the
        #: next one that commits. This process's own observation, for its health report.
        self._write_error: tuple[str, str] | None = None
        self._closed = threading.Event()
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": self._rows()}
        if "connect_timeout" not in self._conninfo(url):
            kwargs["connect_timeout"] = max(1, round(connect_timeout))
        self._prepare(kwargs)
        self._pool: ConnectionPool[Conn] = pool_module.ConnectionPool(
            url,
            kwargs=kwargs,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            configure=_configure,
            check=pool_module.ConnectionPool.check_connection,
            name="atlas-state",
            timeout=connect_timeout,
            num_workers=2,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except self._psycopg.Error as exc:
            self._pool.close()
            raise StateError(
                f"cannot reach the state store at {self._shown}: {self._words(exc)}"
            ) from None

    def __repr__(self) -> str:
        return f"PostgresStore({self._shown!r})"

    @property
    def url(self) -> str:
        """The connection URL, password and all: for what else connects to the same database
        (the shared rate budget, :mod:`atlas.store.budget`); never to be shown (``repr`` is)."""
        return self._url

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- opening and transactions ------------------------------------------------------------

    def _rows(self) -> Any:
        from psycopg.rows import dict_row  # noqa: PLC0415

        return dict_row

    def _conninfo(self, url: str) -> dict[str, Any]:
        try:
            found: dict[str, Any] = self._psycopg.conninfo.conninfo_to_dict(url)
        except self._psycopg.Error as exc:
            raise StateError(
                f"the state store URL {self._shown} is not a valid PostgreSQL URL: "
                f"{self._words(exc)}"
            ) from None
        return found

    def _passwords(self, url: str) -> tuple[str, ...]:
        """The password in the URL, to scrub from whatever text the driver hands back."""
        password = str(self._conninfo(url).get("password") or "")
        return (password,) if password and password not in self._secrets else ()

    def _words(self, exc: BaseException) -> str:
        """An error's text on one line, with no password in it."""
        text = " ".join(str(exc).split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return re.sub(r"^connection failed: ", "", text)

    def _prepare(self, kwargs: dict[str, Any]) -> None:
        """Connect once, alone, and migrate: a server that cannot be reached is reported with
        libpq's own words (the pool would only time out), and the schema is in place before
        the pool hands out a connection."""
        try:
            conn = self._psycopg.connect(self._url, **kwargs)
        except self._psycopg.Error as exc:
            raise StateError(
                f"cannot reach the state store at {self._shown}: {self._words(exc)}"
            ) from None
        try:
            with conn:
                _configure(conn)
                pgschema.migrate(conn)
        except self._psycopg.Error as exc:
            raise StateError(
                f"cannot prepare the state store at {self._shown}: {self._words(exc)}"
            ) from None

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Conn]:
        """A connection of the pool, for one call; the driver's errors become StateError."""
        psycopg = self._psycopg
        if self._closed.is_set():
            raise StateError(f"the state store at {self._shown} is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            if write and sql.is_storage_error(exc):
                self._write_error = (exc.sqlstate or "", self._primary(exc))
            if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
                # No SQLSTATE: the server was never reached, or went away.
                raise StateError(
                    f"cannot reach the state store at {self._shown}: {self._words(exc)}"
                ) from None
            raise StateError(
                f"the state store at {self._shown} failed: {self._words(exc)}"
            ) from exc
        if write:
            self._write_error = None

    @contextmanager
    def _transaction(self, *, write: bool, snapshot: bool = False) -> Iterator[Conn]:
        """One transaction, committed when the block ends (rolled back if it raises)."""
        with self._connection(write=write) as conn:
            if not snapshot:
                with conn.transaction():
                    yield conn
                return
            # One consistent view of every table, for a backup, while others write.
            conn.isolation_level = self._psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            try:
                with conn.transaction():
                    yield conn
            finally:
                conn.isolation_level = self._psycopg.IsolationLevel.READ_COMMITTED
                conn.read_only = None

    def _primary(self, exc: Any) -> str:
        """The server's message alone (no detail, no statement), which names no secret."""
        words = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
        return self._words(Exception(words))

    def _probe_write(self, conn: Conn) -> str | None:
        """Why a write would fail now, or ``None``: an UPDATE that matches no row (a read-only
        transaction refuses it all the same), rolled back. It waits for no other writer."""
        psycopg = self._psycopg
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(f"SET LOCAL lock_timeout = {int(_PROBE_LOCK_TIMEOUT_MS)}")
                conn.execute("UPDATE locks SET holder = holder WHERE false")
        except psycopg.Error as exc:
            return self._primary(exc) if sql.is_storage_error(exc) else None
        return None

    def _now(self) -> dt.datetime:
        now = self._clock()
        codec.dump_time(now)  # refuses a naive clock, as SQLite's store does
        return now.astimezone(dt.UTC)

    # -- infrastructures ---------------------------------------------------------------------

    def get_infrastructure(self, workspace: str, key: str) -> InfrastructureRecord | None:
        # An id wins over a name; by name, the live infrastructure over destroyed namesakes,
        # and among those the most recent.
        with self._transaction(write=False) as conn:
            row = conn.execute(
                """SELECT * FROM infrastructures
                   WHERE workspace = %(ws)s AND (id = %(key)s OR name = %(key)s)
                   ORDER BY id = %(key)s DESC, status = 'destroyed', updated_at DESC
                   LIMIT 1""",
                {"ws": workspace, "key": key},
            ).fetchone()
        return None if row is None else _CODEC.from_row(row, InfrastructureRecord)

    def list_infrastructures(
        self, workspace: str, *, limit: int = 100, offset: int = 0
    ) -> list[InfrastructureRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT * FROM infrastructures WHERE workspace = %s
                   ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s""",
                (workspace, max(limit, 0), max(offset, 0)),
            ).fetchall()
        return [_CODEC.from_row(r, InfrastructureRecord) for r in rows]

    def save_infrastructure(self, record: InfrastructureRecord) -> None:
        with self._transaction(write=True) as conn:
            sql.save_infrastructure(conn, record)

    # -- resources ---------------------------------------------------------------------------

    def list_resources(self, infrastructure_id: str) -> list[ResourceRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM resources WHERE infrastructure_id = %s ORDER BY name",
                (infrastructure_id,),
            ).fetchall()
        return [_CODEC.from_row(r, ResourceRecord) for r in rows]

    def save_resource(self, record: ResourceRecord) -> None:
        with self._transaction(write=True) as conn:
            sql.require_infrastructure(conn, record.infrastructure_id)
            conn.execute(sql.UPSERT_RESOURCE, _CODEC.params(record))

    def record_objects(
        self, infrastructure_id: str, name: str, objects: Sequence[CloudObject]
    ) -> None:
        with self._transaction(write=True) as conn:
            # Locked as read: two reports of one resource merge one after the other.
            row = conn.execute(
                """SELECT objects FROM resources WHERE infrastructure_id = %s AND name = %s
                   FOR UPDATE""",
                (infrastructure_id, name),
            ).fetchone()
            if row is None:
                raise StateError(
                    f"resource {name!r} of infrastructure {infrastructure_id} is not recorded; "
                    "save it (status 'creating') before recording its objects"
                )
            conn.execute(
                """UPDATE resources SET objects = %s, updated_at = %s
                   WHERE infrastructure_id = %s AND name = %s""",
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
                "DELETE FROM resources WHERE infrastructure_id = %s AND name = %s",
                (infrastructure_id, name),
            )

    def owned_objects(self, provider: str) -> dict[str, ObjectOwner]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT i.workspace, i.name AS infrastructure, r.name AS resource,
                          r.imported, r.objects
                   FROM resources r JOIN infrastructures i ON i.id = r.infrastructure_id
                   WHERE i.provider = %s""",
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
            sql.require_infrastructure(conn, operation.infrastructure_id)
            if sql.exists(conn, "SELECT 1 FROM operations WHERE id = %s", operation.id):
                raise StateError(f"operation {operation.id} is already recorded")
            conn.execute(sql.INSERT_OPERATION, _CODEC.params(operation))
            sql.insert_steps(conn, steps)
            sql.insert_events(conn, [event])

    def get_operation(self, workspace: str, operation_id: str) -> OperationRecord | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT * FROM operations WHERE workspace = %s AND id = %s",
                (workspace, operation_id),
            ).fetchone()
        return None if row is None else _CODEC.from_row(row, OperationRecord)

    def list_operations(self, workspace: str, infrastructure_id: str) -> list[OperationRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT * FROM operations WHERE workspace = %s AND infrastructure_id = %s
                   ORDER BY started_at DESC, seq DESC""",
                (workspace, infrastructure_id),
            ).fetchall()
        return [_CODEC.from_row(r, OperationRecord) for r in rows]

    def unfinished_operation(self, infrastructure_id: str) -> OperationRecord | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                """SELECT * FROM operations
                   WHERE infrastructure_id = %s AND status IN (%s, %s)
                   ORDER BY started_at DESC, seq DESC LIMIT 1""",
                (infrastructure_id, *_UNFINISHED),
            ).fetchone()
        return None if row is None else _CODEC.from_row(row, OperationRecord)

    def unfinished_operations(self) -> list[OperationRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                """SELECT * FROM operations WHERE status IN (%s, %s)
                   ORDER BY started_at, seq""",
                _UNFINISHED,
            ).fetchall()
        return [_CODEC.from_row(r, OperationRecord) for r in rows]

    def update_operation(self, operation_id: str, **changes: Any) -> OperationRecord:
        fixed = sorted(sql.FIXED_OPERATION_FIELDS & changes.keys())
        if fixed:
            raise StateError(f"an operation's {', '.join(fixed)} cannot change")
        with self._transaction(write=True) as conn:
            current = sql.operation(conn, operation_id, lock=True)
            updated = attrs.evolve(current, **changes)  # unknown field names raise TypeError
            conn.execute(sql.UPDATE_OPERATION, _CODEC.params(updated))
            # Read back, so the caller gets exactly what a later read will (tuples, not lists).
            return sql.operation(conn, operation_id)

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
                "UPDATE operations SET status = %s, error = %s, finished_at = %s WHERE id = %s",
                (status, error, self._now(), operation_id),
            )
            if cursor.rowcount == 0:
                raise StateError(f"operation {operation_id} is not recorded")
            sql.save_infrastructure(conn, infrastructure)
            sql.insert_events(conn, events)

    def steps(self, operation_id: str) -> list[StepRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM steps WHERE operation_id = %s ORDER BY idx", (operation_id,)
            ).fetchall()
        return [_CODEC.from_row(r, StepRecord) for r in rows]

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
            if conn.execute(sql.UPDATE_STEP, params).rowcount == 0:
                raise StateError(f"step {index} of operation {operation_id} is not recorded")

    # -- locks -------------------------------------------------------------------------------

    def lock(self, infrastructure_id: str, operation_id: str) -> None:
        holder = current_holder()
        now = self._now()
        taking = {
            "infrastructure_id": infrastructure_id,
            "operation_id": operation_id,
            "holder": holder,
            "now": now,
        }
        with self._transaction(write=True) as conn:
            while True:
                # A free lock is taken at once; a contender's insert waits for ours to end.
                if conn.execute(sql.TAKE_LOCK, taking).rowcount == 1:
                    return
                held = sql.lock_row(conn, infrastructure_id, lock=True)
                if held is not None:
                    break
                # Released between the two statements: try to take it again.
            if held.operation_id == operation_id and held.holder == holder:
                sql.touch_lock(conn, infrastructure_id, now)
                return
            if not self._is_stale(held, now):
                raise sql.locked_error(conn, held)
            logger.warning(
                "taking over the lock of infrastructure %s from operation %s "
                "(holder %s, last heartbeat %s)",
                infrastructure_id,
                held.operation_id,
                held.holder,
                held.heartbeat_at.isoformat(),
            )
            conn.execute(sql.TAKE_OVER_LOCK, taking)

    def _is_stale(self, held: LockInfo, now: dt.datetime) -> bool:
        return holder_is_gone(held.holder) or lease_expired(
            held.heartbeat_at, now, self._lease_seconds
        )

    def heartbeat(self, infrastructure_id: str, operation_id: str) -> None:
        # A holder that lost its lease (and the lock with it) must learn so here and stop.
        with self._transaction(write=True) as conn:
            held = sql.lock_row(conn, infrastructure_id, lock=True)
            if held is None:
                raise StateError(
                    f"operation {operation_id} does not hold the lock of infrastructure "
                    f"{infrastructure_id}: nobody does"
                )
            if held.operation_id != operation_id or held.holder != current_holder():
                raise sql.locked_error(conn, held)
            sql.touch_lock(conn, infrastructure_id, self._now())

    def unlock(self, infrastructure_id: str, operation_id: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(
                "DELETE FROM locks WHERE infrastructure_id = %s AND operation_id = %s",
                (infrastructure_id, operation_id),
            )

    def lock_info(self, infrastructure_id: str) -> LockInfo | None:
        with self._transaction(write=False) as conn:
            return sql.lock_row(conn, infrastructure_id)

    # -- events ------------------------------------------------------------------------------

    def add_events(self, events: Sequence[EventRecord]) -> None:
        with self._transaction(write=True) as conn:
            sql.insert_events(conn, events)

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT %s",
                (max(limit, 0),),
            ).fetchall()
        return [_CODEC.from_row(r, EventRecord) for r in rows]

    def mark_delivered(self, event_ids: Sequence[str]) -> None:
        now = self._now()
        with self._transaction(write=True) as conn, conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE events SET delivered_at = %s WHERE id = %s AND delivered_at IS NULL",
                [(now, event_id) for event_id in event_ids],
            )

    def events_of(self, workspace: str, operation_id: str) -> list[EventRecord]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM events WHERE workspace = %s AND operation_id = %s ORDER BY seq",
                (workspace, operation_id),
            ).fetchall()
        return [_CODEC.from_row(r, EventRecord) for r in rows]

    # -- backup ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._transaction(write=False, snapshot=True) as conn:
            return Snapshot(
                infrastructures=sql.records(
                    conn,
                    InfrastructureRecord,
                    "SELECT * FROM infrastructures"
                    ' ORDER BY workspace COLLATE "C", created_at, id COLLATE "C"',
                ),
                resources=sql.records(
                    conn,
                    ResourceRecord,
                    'SELECT * FROM resources ORDER BY infrastructure_id COLLATE "C", '
                    'name COLLATE "C"',
                ),
                operations=sql.records(
                    conn, OperationRecord, "SELECT * FROM operations ORDER BY seq"
                ),
                steps=sql.records(
                    conn,
                    StepRecord,
                    'SELECT * FROM steps ORDER BY operation_id COLLATE "C", idx',
                ),
                events=tuple(
                    (int(r["seq"]), _CODEC.from_row(r, EventRecord))
                    for r in conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
                ),
                locks=sql.records(
                    conn, LockInfo, 'SELECT * FROM locks ORDER BY infrastructure_id COLLATE "C"'
                ),
            )

    def restore(self, snapshot: Snapshot) -> None:
        with self._transaction(write=True) as conn:
            # Nobody else may write while a store is restored: the emptiness checked is the
            # emptiness restored into.
            conn.execute("LOCK TABLE infrastructures, operations, events, locks IN EXCLUSIVE MODE")
            sql.refuse_non_empty(conn, self._shown)
            with conn.cursor() as cursor:
                for statement, records in (
                    (sql.INSERT_INFRASTRUCTURE, snapshot.infrastructures),
                    (sql.INSERT_RESOURCE, snapshot.resources),
                    (sql.INSERT_OPERATION, snapshot.operations),
                    (sql.INSERT_STEP, snapshot.steps),
                    (sql.INSERT_LOCK, snapshot.locks),
                ):
                    cursor.executemany(statement, [_CODEC.params(r) for r in records])
                cursor.executemany(
                    sql.INSERT_EVENT,
                    [{**_CODEC.params(e), "seq": seq} for seq, e in snapshot.events],
                )
            last = max((seq for seq, _ in snapshot.events), default=0)
            conn.execute("UPDATE atlas_counters SET value = %s WHERE name = 'events'", (last,))

    # -- the rest ----------------------------------------------------------------------------

    def stats(self, workspace: str) -> Stats:
        with self._transaction(write=False) as conn:
            infra = conn.execute(
                """SELECT status, monthly_cost, currency FROM infrastructures
                   WHERE workspace = %s AND status <> 'destroyed'""",
                (workspace,),
            ).fetchall()
            resources = sql.count(
                conn,
                """SELECT count(*) FROM resources r JOIN infrastructures i
                       ON i.id = r.infrastructure_id
                   WHERE i.workspace = %s AND i.status <> 'destroyed'
                     AND r.status <> 'deleted'""",
                workspace,
            )
            running = sql.count(
                conn,
                "SELECT count(*) FROM operations WHERE workspace = %s AND status IN (%s, %s)",
                workspace,
                *_UNFINISHED,
            )
        costs: dict[str, Decimal] = {}
        for r in infra:
            costs[r["currency"]] = costs.get(r["currency"], Decimal(0)) + r["monthly_cost"]
        return Stats(
            total_infrastructures=len(infra),
            active_infrastructures=sum(1 for r in infra if r["status"] == "active"),
            total_resources=resources,
            monthly_costs=dict(sorted(costs.items())),
            operations_in_progress=running,
        )

    def check(self) -> dict[str, Any]:
        with self._connection(write=False) as conn:
            with conn.transaction():
                found = conn.execute(sql.SETTINGS).fetchone()
                version = pgschema.version(conn)
            write_error = self._probe_write(conn)
        settings = dict(found or {})
        if settings.get("isolation") != "read committed":
            raise StateError(
                "isolation: the store needs 'read committed', PostgreSQL reports "
                f"{settings.get('isolation')!r}"
            )
        if write_error is None and self._write_error is not None:
            state, words = self._write_error
            # The probe sees a read-only database, not a full disk (its write is never
            # flushed): only the next commit clears what it cannot see.
            if state == _READ_ONLY:
                self._write_error = None
            else:
                write_error = words
        fsync = settings.get("fsync") == "on"
        stats = self._pool.get_stats()
        report: dict[str, Any] = {
            "backend": "postgresql",
            "url": self._shown,
            "server_version": settings.get("server_version"),
            "synchronous_commit": settings.get("synchronous_commit"),
            "fsync": fsync,
            "isolation": settings.get("isolation"),
            "in_recovery": bool(settings.get("in_recovery")),
            "schema_version": version,
            "durable": fsync and settings.get("synchronous_commit") != "off",
            "writable": write_error is None,
            "pool": {
                "size": stats.get("pool_size", 0),
                "available": stats.get("pool_available", 0),
                "max": self._pool.max_size,
            },
        }
        if write_error is not None:
            report["write_error"] = write_error
        if not report["durable"]:
            report["note"] = (
                "fsync or synchronous_commit is off on this server: a commit may be lost in a crash"
            )
        return report

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.close()


def _configure(conn: Conn) -> None:
    """What every connection needs, set on the client side (no session state on the server,
    which a transaction-pooling proxy would not keep): json read back as the text stored,
    and READ COMMITTED named in every BEGIN."""
    from psycopg import IsolationLevel  # noqa: PLC0415
    from psycopg.types.string import TextLoader  # noqa: PLC0415

    conn.adapters.register_loader("json", TextLoader)
    conn.isolation_level = IsolationLevel.READ_COMMITTED
