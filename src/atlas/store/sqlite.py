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

The methods themselves are :class:`~atlas.store.sql.SQLStore`'s, shared with PostgreSQL; this
module gives the connection, its transactions, the outbox's numbering and the health report.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from atlas.exceptions import StateError
from atlas.model.records import EventRecord, utcnow
from atlas.store import schema
from atlas.store.dialect import SQLITE, Tx, insert
from atlas.store.sql import SQLStore

__all__ = ["DEFAULT_STATE_PATH", "STATE_ENV", "SQLiteStore"]

#: The environment variable naming the state store (a file, or a URL: atlas.store.opening).
STATE_ENV: Final = "ATLAS_STATE"
#: Where the state lives when nothing says otherwise (relative to the working directory).
DEFAULT_STATE_PATH: Final = Path(".atlas") / "state.db"

_MEMORY = ":memory:"
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
# The outbox's seq is SQLite's own (AUTOINCREMENT): commit order, as writers are serialised.
_INSERT_EVENT = insert("events", EventRecord)


class SQLiteStore(SQLStore):
    """The :class:`~atlas.store.base.StateStore` in one SQLite file.

    :param path: the database file (its directory is created), or ``":memory:"``.
    :param lease_seconds: a lock whose heartbeat is older than this is taken over.
    :param clock: the time source (timezone-aware), injectable so leases test without sleeping.
    """

    dialect = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str] = _MEMORY,
        *,
        lease_seconds: float = 120.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._path = os.fspath(path)
        super().__init__(shown=self._path, lease_seconds=lease_seconds, clock=clock)
        self._in_memory = self._path == _MEMORY
        self._mutex = threading.RLock()
        self._conn: sqlite3.Connection | None = self._open()

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    @property
    def path(self) -> str:
        """The database file (``":memory:"`` for none): what else may open it (the shared
        rate budget, :mod:`atlas.store.budget`)."""
        return self._path

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
    def _transaction(
        self,
        *,
        write: bool,
        snapshot: bool = False,  # noqa: ARG002 - every SQLite transaction is one
    ) -> Iterator[sqlite3.Connection]:
        # Any transaction is a snapshot: in WAL mode a reader sees every table as of its first
        # read, and a writer holds the write lock throughout.
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

    def _insert_events(self, tx: Tx, events: Sequence[EventRecord]) -> None:
        tx.many(_INSERT_EVENT, [tx.params(e) for e in events])

    def _next_audit_seq(self, tx: Tx) -> int:
        # BEGIN IMMEDIATE already keeps every other writer out. AUTOINCREMENT's high mark
        # outlives deleted rows, so a seq is never handed out twice.
        row = tx.one("SELECT seq FROM sqlite_sequence WHERE name = 'audit'")
        return 1 if row is None else int(row["seq"]) + 1

    # -- the rest ----------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        with self._mutex:
            with self._transaction(write=False) as conn:
                settings = schema.verify_settings(conn, in_memory=self._in_memory)
                version = schema.version(conn)
            write_error = self._write_error_now(
                self._probe_write(conn), seen=lambda name: name.startswith("SQLITE_READONLY")
            )
        report: dict[str, Any] = {
            "backend": self.dialect.name,
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


# -- helpers ---------------------------------------------------------------------------------


def _is_storage_error(exc: sqlite3.Error) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(_STORAGE_ERRORS)


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
