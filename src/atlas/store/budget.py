"""The rate budget of each cloud account, kept in the state store so every replica shares it.

Two tables beside the store's own: ``rate_accounts`` (one row per account key, a SHA-256 of the
credential: never the token; it holds the provider's last word on what remains) and
``rate_slots`` (one row per request granted: when it counts until, and whether it has ended).
A grant is one transaction that first takes the account's lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``SELECT ... FOR UPDATE`` on the account's row), then counts the slots in each
window and inserts one only if every window has room. Two processes can therefore never both
take the last place of a window.

A slot in flight counts until ``max_flight`` seconds after its grant (longer than any request
may take), then until a window's span after its end once it ends: a process that dies with a
request in flight strands nothing for longer than that. Slots older than every window are
deleted by the next grant.

The tables are created if missing, outside the store's versioned migrations: their rows are
live, short-lived counters (never part of a backup), and a store of an older schema version
still shares a budget. Times are the callers' wall clocks: replicas must keep them right
(NTP), as the store's leases already require.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final, Protocol

from atlas.http.budget import Grant, SharedBudget
from atlas.http.profile import RateLimitProfile

__all__ = [
    "MAX_FLIGHT",
    "PostgresBudget",
    "SQLiteBudget",
    "StoreBudget",
    "StoreBudgets",
    "budget_for_store",
]

#: Seconds a slot in flight counts for at most (a request's timeouts are well under this).
MAX_FLIGHT: Final = 120.0
#: How soon to ask again when the window is full of requests still in flight elsewhere.
POLL: Final = 0.25

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS rate_accounts (
        account TEXT PRIMARY KEY,
        remaining INTEGER,
        remaining_as_of BIGINT,
        remaining_until DOUBLE PRECISION
    )""",
    """CREATE TABLE IF NOT EXISTS rate_slots (
        id {id},
        account TEXT NOT NULL,
        granted_at DOUBLE PRECISION NOT NULL,
        counts_until DOUBLE PRECISION NOT NULL,
        ended INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS rate_slots_until ON rate_slots (account, counts_until)",
    "CREATE INDEX IF NOT EXISTS rate_slots_order ON rate_slots (account, id)",
)


class _Tx(Protocol):
    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class StoreBudget:
    """One account's :class:`~atlas.http.budget.SharedBudget` in a store's database; the
    database specifics (connection, locking, placeholders) are the subclasses'."""

    def __init__(self, profile: RateLimitProfile, account: str, *, max_flight: float) -> None:
        self.profile, self.account, self.max_flight = profile, account, max_flight
        self._span = max((w.seconds for w in profile.windows), default=0.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account[:12]}…)"

    def _locked(self) -> AbstractContextManager[_Tx]:
        """A transaction holding the account's lock against every other process."""
        raise NotImplementedError  # pragma: no cover - each database has its own

    def close(self) -> None:
        """Close the connection; a later call opens another (a limiter may outlive it)."""
        raise NotImplementedError  # pragma: no cover - each database has its own

    def grant(self, now: float) -> Grant:
        with self._locked() as run:
            a = self.account
            run(
                "DELETE FROM rate_slots WHERE account = ? AND counts_until <= ?",
                (a, now - self._span),
            )
            for window in self.profile.windows:
                since = now - window.seconds
                (count,) = run(
                    "SELECT count(*) FROM rate_slots WHERE account = ? AND counts_until > ?",
                    (a, since),
                )[0]
                if count >= window.limit:
                    return self._wait(run, window.seconds, window.limit, count, now)
            remaining = self._remaining(run, now)
            if remaining is not None and remaining <= 0:
                (until,) = run("SELECT remaining_until FROM rate_accounts WHERE account = ?", (a,))[
                    0
                ]
                why = "none left by the API's count (another process was told)"
                return Grant(None, max(min(until - now, 1.0), 0.01), remaining, why=why)
            (overlapping,) = run(
                "SELECT count(*) FROM rate_slots"
                " WHERE account = ? AND ended = 0 AND counts_until > ?",
                (a, now),
            )[0]
            rows = run(
                "INSERT INTO rate_slots (account, granted_at, counts_until) VALUES (?, ?, ?)"
                " RETURNING id",
                (a, now, now + self.max_flight),
            )
            left = None if remaining is None else remaining - 1
            return Grant(int(rows[0][0]), 0.0, left, int(overlapping))

    def _wait(self, run: _Tx, span: float, limit: int, count: int, now: float) -> Grant:
        """No slot: the window is full until its ``count - limit + 1``-th oldest slot leaves."""
        excess = count - limit + 1
        until, ended = run(
            "SELECT counts_until, ended FROM rate_slots WHERE account = ? AND counts_until > ?"
            " ORDER BY counts_until LIMIT 1 OFFSET ?",
            (self.account, now - span, excess - 1),
        )[0]
        why = f"the account's limit of {limit} requests per {span:g}s is reached (all processes)"
        if not ended:  # in flight: it counts from its end, which may come any moment
            return Grant(None, POLL, why="waiting for requests in flight (all processes)")
        return Grant(None, max(until + span - now, 0.001), why=why)

    def _remaining(self, run: _Tx, now: float) -> int | None:
        """The provider's last word, less every slot granted since, while it holds."""
        rows = run(
            "SELECT remaining, remaining_as_of, remaining_until FROM rate_accounts"
            " WHERE account = ?",
            (self.account,),
        )
        if not rows or rows[0][0] is None or rows[0][2] <= now:
            return None
        remaining, as_of, _ = rows[0]
        (since,) = run(
            "SELECT count(*) FROM rate_slots WHERE account = ? AND id > ?", (self.account, as_of)
        )[0]
        return int(remaining) - int(since)

    def end(self, slot: int, now: float) -> None:
        with self._locked() as run:
            run(
                "UPDATE rate_slots SET counts_until = ?, ended = 1 WHERE id = ? AND ended = 0",
                (now, slot),
            )

    def learn(
        self, slot: int | None, overlapping: int, remaining: int, now: float, valid_for: float
    ) -> None:
        if slot is None:
            return
        with self._locked() as run:
            # Those in flight when the slot was granted may have reached the server after it;
            # those granted since are subtracted at every grant (remaining_as_of).
            run(
                "UPDATE rate_accounts SET remaining = ?, remaining_as_of = ?, remaining_until = ?"
                " WHERE account = ? AND (remaining_as_of IS NULL OR remaining_as_of <= ?"
                " OR remaining_until <= ?)",
                (remaining - overlapping, slot, now + valid_for, self.account, slot, now),
            )


class SQLiteBudget(StoreBudget):
    """The budget in a SQLite store's file, on a connection of its own (one per budget)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        profile: RateLimitProfile,
        account: str,
        *,
        max_flight: float = MAX_FLIGHT,
    ) -> None:
        super().__init__(profile, account, max_flight=max_flight)
        self._mutex = threading.Lock()
        self._path = os.fspath(path)
        self._conn: sqlite3.Connection | None = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=5.0, isolation_level=None, check_same_thread=False
        )
        # Counters, not records: losing the last moment's to a power cut costs nothing.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement.format(id="INTEGER PRIMARY KEY AUTOINCREMENT"))
        conn.execute("INSERT OR IGNORE INTO rate_accounts (account) VALUES (?)", (self.account,))
        conn.execute("COMMIT")
        return conn

    @contextmanager
    def _locked(self) -> Iterator[_Tx]:
        with self._mutex:
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn

            def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                return conn.execute(sql, tuple(params)).fetchall()

            conn.execute("BEGIN IMMEDIATE")  # every process's grants, one at a time
            try:
                yield run
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresBudget(StoreBudget):
    """The budget in a PostgreSQL store's database, on a connection of its own."""

    def __init__(
        self,
        url: str,
        profile: RateLimitProfile,
        account: str,
        *,
        max_flight: float = MAX_FLIGHT,
    ) -> None:
        import psycopg  # noqa: PLC0415 - the optional extra, as PostgresStore does

        super().__init__(profile, account, max_flight=max_flight)
        self._mutex = threading.Lock()
        self._psycopg, self._url = psycopg, url
        self._conn: Any = self._connect()

    def _connect(self) -> Any:
        psycopg = self._psycopg
        conn = psycopg.connect(self._url, autocommit=True)
        for attempt in range(3):
            try:
                with conn.transaction():
                    for statement in _SCHEMA:
                        conn.execute(statement.format(id="BIGSERIAL PRIMARY KEY"))
                    conn.execute(
                        "INSERT INTO rate_accounts (account) VALUES (%s) ON CONFLICT DO NOTHING",
                        (self.account,),
                    )
                break
            except psycopg.errors.UniqueViolation:  # two processes created the tables at once
                if attempt == 2:
                    conn.close()
                    raise
        return conn

    @contextmanager
    def _locked(self) -> Iterator[_Tx]:
        with self._mutex:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            conn = self._conn

            def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
                return list(cursor.fetchall()) if cursor.description else []

            with conn.transaction():
                # The account's row lock: every replica's grants for it, one at a time.
                conn.execute(
                    "SELECT account FROM rate_accounts WHERE account = %s FOR UPDATE",
                    (self.account,),
                )
                yield run

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class StoreBudgets:
    """A budget factory on one store's database (:func:`atlas.http.set_budget_factory`) that
    keeps what it made, so that :meth:`close` closes their connections when the store's user
    is done (a PostgreSQL connection left to the garbage collector warns)."""

    def __init__(self, make: Callable[[RateLimitProfile, str], StoreBudget]) -> None:
        self._make = make
        self._made: list[StoreBudget] = []
        self._lock = threading.Lock()

    def __call__(self, profile: RateLimitProfile, account: str) -> SharedBudget:
        budget = self._make(profile, account)
        with self._lock:
            self._made.append(budget)
        return budget

    def close(self) -> None:
        with self._lock:
            made, self._made = self._made, []
        for budget in made:
            budget.close()


def budget_for_store(store: object) -> StoreBudgets | None:
    """A budget factory sharing ``store``'s database; ``None`` for a store nothing else can
    see (SQLite ``:memory:``), where the in-process windows are already the whole truth."""
    from atlas.store.postgres import PostgresStore  # noqa: PLC0415
    from atlas.store.sqlite import SQLiteStore  # noqa: PLC0415

    if isinstance(store, SQLiteStore):
        path = store.path
        if path == ":memory:":
            return None
        return StoreBudgets(lambda profile, account: SQLiteBudget(path, profile, account))
    if isinstance(store, PostgresStore):
        url = store.url
        return StoreBudgets(lambda profile, account: PostgresBudget(url, profile, account))
    return None
