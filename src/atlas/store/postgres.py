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

The methods themselves are :class:`~atlas.store.sql.SQLStore`'s, shared with SQLite through
:mod:`atlas.store.dialect`; this module gives the pool, its transactions, the outbox's
numbering, what a restore locks and sets, and the health report.

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

import asyncio
import datetime as dt
import re
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from atlas.exceptions import StateError
from atlas.model.records import AuditEntry, EventRecord, utcnow
from atlas.store import pgnotify, pgschema, pgsql
from atlas.store.dialect import POSTGRES, Tx
from atlas.store.opening import passwords_in, redact
from atlas.store.sql import SQLStore

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    Conn = psycopg.Connection[dict[str, Any]]

__all__ = ["PostgresStore"]

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


class PostgresStore(SQLStore):
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

    dialect = POSTGRES

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
        super().__init__(shown=redact(url), lease_seconds=lease_seconds, clock=clock)
        self._timeout = connect_timeout
        self._secrets = passwords_in(url)
        self._psycopg, pool_module = _drivers()
        self._secrets += self._passwords(url)
        self._closed = threading.Event()
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": self._rows()}
        if "connect_timeout" not in self._conninfo(url):
            kwargs["connect_timeout"] = max(1, round(connect_timeout))
        #: Where this store's journal changes are announced (set when it is prepared).
        self._channel = pgnotify.CHANNEL
        self._prepare(kwargs)
        self._pool: ConnectionPool[Conn] = self._open_pool(pool_module, kwargs, pool_size)

    def __repr__(self) -> str:
        return f"PostgresStore({self._shown!r})"

    @property
    def url(self) -> str:
        """The connection URL, password and all: for what else connects to the same database
        (the shared rate budget, :mod:`atlas.store.budget`); never to be shown (``repr`` is)."""
        return self._url

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

    def _open_pool(
        self, pool_module: ModuleType, kwargs: dict[str, Any], size: int
    ) -> ConnectionPool[Conn]:
        pool: ConnectionPool[Conn] = pool_module.ConnectionPool(
            self._url,
            kwargs=kwargs,
            min_size=1,
            max_size=max(1, size),
            open=False,
            configure=_configure,
            check=pool_module.ConnectionPool.check_connection,
            name="atlas-state",
            timeout=self._timeout,
            num_workers=2,
        )
        try:
            pool.open(wait=True, timeout=self._timeout)
        except self._psycopg.Error as exc:
            pool.close()
            raise StateError(
                f"cannot reach the state store at {self._shown}: {self._words(exc)}"
            ) from None
        return pool

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
                row = conn.execute("SELECT current_schema() AS name").fetchone()
                self._channel = pgnotify.channel(row["name"])
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
            if write and pgsql.is_storage_error(exc):
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
            return self._primary(exc) if pgsql.is_storage_error(exc) else None
        return None

    # -- following the journal across replicas -----------------------------------------------

    def _announce(self, tx: Tx, operation_ids: Collection[str]) -> None:
        # Delivered when (and only if) the transaction commits, once per distinct payload.
        for operation_id in operation_ids:
            tx.run("SELECT pg_notify(?, ?)", (self._channel, operation_id))

    async def follow(self, on_change: Callable[[], None], stop: asyncio.Event) -> None:
        """See :mod:`atlas.store.pgnotify`: one listening connection of its own."""
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self._conninfo(self._url):
            kwargs["connect_timeout"] = max(1, round(self._timeout))

        async def connect() -> Any:
            return await self._psycopg.AsyncConnection.connect(self._url, **kwargs)

        await pgnotify.follow(
            connect, self._channel, on_change, stop, shown=self._shown, words=self._words
        )

    # -- the outbox and restores -------------------------------------------------------------

    def _insert_events(self, tx: Tx, events: Sequence[EventRecord]) -> None:
        pgsql.insert_events(tx, events)

    def _next_audit_seq(self, tx: Tx) -> int:
        return pgsql.next_audit_seq(tx)

    def _restore_audit(self, tx: Tx, entries: Sequence[AuditEntry]) -> None:
        super()._restore_audit(tx, entries)
        pgsql.set_audit_counter(tx, max((e.seq for e in entries), default=0))

    def _hold_for_restore(self, tx: Tx) -> None:
        tx.run("LOCK TABLE infrastructures, operations, events, locks IN EXCLUSIVE MODE")

    def _restore_events(self, tx: Tx, events: Sequence[tuple[int, EventRecord]]) -> None:
        super()._restore_events(tx, events)
        pgsql.set_event_counter(tx, max((seq for seq, _ in events), default=0))

    # -- the rest ----------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        with self._connection(write=False) as conn:
            with conn.transaction():
                found = conn.execute(pgsql.SETTINGS).fetchone()
                version = pgschema.version(conn)
            write_error = self._probe_write(conn)
        settings = dict(found or {})
        if settings.get("isolation") != "read committed":
            raise StateError(
                "isolation: the store needs 'read committed', PostgreSQL reports "
                f"{settings.get('isolation')!r}"
            )
        write_error = self._write_error_now(write_error, seen=lambda state: state == _READ_ONLY)
        fsync = settings.get("fsync") == "on"
        stats = self._pool.get_stats()
        report: dict[str, Any] = {
            "backend": self.dialect.name,
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
