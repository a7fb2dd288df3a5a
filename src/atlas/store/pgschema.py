"""The PostgreSQL store's schema: the same versions as SQLite's, and how a database gets there.

Version numbers mean the same thing in both stores: a PostgreSQL store of version *n* holds what
a SQLite store of version *n* holds (:data:`atlas.store.schema.SCHEMA_VERSION`). PostgreSQL
stores were first written at version 3, so an empty database is brought to version 3 by one
migration, the baseline, and every later version is one more migration here and one in
``schema.py``, appended together (a test keeps the two numberings in step).

The version lives in the one row of ``atlas_schema``. Each migration runs in one transaction
(PostgreSQL's DDL is transactional) that first locks that row, then re-reads the version: two
replicas opening a new database at once migrate it once, and the second waits for the first
rather than failing. A store whose version is newer than the last migration here was written
by a newer atlas and is refused with :class:`~atlas.exceptions.StoreSchemaError`, untouched.

Column types are PostgreSQL's own (see :mod:`atlas.store.codec`): ``numeric`` money beside its
``currency``, ``timestamptz`` times, ``boolean`` flags, and ``json`` (not ``jsonb``: it keeps
the document's text, key order included). Names of infrastructures are unique within a
workspace among those not destroyed, with the same partial index as SQLite's.

Events are numbered from a counter row (``atlas_counters``) taken in the transaction that
inserts them, and held until it commits: their ``seq`` is commit order, as SQLite's is, and the
outbox is delivered in that order. (A sequence would number them in insert order, and a
transaction that commits after a later-numbered one would have its events delivered late.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from atlas.exceptions import StoreSchemaError
from atlas.store import schema as sqlite_schema

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "Migration", "migrate", "version"]

#: A migration: the version it brings the store to, and its statements.
Migration = tuple[int, tuple[str, ...]]

_BASELINE: tuple[str, ...] = (
    """
    CREATE TABLE infrastructures (
        id           text PRIMARY KEY,
        workspace    text NOT NULL,
        name         text NOT NULL,
        provider     text NOT NULL,
        region       text NOT NULL,
        status       text NOT NULL,
        spec         json NOT NULL,
        monthly_cost numeric NOT NULL,
        currency     text NOT NULL,
        created_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL
    )
    """,
    """
    CREATE UNIQUE INDEX infrastructures_live_name
        ON infrastructures (workspace, name) WHERE status <> 'destroyed'
    """,
    "CREATE INDEX infrastructures_by_workspace ON infrastructures (workspace, created_at)",
    "CREATE INDEX infrastructures_by_provider ON infrastructures (provider)",
    """
    CREATE TABLE resources (
        infrastructure_id text NOT NULL REFERENCES infrastructures (id) ON DELETE CASCADE,
        name              text NOT NULL,
        type              text NOT NULL,
        status            text NOT NULL,
        spec              json NOT NULL,
        objects           json NOT NULL,      -- a list of CloudObject
        monthly_cost      numeric,            -- priced when applied; NULL when unpriced
        currency          text NOT NULL,
        operation_id      text NOT NULL,
        updated_at        timestamptz NOT NULL,
        imported          boolean NOT NULL DEFAULT false,
        PRIMARY KEY (infrastructure_id, name)
    )
    """,
    # ``seq`` is insert order: what SQLite's rowid breaks ties of started_at with.
    """
    CREATE TABLE operations (
        seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        id                text PRIMARY KEY,
        workspace         text NOT NULL,
        infrastructure_id text NOT NULL REFERENCES infrastructures (id) ON DELETE CASCADE,
        kind              text NOT NULL,
        status            text NOT NULL,
        total_steps       integer NOT NULL,
        completed_steps   integer NOT NULL,
        current_step      text,
        created_resources json NOT NULL,      -- a list of names
        cost_change       numeric NOT NULL,
        currency          text NOT NULL,
        error             text,
        started_at        timestamptz NOT NULL,
        finished_at       timestamptz,
        spec              json NOT NULL
    )
    """,
    "CREATE INDEX operations_by_infrastructure ON operations (infrastructure_id, started_at)",
    """
    CREATE INDEX operations_unfinished ON operations (workspace, infrastructure_id)
        WHERE status IN ('pending', 'in_progress')
    """,
    """
    CREATE TABLE steps (
        operation_id text NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
        idx          integer NOT NULL,
        resource     text NOT NULL,
        type         text NOT NULL,
        action       text NOT NULL,
        status       text NOT NULL,
        provider_ids json NOT NULL,           -- a list
        error        text,
        started_at   timestamptz,
        finished_at  timestamptz,
        note         text,
        PRIMARY KEY (operation_id, idx)
    )
    """,
    # The outbox, without a foreign key: an event outlives whatever it reports on.
    """
    CREATE TABLE events (
        seq                 bigint PRIMARY KEY,   -- commit order, from atlas_counters
        id                  text NOT NULL UNIQUE,
        type                text NOT NULL,
        time                timestamptz NOT NULL,
        workspace           text NOT NULL,
        infrastructure_id   text NOT NULL,
        infrastructure_name text NOT NULL,
        operation_id        text,
        cost_change         numeric NOT NULL,
        currency            text NOT NULL,
        data                json NOT NULL,
        delivered_at        timestamptz
    )
    """,
    "CREATE INDEX events_pending ON events (seq) WHERE delivered_at IS NULL",
    "CREATE INDEX events_by_operation ON events (workspace, operation_id)",
    "CREATE TABLE atlas_counters (name text PRIMARY KEY, value bigint NOT NULL)",
    "INSERT INTO atlas_counters (name, value) VALUES ('events', 0)",
    # Locks are rows with a holder and a lease, never advisory locks: a session's advisory
    # lock strands under a transaction-pooling proxy, and it cannot say who holds it.
    """
    CREATE TABLE locks (
        infrastructure_id text PRIMARY KEY,
        operation_id      text NOT NULL,
        holder            text NOT NULL,      -- "<host>:<pid>"
        acquired_at       timestamptz NOT NULL,
        heartbeat_at      timestamptz NOT NULL
    )
    """,
)

# Fencing tokens, as SQLite's version 4 (see its schema module).
_V4: tuple[str, ...] = (
    "ALTER TABLE locks ADD COLUMN token bigint NOT NULL DEFAULT 0",
    """
    CREATE TABLE lock_tokens (
        infrastructure_id text PRIMARY KEY,
        token             bigint NOT NULL
    )
    """,
)

# The audit trail, as SQLite's version 5; numbered from its own counter row, held by the
# appending transaction until it commits, so appends are one at a time and the chain never
# forks (atlas.store.audit).
_V5: tuple[str, ...] = (
    """
    CREATE TABLE audit (
        seq                 bigint PRIMARY KEY,   -- from atlas_counters 'audit'
        id                  text NOT NULL UNIQUE,
        time                timestamptz NOT NULL,
        workspace           text,                 -- NULL: refused before the caller was known
        actor               text,
        auth_method         text NOT NULL,
        remote_address      text,
        request_id          text,
        action              text NOT NULL,
        infrastructure_id   text,
        infrastructure_name text,
        operation_id        text,
        outcome             text NOT NULL,
        status_code         integer,
        error_code          text,
        summary             json NOT NULL,
        prev_hash           text NOT NULL,
        hash                text NOT NULL
    )
    """,
    "CREATE INDEX audit_by_workspace ON audit (workspace, seq)",
    "INSERT INTO atlas_counters (name, value) VALUES ('audit', 0)",
)

#: In order; append, never edit a released one. The first is the baseline of an empty database.
# Budgets, as SQLite's version 6.
_V6: tuple[str, ...] = (
    """
    CREATE TABLE budgets (
        workspace        text PRIMARY KEY,
        monthly_limit    text NOT NULL,
        currency         text NOT NULL,
        thresholds       json NOT NULL,
        include_forecast boolean NOT NULL,
        updated_at       timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE budget_crossings (
        workspace  text NOT NULL,
        scope      text NOT NULL,
        month      text NOT NULL,
        threshold  integer NOT NULL,
        event_id   text NOT NULL,
        crossed_at timestamptz NOT NULL,
        PRIMARY KEY (workspace, scope, month, threshold)
    )
    """,
)

MIGRATIONS: tuple[Migration, ...] = ((3, _BASELINE), (4, _V4), (5, _V5), (6, _V6))
SCHEMA_VERSION = MIGRATIONS[-1][0]
#: The tables of a store at :data:`SCHEMA_VERSION` (``atlas_schema`` included).
TABLES = frozenset(
    {
        "atlas_counters",
        "atlas_schema",
        "audit",
        "budget_crossings",
        "budgets",
        "events",
        "infrastructures",
        "lock_tokens",
        "locks",
        "operations",
        "resources",
        "steps",
    }
)

assert SCHEMA_VERSION == sqlite_schema.SCHEMA_VERSION, "one numbering for both stores"

_CREATE_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS atlas_schema (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        version  integer NOT NULL
    )
"""


def version(conn: psycopg.Connection[Any]) -> int:
    """The schema version in force (0 for a database atlas has not written to)."""
    if not _scalar(conn, "SELECT to_regclass('atlas_schema') IS NOT NULL"):
        return 0
    found = _scalar(conn, "SELECT version FROM atlas_schema")
    return 0 if found is None else int(found)


def _scalar(conn: psycopg.Connection[Any], sql: str) -> Any:
    """The first column of the first row (``None`` without a row), whatever the connection's
    row factory."""
    from psycopg.rows import tuple_row  # noqa: PLC0415

    with conn.cursor(row_factory=tuple_row) as cursor:
        row = cursor.execute(sql).fetchone()
    return None if row is None else row[0]


def migrate(conn: psycopg.Connection[Any], migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema up to the last of ``migrations``; return the version now in force.

    ``conn`` is in autocommit mode (each migration is its own transaction). Nothing is written
    when the store is already current, so a read-only database that is current opens.
    """
    import psycopg  # noqa: PLC0415 - the postgres extra; only this store needs it

    latest = migrations[-1][0]
    current = version(conn)
    _refuse_newer(current, latest)
    if current == latest:
        return current
    # Another replica may create it at the same moment: then its table is the one.
    # (IF NOT EXISTS does not cover a creation that is not committed yet: the catalog refuses
    # the second one, in words that depend on how far the first had gone.)
    with contextlib.suppress(
        psycopg.errors.UniqueViolation,
        psycopg.errors.DuplicateTable,
        psycopg.errors.DuplicateObject,
    ):
        conn.execute(_CREATE_VERSION_TABLE)
    conn.execute("INSERT INTO atlas_schema (version) VALUES (0) ON CONFLICT DO NOTHING")
    for target, statements in migrations:
        with conn.transaction():
            current = int(_scalar(conn, "SELECT version FROM atlas_schema FOR UPDATE") or 0)
            _refuse_newer(current, latest)
            if current >= target:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("UPDATE atlas_schema SET version = %s", (target,))
    return version(conn)


def _refuse_newer(current: int, latest: int) -> None:
    if current > latest:
        raise StoreSchemaError(
            f"the state store has schema version {current}, newer than the {latest} this "
            "atlas knows; upgrade atlas to use it (it was left untouched)"
        )
