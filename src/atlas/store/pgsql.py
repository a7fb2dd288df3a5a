"""The SQL of the PostgreSQL store (:mod:`atlas.store.postgres`): its statements, and the steps
that run inside one of its transactions.

Statements are built from the records' fields (:func:`atlas.store.codec.columns`), as in
``sqlite.py``, so that a field added to a record is stored without a statement to edit. Table and
column names are this module's constants, never input: hence the noqa for string-built SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Final

from atlas.exceptions import LockedError, StateError
from atlas.model.records import (
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    ResourceRecord,
    StepRecord,
)
from atlas.store import codec
from atlas.store.base import LockInfo

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[dict[str, Any]]

CODEC: Final = codec.POSTGRES
#: An operation's identity: update_operation may change anything else.
FIXED_OPERATION_FIELDS = frozenset({"id", "workspace", "infrastructure_id"})
#: SQLSTATEs (or their class) that say the database cannot take a write now, rather than that
#: a statement is wrong or another writer is in the way: a read-only transaction (a standby, a
#: read-only default), insufficient resources (a full disk, too many connections), a system or
#: I/O error, corrupted data, no write privilege.
STORAGE_STATES = ("25006", "53", "58", "XX001", "XX002", "42501")


def insert(table: str, record: type[Any], *, extra: Sequence[str] = ()) -> str:
    names = (*extra, *codec.columns(record))
    values = ", ".join(f"%({n})s" for n in names)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})"  # noqa: S608


def assign(record: type[Any], fixed: Collection[str], *, source: str) -> str:
    return ", ".join(f"{n} = {source.format(n)}" for n in codec.columns(record) if n not in fixed)


INSERT_INFRASTRUCTURE = insert("infrastructures", InfrastructureRecord)
UPSERT_INFRASTRUCTURE = (
    INSERT_INFRASTRUCTURE
    + " ON CONFLICT (id) DO UPDATE SET "
    + assign(InfrastructureRecord, ("id", "workspace"), source="excluded.{}")
    + " WHERE infrastructures.workspace = excluded.workspace"
)
INSERT_RESOURCE = insert("resources", ResourceRecord)
UPSERT_RESOURCE = (
    INSERT_RESOURCE
    + " ON CONFLICT (infrastructure_id, name) DO UPDATE SET "
    + assign(ResourceRecord, ("infrastructure_id", "name"), source="excluded.{}")
)
INSERT_OPERATION = insert("operations", OperationRecord)
OPERATION_CHANGES = assign(OperationRecord, FIXED_OPERATION_FIELDS, source="%({})s")
UPDATE_OPERATION = f"UPDATE operations SET {OPERATION_CHANGES} WHERE id = %(id)s"  # noqa: S608
INSERT_STEP = insert("steps", StepRecord)
UPDATE_STEP = """
    UPDATE steps SET
        status = %(status)s,
        error = %(error)s,
        note = coalesce(%(note)s, note),
        provider_ids = coalesce(%(provider_ids)s::json, provider_ids),
        started_at = CASE WHEN %(running)s THEN coalesce(started_at, %(now)s) ELSE started_at END,
        finished_at = CASE WHEN %(ended)s THEN %(now)s WHEN %(running)s THEN NULL
                      ELSE finished_at END
    WHERE operation_id = %(operation_id)s AND idx = %(idx)s
"""
INSERT_EVENT = insert("events", EventRecord, extra=("seq",))
INSERT_LOCK = insert("locks", LockInfo)
TAKE_LOCK = """
    INSERT INTO locks (infrastructure_id, operation_id, holder, acquired_at, heartbeat_at)
    VALUES (%(infrastructure_id)s, %(operation_id)s, %(holder)s, %(now)s, %(now)s)
    ON CONFLICT (infrastructure_id) DO NOTHING
"""
TAKE_OVER_LOCK = """
    UPDATE locks SET operation_id = %(operation_id)s, holder = %(holder)s,
        acquired_at = %(now)s, heartbeat_at = %(now)s
    WHERE infrastructure_id = %(infrastructure_id)s
"""
SETTINGS = """
    SELECT current_setting('server_version') AS server_version,
           current_setting('synchronous_commit') AS synchronous_commit,
           current_setting('fsync') AS fsync,
           current_setting('transaction_isolation') AS isolation,
           pg_is_in_recovery() AS in_recovery
"""


# -- in a transaction ------------------------------------------------------------------------


def is_storage_error(exc: Any) -> bool:
    state = str(getattr(exc, "sqlstate", None) or "")
    return bool(state) and state.startswith(STORAGE_STATES)


def exists(conn: Conn, sql: str, *params: object) -> bool:
    return conn.execute(sql, params).fetchone() is not None


def count(conn: Conn, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()
    return 0 if row is None else int(next(iter(row.values())))


def records(conn: Conn, cls: type[Any], sql: str) -> tuple[Any, ...]:
    return tuple(CODEC.from_row(r, cls) for r in conn.execute(sql).fetchall())


def require_infrastructure(conn: Conn, infrastructure_id: str) -> None:
    if not exists(conn, "SELECT 1 FROM infrastructures WHERE id = %s", infrastructure_id):
        raise StateError(f"infrastructure {infrastructure_id} is not recorded")


def save_infrastructure(conn: Conn, record: InfrastructureRecord) -> None:
    if record.status != "destroyed":
        clash = conn.execute(
            """SELECT id FROM infrastructures
               WHERE workspace = %s AND name = %s AND status <> 'destroyed' AND id <> %s""",
            (record.workspace, record.name, record.id),
        ).fetchone()
        if clash is not None:
            raise StateError(
                f"workspace {record.workspace!r} already has an infrastructure named "
                f"{record.name!r} (id {clash['id']})"
            )
    cursor = conn.execute(UPSERT_INFRASTRUCTURE, CODEC.params(record))
    if cursor.rowcount == 0:  # the id exists, in another workspace: never move it
        raise StateError(
            f"infrastructure {record.id} does not belong to workspace {record.workspace!r}"
        )


def insert_steps(conn: Conn, steps: Sequence[StepRecord]) -> None:
    if steps:
        with conn.cursor() as cursor:
            cursor.executemany(INSERT_STEP, [CODEC.params(s) for s in steps])


def insert_events(conn: Conn, events: Sequence[EventRecord]) -> None:
    """Into the outbox, numbered from the counter row: its lock, held until this transaction
    commits, makes the numbers commit order (pgschema's docstring says why)."""
    if not events:
        return
    rows = [CODEC.params(e) for e in events]  # a refused record refuses before the counter
    counter = conn.execute(
        "UPDATE atlas_counters SET value = value + %s WHERE name = 'events' RETURNING value",
        (len(rows),),
    ).fetchone()
    if counter is None:
        raise StateError("the state store has no event counter: its schema is damaged")
    first = int(counter["value"]) - len(rows) + 1
    with conn.cursor() as cursor:
        cursor.executemany(INSERT_EVENT, [{**row, "seq": first + n} for n, row in enumerate(rows)])


def operation(conn: Conn, operation_id: str, *, lock: bool = False) -> OperationRecord:
    sql = "SELECT * FROM operations WHERE id = %s"
    row = conn.execute(f"{sql} FOR UPDATE" if lock else sql, (operation_id,)).fetchone()
    if row is None:
        raise StateError(f"operation {operation_id} is not recorded")
    return CODEC.from_row(row, OperationRecord)


def lock_row(conn: Conn, infrastructure_id: str, *, lock: bool = False) -> LockInfo | None:
    sql = "SELECT * FROM locks WHERE infrastructure_id = %s"
    row = conn.execute(f"{sql} FOR UPDATE" if lock else sql, (infrastructure_id,)).fetchone()
    return None if row is None else CODEC.from_row(row, LockInfo)


def touch_lock(conn: Conn, infrastructure_id: str, now: dt.datetime) -> None:
    conn.execute(
        "UPDATE locks SET heartbeat_at = %s WHERE infrastructure_id = %s",
        (now, infrastructure_id),
    )


def locked_error(conn: Conn, held: LockInfo) -> LockedError:
    row = conn.execute(
        "SELECT name FROM infrastructures WHERE id = %s", (held.infrastructure_id,)
    ).fetchone()
    label = held.infrastructure_id if row is None else row["name"]
    since = held.acquired_at.isoformat()
    return LockedError(
        f"infrastructure {label} is locked by operation {held.operation_id} since {since}",
        operation_id=held.operation_id,
        since=since,
    )


def refuse_non_empty(conn: Conn, shown: str) -> None:
    counts = conn.execute(
        """SELECT (SELECT count(*) FROM infrastructures) AS infrastructures,
                  (SELECT count(*) FROM operations) AS operations,
                  (SELECT count(*) FROM events) AS events,
                  (SELECT count(*) FROM locks) AS locks"""
    ).fetchone()
    held = {k: int(v) for k, v in (counts or {}).items() if v}
    if held:
        what = ", ".join(f"{n} {k}" for k, n in held.items())
        raise StateError(
            f"the state store at {shown} is not empty ({what}): a backup is restored into "
            "an empty store only"
        )
