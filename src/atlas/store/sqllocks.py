"""An infrastructure's lock, on either SQL store: everything a lock is, in one place.

A lock is a row of ``locks`` with its holder (``"<host>:<pid>"``, :mod:`atlas.store.leases`),
when it was taken and its last heartbeat. A free lock is taken by inserting the row; a held one
is read, and locked until the transaction ends (``FOR UPDATE`` on PostgreSQL, where a
contender's insert waits for ours to end; SQLite's ``BEGIN IMMEDIATE`` lets one writer in at a
time), then renewed if it is the caller's own, taken over if its holder is known gone or its
lease ran out, else refused with :class:`~atlas.exceptions.LockedError`. Never an advisory
lock: a transaction-pooling proxy strands those, and they name no holder.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from atlas.exceptions import LockedError, StateError
from atlas.store.base import LockInfo
from atlas.store.dialect import Tx
from atlas.store.leases import current_holder, holder_is_gone, lease_expired

__all__ = ["SQLLocks"]


class SQLLocks(abc.ABC):
    """The lock methods of :class:`~atlas.store.sql.SQLStore`, which gives them a transaction
    (:meth:`_tx`), the database's time value (:meth:`_stamp`), a clock and the lease."""

    _clock: Callable[[], dt.datetime]
    _lease_seconds: float

    @abc.abstractmethod
    def _tx(self, *, write: bool, snapshot: bool = False) -> AbstractContextManager[Tx]: ...

    @abc.abstractmethod
    def _stamp(self, when: dt.datetime | None = None) -> Any: ...

    def lock(self, infrastructure_id: str, operation_id: str) -> None:
        holder = current_holder()
        now = self._clock()
        taking = {
            "infrastructure_id": infrastructure_id,
            "operation_id": operation_id,
            "holder": holder,
            "now": self._stamp(now),
        }
        with self._tx(write=True) as tx:
            held = _take_or_read_lock(tx, taking)
            if held is None:
                return
            if held.operation_id == operation_id and held.holder == holder:
                _touch_lock(tx, infrastructure_id, taking["now"])
                return
            if not self._is_stale(held, now):
                raise _locked_error(tx, held)
            # Logged as the backend's module (atlas.store.sqlite, atlas.store.postgres).
            logging.getLogger(type(self).__module__).warning(
                "taking over the lock of infrastructure %s from operation %s "
                "(holder %s, last heartbeat %s)",
                infrastructure_id,
                held.operation_id,
                held.holder,
                held.heartbeat_at.isoformat(),
            )
            tx.run(_TAKE_OVER_LOCK, taking)

    def _is_stale(self, held: LockInfo, now: dt.datetime) -> bool:
        return holder_is_gone(held.holder) or lease_expired(
            held.heartbeat_at, now, self._lease_seconds
        )

    def heartbeat(self, infrastructure_id: str, operation_id: str) -> None:
        # A holder that lost its lease (and the lock with it) must learn so here and stop.
        with self._tx(write=True) as tx:
            held = _lock_row(tx, infrastructure_id, lock=True)
            if held is None:
                raise StateError(
                    f"operation {operation_id} does not hold the lock of infrastructure "
                    f"{infrastructure_id}: nobody does"
                )
            if held.operation_id != operation_id or held.holder != current_holder():
                raise _locked_error(tx, held)
            _touch_lock(tx, infrastructure_id, self._stamp())

    def unlock(self, infrastructure_id: str, operation_id: str) -> None:
        with self._tx(write=True) as tx:
            tx.run(
                "DELETE FROM locks WHERE infrastructure_id = ? AND operation_id = ?",
                (infrastructure_id, operation_id),
            )

    def lock_info(self, infrastructure_id: str) -> LockInfo | None:
        with self._tx(write=False) as tx:
            return _lock_row(tx, infrastructure_id)


# -- the lock row ----------------------------------------------------------------------------

# A free lock is taken by inserting its row; a held one is read (and locked) to decide.
_TAKE_LOCK = """
    INSERT INTO locks (infrastructure_id, operation_id, holder, acquired_at, heartbeat_at)
    VALUES (:infrastructure_id, :operation_id, :holder, :now, :now)
    ON CONFLICT (infrastructure_id) DO NOTHING
"""
_TAKE_OVER_LOCK = """
    UPDATE locks SET operation_id = :operation_id, holder = :holder,
        acquired_at = :now, heartbeat_at = :now
    WHERE infrastructure_id = :infrastructure_id
"""


def _take_or_read_lock(tx: Tx, taking: dict[str, Any]) -> LockInfo | None:
    """``None`` when the free lock is now taken for ``taking``; else who holds it (its row
    locked until the transaction ends)."""
    while True:
        # On PostgreSQL a contender's insert waits for ours to end; SQLite lets one writer in.
        if tx.run(_TAKE_LOCK, taking).rowcount == 1:
            return None
        held = _lock_row(tx, taking["infrastructure_id"], lock=True)
        if held is not None:
            return held
        # Released between the two statements: try to take it again.


def _lock_row(tx: Tx, infrastructure_id: str, *, lock: bool = False) -> LockInfo | None:
    sql = "SELECT * FROM locks WHERE infrastructure_id = ?"
    sql = tx.dialect.locking(sql) if lock else sql
    found: LockInfo | None = tx.record(LockInfo, sql, (infrastructure_id,))
    return found


def _touch_lock(tx: Tx, infrastructure_id: str, now: Any) -> None:
    tx.run(
        "UPDATE locks SET heartbeat_at = ? WHERE infrastructure_id = ?", (now, infrastructure_id)
    )


def _locked_error(tx: Tx, held: LockInfo) -> LockedError:
    row = tx.one("SELECT name FROM infrastructures WHERE id = ?", (held.infrastructure_id,))
    label = held.infrastructure_id if row is None else row["name"]
    since = held.acquired_at.isoformat()
    return LockedError(
        f"infrastructure {label} is locked by operation {held.operation_id} since {since}",
        operation_id=held.operation_id,
        since=since,
    )
