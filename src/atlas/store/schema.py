"""The SQLite store's schema: an ordered list of migrations and the settings it relies on.

The schema version is ``PRAGMA user_version`` (kept in the database header, so it changes in
the same transaction as the tables). Migration *n* takes the store from version *n - 1* to *n*;
each runs in its own ``BEGIN IMMEDIATE`` transaction and re-reads the version inside it, so two
processes opening a new file at once migrate it once. A store whose version is newer than the
last migration here was written by a newer atlas and is refused, not guessed at.

Names of infrastructures are unique within a workspace *among those not destroyed* (a partial
unique index): destroyed infrastructures keep their records, operations and events as history,
and their name can be used again. PostgreSQL has the same partial indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from atlas.exceptions import StateError, StoreSchemaError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "configure",
    "migrate",
    "verify_settings",
    "version",
]

#: How long a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT_MS = 5000

_V1: tuple[str, ...] = (
    """
    CREATE TABLE infrastructures (
        id           TEXT PRIMARY KEY,
        workspace    TEXT NOT NULL,
        name         TEXT NOT NULL,
        provider     TEXT NOT NULL,
        region       TEXT NOT NULL,
        status       TEXT NOT NULL,
        spec         TEXT NOT NULL,           -- JSON
        monthly_cost TEXT NOT NULL,           -- Decimal as text, never REAL
        created_at   TEXT NOT NULL,           -- ISO-8601 UTC
        updated_at   TEXT NOT NULL
    )
    """,
    """
    CREATE UNIQUE INDEX infrastructures_live_name
        ON infrastructures (workspace, name) WHERE status != 'destroyed'
    """,
    "CREATE INDEX infrastructures_by_workspace ON infrastructures (workspace, created_at)",
    """
    CREATE TABLE resources (
        infrastructure_id TEXT NOT NULL REFERENCES infrastructures (id) ON DELETE CASCADE,
        name              TEXT NOT NULL,
        type              TEXT NOT NULL,
        status            TEXT NOT NULL,
        spec              TEXT NOT NULL,      -- JSON
        objects           TEXT NOT NULL,      -- JSON list of CloudObject
        monthly_cost      TEXT,               -- priced when applied; NULL when unpriced
        operation_id      TEXT NOT NULL,
        updated_at        TEXT NOT NULL,
        PRIMARY KEY (infrastructure_id, name)
    )
    """,
    """
    CREATE TABLE operations (
        id                TEXT PRIMARY KEY,
        workspace         TEXT NOT NULL,
        infrastructure_id TEXT NOT NULL REFERENCES infrastructures (id) ON DELETE CASCADE,
        kind              TEXT NOT NULL,
        status            TEXT NOT NULL,
        total_steps       INTEGER NOT NULL,
        completed_steps   INTEGER NOT NULL,
        current_step      TEXT,
        created_resources TEXT NOT NULL,      -- JSON list of names
        cost_change       TEXT NOT NULL,
        error             TEXT,
        started_at        TEXT NOT NULL,
        finished_at       TEXT,
        spec              TEXT NOT NULL
    )
    """,
    "CREATE INDEX operations_by_infrastructure ON operations (infrastructure_id, started_at)",
    """
    CREATE INDEX operations_unfinished ON operations (workspace, infrastructure_id)
        WHERE status IN ('pending', 'in_progress')
    """,
    """
    CREATE TABLE steps (
        operation_id TEXT NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
        idx          INTEGER NOT NULL,
        resource     TEXT NOT NULL,
        type         TEXT NOT NULL,
        action       TEXT NOT NULL,
        status       TEXT NOT NULL,
        provider_ids TEXT NOT NULL,           -- JSON list
        error        TEXT,
        started_at   TEXT,
        finished_at  TEXT,
        PRIMARY KEY (operation_id, idx)
    )
    """,
    # The outbox: ``seq`` is commit order, the order events are delivered in. No foreign key:
    # an event outlives whatever it reports on and must never block the change it reports.
    """
    CREATE TABLE events (
        seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
        id                  TEXT NOT NULL UNIQUE,
        type                TEXT NOT NULL,
        time                TEXT NOT NULL,
        workspace           TEXT NOT NULL,
        infrastructure_id   TEXT NOT NULL,
        infrastructure_name TEXT NOT NULL,
        operation_id        TEXT,
        cost_change         TEXT NOT NULL,
        data                TEXT NOT NULL,    -- JSON
        delivered_at        TEXT
    )
    """,
    "CREATE INDEX events_pending ON events (seq) WHERE delivered_at IS NULL",
    "CREATE INDEX events_by_operation ON events (workspace, operation_id)",
    # No foreign key either: a first apply may lock a new infrastructure's id before its row
    # is saved, so two first applies of one spec cannot both start.
    """
    CREATE TABLE locks (
        infrastructure_id TEXT PRIMARY KEY,
        operation_id      TEXT NOT NULL,
        holder            TEXT NOT NULL,      -- "<host>:<pid>"
        acquired_at       TEXT NOT NULL,
        heartbeat_at      TEXT NOT NULL
    )
    """,
)

# Every amount keeps its currency beside it. Stores of version 1 held only dollars (the one
# provider there was billed in them), so that is what their rows say they are; every write
# since names the currency, and the column default serves those old rows only.
_V2: tuple[str, ...] = tuple(
    f"ALTER TABLE {table} ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD'"
    for table in ("infrastructures", "resources", "operations", "events")
)

# Imported resources (adopted, not created: kept by a destroy unless asked) and a step's note.
_V3: tuple[str, ...] = (
    "ALTER TABLE resources ADD COLUMN imported INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE steps ADD COLUMN note TEXT",
)

# Fencing tokens: each take of an infrastructure's lock gets the next number of the
# infrastructure's counter, which outlives the lock row (a lock released and taken again never
# hands out a token seen before). Locks of older stores carry 0.
_V4: tuple[str, ...] = (
    "ALTER TABLE locks ADD COLUMN token INTEGER NOT NULL DEFAULT 0",
    """
    CREATE TABLE lock_tokens (
        infrastructure_id TEXT PRIMARY KEY,
        token             INTEGER NOT NULL
    )
    """,
)

# The audit trail (atlas.store.audit): append-only, every entry chained to the one before by
# its hash. AUTOINCREMENT, so that a seq once handed out is never handed out again: entries
# deleted from the end leave a gap the next entry shows. No foreign key: the trail outlives
# what it names, and names refused requests that touched nothing.
_V5: tuple[str, ...] = (
    """
    CREATE TABLE audit (
        seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
        id                  TEXT NOT NULL UNIQUE,
        time                TEXT NOT NULL,
        workspace           TEXT,             -- NULL: refused before the caller was known
        actor               TEXT,
        auth_method         TEXT NOT NULL,
        remote_address      TEXT,
        request_id          TEXT,
        action              TEXT NOT NULL,
        infrastructure_id   TEXT,
        infrastructure_name TEXT,
        operation_id        TEXT,
        outcome             TEXT NOT NULL,
        status_code         INTEGER,
        error_code          TEXT,
        summary             TEXT NOT NULL,    -- JSON
        prev_hash           TEXT NOT NULL,
        hash                TEXT NOT NULL
    )
    """,
    "CREATE INDEX audit_by_workspace ON audit (workspace, seq)",
)

# Budgets (atlas.cost.budgets): a workspace's own, and the thresholds already crossed, one row
# per budget (scope), month and threshold, so that each alert is sent once a month however
# many processes check. No foreign key: a crossing outlives the infrastructure it was for.
_V6: tuple[str, ...] = (
    """
    CREATE TABLE budgets (
        workspace        TEXT PRIMARY KEY,
        monthly_limit    TEXT NOT NULL,    -- a decimal string
        currency         TEXT NOT NULL,
        thresholds       TEXT NOT NULL,    -- JSON: whole percentages, ascending
        include_forecast INTEGER NOT NULL,
        updated_at       TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE budget_crossings (
        workspace  TEXT NOT NULL,
        scope      TEXT NOT NULL,          -- 'workspace' or 'infrastructure:<id>'
        month      TEXT NOT NULL,          -- YYYY-MM
        threshold  INTEGER NOT NULL,       -- percent
        event_id   TEXT NOT NULL,
        crossed_at TEXT NOT NULL,
        PRIMARY KEY (workspace, scope, month, threshold)
    )
    """,
)

#: Migration n (1-based) is ``MIGRATIONS[n - 1]``; append, never edit a released one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(MIGRATIONS)


def configure(conn: sqlite3.Connection, *, in_memory: bool) -> dict[str, object]:
    """Set the durability settings, then read each one back (see :func:`verify_settings`)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    return verify_settings(conn, in_memory=in_memory)


def verify_settings(conn: sqlite3.Connection, *, in_memory: bool) -> dict[str, object]:
    """The settings in force, or :class:`StateError` naming the first one SQLite did not keep.

    SQLite ignores what it cannot do without a word (WAL on a filesystem without shared memory,
    a pragma inside a transaction), so asking is not enough: the store must not open on weaker
    guarantees than it promises.
    """
    settings: dict[str, object] = {
        "journal_mode": str(_pragma(conn, "journal_mode")).lower(),
        "synchronous": _pragma(conn, "synchronous"),
        "foreign_keys": _pragma(conn, "foreign_keys"),
        "busy_timeout_ms": _pragma(conn, "busy_timeout"),
    }
    # ":memory:" has no WAL (nor any file to sync): it reports journal mode "memory".
    expected: dict[str, object] = {
        "journal_mode": "memory" if in_memory else "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout_ms": BUSY_TIMEOUT_MS,
    }
    for name, want in expected.items():
        if settings[name] != want:
            raise StateError(f"{name}: the store needs {want!r}, SQLite reports {settings[name]!r}")
    return {**settings, "synchronous": "FULL", "foreign_keys": True}


def _pragma(conn: sqlite3.Connection, name: str) -> object:
    row = conn.execute(f"PRAGMA {name}").fetchone()
    return None if row is None else row[0]


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[str, ...]] = MIGRATIONS) -> int:
    """Bring the schema up to ``len(migrations)``; return the version now in force."""
    latest = len(migrations)
    _refuse_newer(version(conn), latest)
    for target in range(1, latest + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = version(conn)  # another process may have migrated meanwhile
            _refuse_newer(current, latest)
            if current < target:
                for statement in migrations[target - 1]:
                    conn.execute(statement)
                # PRAGMA takes no parameters; target is an int we computed.
                conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version(conn)


def _refuse_newer(current: int, latest: int) -> None:
    if current > latest:
        raise StoreSchemaError(
            f"the state store has schema version {current}, newer than the {latest} this "
            "atlas knows; upgrade atlas to use it (it was left untouched)"
        )
