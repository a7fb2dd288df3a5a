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

from atlas.exceptions import LockedError, LockLostError, StateError
from atlas.model.records import OperationRecord
from atlas.store.base import LockInfo
from atlas.store.dialect import Tx
from atlas.store.leases import current_holder, holder_is_gone, lease_expired

__all__ = ["SQLLocks"]


class SQLLocks(abc.ABC):
    """The lock methods of :class:`~atlas.store.sql.SQLStore`, which gives them a transaction
    (:meth:`_tx`), the database's time value (:meth:`_stamp`), a clock and the lease.

    The fencing tokens this store holds are its own (``_fences``: infrastructure id ->
    operation id and token): what it took, not shared state. Every write the store makes for
    an infrastructure it holds calls :meth:`_fenced` inside the write's transaction."""

    _clock: Callable[[], dt.datetime]
    _lease_seconds: float
    _fences: dict[str, tuple[str, int]]

    @abc.abstractmethod
    def _tx(self, *, write: bool, snapshot: bool = False) -> AbstractContextManager[Tx]: ...

    @abc.abstractmethod
    def _stamp(self, when: dt.datetime | None = None) -> Any: ...

    @property
    def lease_seconds(self) -> float:
        return self._lease_seconds

    def lock(self, infrastructure_id: str, operation_id: str) -> int:
        holder = current_holder()
        now = self._clock()
        taking = {
            "infrastructure_id": infrastructure_id,
            "operation_id": operation_id,
            "holder": holder,
            "now": self._stamp(now),
        }
        with self._tx(write=True) as tx:
            token = self._lock(tx, taking, now)
        self._fences[infrastructure_id] = (operation_id, token)
        return token

    def _lock(self, tx: Tx, taking: dict[str, Any], now: dt.datetime) -> int:
        """Take the lock described by ``taking`` in ``tx``; its token."""
        infrastructure_id = taking["infrastructure_id"]
        held = _take_or_read_lock(tx, taking)
        if held is None:
            return _new_token(tx, infrastructure_id)
        mine = self._fences.get(infrastructure_id)
        if held.operation_id == taking["operation_id"] and held.holder == taking["holder"]:
            if mine is not None and mine[1] != held.token:
                raise _lost_error(tx, infrastructure_id, mine[0], held)
            _touch_lock(tx, infrastructure_id, taking["now"])
            return held.token
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
        token = _new_token(tx, infrastructure_id)
        tx.run(_TAKE_OVER_LOCK, {**taking, "token": token})
        return token

    def _is_stale(self, held: LockInfo, now: dt.datetime) -> bool:
        return holder_is_gone(held.holder) or lease_expired(
            held.heartbeat_at, now, self._lease_seconds
        )

    def _fenced(self, tx: Tx, infrastructure_id: str) -> None:
        """Refuse, with ``LockLostError``, a write for an infrastructure whose lock this store
        took when the lock no longer carries its token (another holder took it over). The lock
        row stays locked until the write commits, so no takeover comes between."""
        mine = self._fences.get(infrastructure_id)
        if mine is None:
            return
        held = _lock_row(tx, infrastructure_id, lock=True)
        if held is None or held.token != mine[1]:
            raise _lost_error(tx, infrastructure_id, mine[0], held)

    def heartbeat(self, infrastructure_id: str, operation_id: str) -> None:
        # A holder that lost its lease (and the lock with it) must learn so here and stop.
        with self._tx(write=True) as tx:
            self._fenced(tx, infrastructure_id)
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
        """Release, if held by this operation, and (when this store took it) with this
        store's token: a holder fenced out never frees the lock of the one that took over."""
        mine = self._fences.get(infrastructure_id)
        with self._tx(write=True) as tx:
            if mine is not None and mine[0] == operation_id:
                tx.run(
                    """DELETE FROM locks
                       WHERE infrastructure_id = ? AND operation_id = ? AND token = ?""",
                    (infrastructure_id, operation_id, mine[1]),
                )
            else:
                tx.run(
                    "DELETE FROM locks WHERE infrastructure_id = ? AND operation_id = ?",
                    (infrastructure_id, operation_id),
                )
        if mine is not None and mine[0] == operation_id:
            self._fences.pop(infrastructure_id, None)

    def lock_info(self, infrastructure_id: str) -> LockInfo | None:
        with self._tx(write=False) as tx:
            return _lock_row(tx, infrastructure_id)

    # -- claims of operations left without a live holder -----------------------------------

    def claim_orphans(
        self, *, limit: int = 10, skip: frozenset[str] = frozenset()
    ) -> list[OperationRecord]:
        now = self._clock()
        claimed: list[OperationRecord] = []
        # Looked for in a read: most passes find nothing, and write nothing.
        with self._tx(write=False) as tx:
            orphans = self._orphans(tx, now, skip)
        if not orphans:
            return claimed
        with self._tx(write=True) as tx:
            for op in orphans:
                if len(claimed) >= limit:
                    break
                # Locked, or skipped when another process is claiming it at this moment.
                if tx.one(tx.dialect.claiming(_CLAIM_OPERATION), (op.id, *UNFINISHED)) is None:
                    continue
                token = self._claim(tx, op, now)
                if token is not None:
                    claimed.append(op)
                    self._fences[op.infrastructure_id] = (op.id, token)
        return claimed

    def _orphans(self, tx: Tx, now: dt.datetime, skip: frozenset[str]) -> list[OperationRecord]:
        """The newest unfinished operation of each infrastructure whose lock is free or whose
        holder is gone, oldest first (read without locking: each is checked again as it is
        claimed, its status by :data:`_CLAIM_OPERATION`, its lock by :meth:`_claim`)."""
        unfinished: tuple[OperationRecord, ...] = tx.records(
            OperationRecord,
            f"""SELECT * FROM operations WHERE status IN (?, ?)
                ORDER BY started_at, {tx.dialect.arrival}""",  # noqa: S608 - constants
            UNFINISHED,
        )
        newest = {op.infrastructure_id: op for op in unfinished}  # the last one wins
        locks = {
            lock.infrastructure_id: lock
            for lock in tx.records(LockInfo, "SELECT * FROM locks")
            if lock.infrastructure_id in newest
        }
        found = []
        for op in unfinished:
            held = locks.get(op.infrastructure_id)
            if newest[op.infrastructure_id] is not op or op.id in skip:
                continue
            if held is None or self._is_stale(held, now):
                found.append(op)
        return found

    def _claim(self, tx: Tx, op: OperationRecord, now: dt.datetime) -> int | None:
        """Lock ``op``'s infrastructure for it, unless someone holds it alive now; the token."""
        taking = {
            "infrastructure_id": op.infrastructure_id,
            "operation_id": op.id,
            "holder": current_holder(),
            "now": self._stamp(now),
        }
        held = _take_or_read_lock(tx, taking)
        if held is None:
            return _new_token(tx, op.infrastructure_id)
        if not self._is_stale(held, now):
            return None  # taken (or renewed) since it was read
        logging.getLogger(type(self).__module__).warning(
            "claiming operation %s of infrastructure %s: its holder %s is gone (last heartbeat %s)",
            op.id,
            op.infrastructure_id,
            held.holder,
            held.heartbeat_at.isoformat(),
        )
        token = _new_token(tx, op.infrastructure_id)
        tx.run(_TAKE_OVER_LOCK, {**taking, "token": token})
        return token


# -- the lock row ----------------------------------------------------------------------------

UNFINISHED = ("pending", "in_progress")
_CLAIM_OPERATION = "SELECT id FROM operations WHERE id = ? AND status IN (?, ?)"

# A free lock is taken by inserting its row; a held one is read (and locked) to decide.
_TAKE_LOCK = """
    INSERT INTO locks (infrastructure_id, operation_id, holder, acquired_at, heartbeat_at)
    VALUES (:infrastructure_id, :operation_id, :holder, :now, :now)
    ON CONFLICT (infrastructure_id) DO NOTHING
"""
_TAKE_OVER_LOCK = """
    UPDATE locks SET operation_id = :operation_id, holder = :holder,
        acquired_at = :now, heartbeat_at = :now, token = :token
    WHERE infrastructure_id = :infrastructure_id
"""
# The infrastructure's next token: one more than any it has handed out.
_NEXT_FENCE = """
    INSERT INTO lock_tokens (infrastructure_id, token) VALUES (?, 1)
    ON CONFLICT (infrastructure_id) DO UPDATE SET token = lock_tokens.token + 1
    RETURNING token
"""


def _new_token(tx: Tx, infrastructure_id: str) -> int:
    """Hand out the next token and put it on the lock row (taken in this transaction)."""
    row = tx.one(_NEXT_FENCE, (infrastructure_id,))
    token = int(row["token"])
    tx.run("UPDATE locks SET token = ? WHERE infrastructure_id = ?", (token, infrastructure_id))
    return token


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


def _label(tx: Tx, infrastructure_id: str) -> str:
    row = tx.one("SELECT name FROM infrastructures WHERE id = ?", (infrastructure_id,))
    return infrastructure_id if row is None else str(row["name"])


def _lost_error(
    tx: Tx, infrastructure_id: str, operation_id: str, held: LockInfo | None
) -> LockLostError:
    label = _label(tx, infrastructure_id)
    if held is None:
        now = "nobody holds it now"
    else:
        now = (
            f"it is locked by operation {held.operation_id} since "
            f"{held.acquired_at.isoformat()} (holder {held.holder})"
        )
    return LockLostError(
        f"operation {operation_id} lost the lock of infrastructure {label} (taken over when its "
        f"lease ran out; {now}): this write was refused",
        operation_id=held.operation_id if held is not None else "",
        since=held.acquired_at.isoformat() if held is not None else "",
    )


def _locked_error(tx: Tx, held: LockInfo) -> LockedError:
    label = _label(tx, held.infrastructure_id)
    since = held.acquired_at.isoformat()
    return LockedError(
        f"infrastructure {label} is locked by operation {held.operation_id} since {since}",
        operation_id=held.operation_id,
        since=since,
    )
