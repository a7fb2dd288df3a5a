"""The one SQL text both stores speak, and the little that differs between their databases.

The shared store (:mod:`atlas.store.sql`) writes each statement once, in SQLite's parameter
style (``?`` and ``:name``). A :class:`Dialect` says what a database needs instead: PostgreSQL
takes ``%s`` and ``%(name)s`` (translated once per statement text), locks a row it reads to
change it (``FOR UPDATE``, where SQLite's ``BEGIN IMMEDIATE`` has already serialised writers),
orders text by the database's collation unless told ``COLLATE "C"`` (SQLite compares bytes),
and numbers operations in arrival order in a column of its own (SQLite has the ``rowid``).
What differs in behaviour rather than text (connections, transactions, the outbox's numbering,
``check()``) is each store's own.

Statements are built from the records' fields (:func:`atlas.store.codec.columns`), so that a
field added to a record is stored without a statement to edit. Table and column names are this
module's constants, never input: hence the noqa for string-built SQL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final

import attrs

from atlas.model.records import (
    AuditEntry,
    BudgetRecord,
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    ResourceRecord,
    StepRecord,
    ThresholdCrossing,
)
from atlas.store import codec
from atlas.store.base import LockInfo

__all__ = ["POSTGRES", "SQLITE", "Dialect", "Tx"]

#: A statement's parameters: positional (``?``) or named (``:name``).
Params = Sequence[Any] | Mapping[str, Any]

# ``:name`` but not the second colon of a ``::type`` cast.
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _as_is(sql: str) -> str:
    return sql


@functools.lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """SQLite's ``?`` and ``:name`` as psycopg's ``%s`` and ``%(name)s``."""
    return _NAMED.sub(r"%(\1)s", sql.replace("?", "%s"))


@attrs.frozen
class Dialect:
    """What one database needs said differently."""

    #: What check() reports as the store's ``backend``.
    name: str
    #: How records become the database's column values, and back.
    codec: codec.RowCodec
    #: The shared text (``?``, ``:name``) as the driver takes it.
    translate: Callable[[str], str]
    #: What a SELECT ends with to lock the rows it reads until the transaction ends.
    for_update: str
    #: What a text column is followed by in ORDER BY to compare by bytes, as SQLite does.
    binary: str
    #: The column that orders operations as they were recorded.
    arrival: str
    #: What follows ``for_update`` to pass over rows another transaction holds.
    skip_locked: str = ""

    def locking(self, select: str) -> str:
        """``select``, locking the rows it reads until the transaction ends."""
        return select + self.for_update

    def claiming(self, select: str) -> str:
        """``select``, locking the rows it reads, and passing over those another transaction
        has locked (SQLite's writers never overlap: nothing is locked by another)."""
        return select + self.for_update + self.skip_locked


SQLITE: Final = Dialect(
    name="sqlite",
    codec=codec.SQLITE,
    translate=_as_is,
    for_update="",  # BEGIN IMMEDIATE holds the write lock for the whole transaction
    binary="",
    arrival="rowid",
)
POSTGRES: Final = Dialect(
    name="postgresql",
    codec=codec.POSTGRES,
    translate=_pyformat,
    for_update=" FOR UPDATE",
    binary=' COLLATE "C"',
    arrival="seq",
    skip_locked=" SKIP LOCKED",
)


class Tx:
    """One transaction's connection (sqlite3's or psycopg's), speaking the shared text."""

    __slots__ = ("conn", "dialect")

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def run(self, sql: str, params: Params = ()) -> Any:
        """Execute one statement; the driver's cursor (``rowcount``, ``fetchone``, ...)."""
        return self.conn.execute(self.dialect.translate(sql), params)

    def one(self, sql: str, params: Params = ()) -> Any:
        return self.run(sql, params).fetchone()

    def all(self, sql: str, params: Params = ()) -> list[Any]:
        return list(self.run(sql, params).fetchall())

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        # A cursor's executemany: psycopg's connections have none of their own.
        cursor = self.conn.cursor()
        try:
            cursor.executemany(self.dialect.translate(sql), rows)
        finally:
            cursor.close()

    def exists(self, sql: str, *params: object) -> bool:
        return self.one(sql, params) is not None

    def count(self, sql: str, *params: object) -> int:
        """The figure of a ``SELECT count(*) AS n ...``."""
        row = self.one(sql, params)
        return 0 if row is None else int(row["n"])

    def records(self, cls: type[Any], sql: str, params: Params = ()) -> tuple[Any, ...]:
        return tuple(self.dialect.codec.from_row(r, cls) for r in self.all(sql, params))

    def record(self, cls: type[Any], sql: str, params: Params = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else self.dialect.codec.from_row(row, cls)

    def everything(self, cls: type[Any], table: str, order: str) -> tuple[Any, ...]:
        """Every record of ``table`` (one of this package's, never input), in ``order``."""
        return self.records(cls, f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608

    def params(self, record: Any) -> dict[str, Any]:
        return self.dialect.codec.params(record)


# -- the statements --------------------------------------------------------------------------


def insert(table: str, record: type[Any], *, extra: Sequence[str] = ()) -> str:
    """``INSERT`` of every column of ``record`` (named parameters, as codec params gives),
    after the ``extra`` columns that are not the record's."""
    names = (*extra, *codec.columns(record))
    values = ", ".join(f":{n}" for n in names)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})"  # noqa: S608


def assign(record: type[Any], fixed: Collection[str], *, source: str = "excluded.") -> str:
    """``column = <source>column`` for every column of ``record`` but the ``fixed`` ones."""
    return ", ".join(f"{n} = {source}{n}" for n in codec.columns(record) if n not in fixed)


#: An operation's identity: update_operation may change anything else.
FIXED_OPERATION_FIELDS = frozenset({"id", "workspace", "infrastructure_id"})
UNFINISHED = ("pending", "in_progress")
ENDED: frozenset[str] = frozenset({"done", "failed", "timed_out", "rolled_back"})

INSERT_INFRASTRUCTURE = insert("infrastructures", InfrastructureRecord)
UPSERT_INFRASTRUCTURE = (
    INSERT_INFRASTRUCTURE
    + f" ON CONFLICT (id) DO UPDATE SET {assign(InfrastructureRecord, ('id', 'workspace'))}"
    + " WHERE infrastructures.workspace = excluded.workspace"
)
# An upsert, never INSERT OR REPLACE: a replace deletes the row first, and the cascade would
# take the infrastructure's resources and operations with it.
INSERT_RESOURCE = insert("resources", ResourceRecord)
UPSERT_RESOURCE = (
    INSERT_RESOURCE
    + " ON CONFLICT (infrastructure_id, name) DO UPDATE SET "
    + assign(ResourceRecord, ("infrastructure_id", "name"))
)
INSERT_OPERATION = insert("operations", OperationRecord)
_OPERATION_CHANGES = assign(OperationRecord, FIXED_OPERATION_FIELDS, source=":")
UPDATE_OPERATION = f"UPDATE operations SET {_OPERATION_CHANGES} WHERE id = :id"  # noqa: S608
INSERT_STEP = insert("steps", StepRecord)
#: Outbox rows with their ``seq`` given (PostgreSQL numbers them itself; a restore keeps them).
INSERT_NUMBERED_EVENT = insert("events", EventRecord, extra=("seq",))
INSERT_LOCK = insert("locks", LockInfo)
#: An audit entry as sealed, its ``seq`` given (atlas.store.audit).
INSERT_AUDIT = insert("audit", AuditEntry)
INSERT_BUDGET = insert("budgets", BudgetRecord)
INSERT_CROSSING = insert("budget_crossings", ThresholdCrossing)
#: A threshold is crossed once a month: the second insert of one does nothing.
CROSS_THRESHOLD = INSERT_CROSSING + " ON CONFLICT (workspace, scope, month, threshold) DO NOTHING"
# ``running`` keeps the first start (a resumed step started when it first ran) and clears an
# earlier end; an end state stamps the end. Provider ids are only replaced when given.
UPDATE_STEP = """
    UPDATE steps SET
        status = :status,
        error = :error,
        note = coalesce(:note, note),
        provider_ids = coalesce(:provider_ids, provider_ids),
        started_at = CASE WHEN :running THEN coalesce(started_at, :now) ELSE started_at END,
        finished_at = CASE WHEN :ended THEN :now WHEN :running THEN NULL ELSE finished_at END
    WHERE operation_id = :operation_id AND idx = :idx
"""
