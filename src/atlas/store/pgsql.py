"""The SQL only the PostgreSQL store (:mod:`atlas.store.postgres`) speaks: its health query, what
its errors say about storage, and how its outbox numbers events and its audit trail its entries.
Everything both stores say is in :mod:`atlas.store.dialect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atlas.exceptions import StateError
from atlas.model.records import EventRecord
from atlas.store.dialect import INSERT_NUMBERED_EVENT, Tx

#: SQLSTATEs (or their class) that say the database cannot take a write now, rather than that
#: a statement is wrong or another writer is in the way: a read-only transaction (a standby, a
#: read-only default), insufficient resources (a full disk, too many connections), a system or
#: I/O error, corrupted data, no write privilege.
STORAGE_STATES = ("25006", "53", "58", "XX001", "XX002", "42501")
SETTINGS = """
    SELECT current_setting('server_version') AS server_version,
           current_setting('synchronous_commit') AS synchronous_commit,
           current_setting('fsync') AS fsync,
           current_setting('transaction_isolation') AS isolation,
           pg_is_in_recovery() AS in_recovery
"""


def is_storage_error(exc: Any) -> bool:
    state = str(getattr(exc, "sqlstate", None) or "")
    return bool(state) and state.startswith(STORAGE_STATES)


def insert_events(tx: Tx, events: Sequence[EventRecord]) -> None:
    """Into the outbox, numbered from the counter row: its lock, held until this transaction
    commits, makes the numbers commit order (pgschema's docstring says why)."""
    if not events:
        return
    rows = [tx.params(e) for e in events]  # a refused record refuses before the counter
    counter = tx.one(
        "UPDATE atlas_counters SET value = value + ? WHERE name = 'events' RETURNING value",
        (len(rows),),
    )
    if counter is None:
        raise StateError("the state store has no event counter: its schema is damaged")
    first = int(counter["value"]) - len(rows) + 1
    tx.many(INSERT_NUMBERED_EVENT, [{**row, "seq": first + n} for n, row in enumerate(rows)])


def set_event_counter(tx: Tx, last: int) -> None:
    """After a restore: the next event is numbered after the last one restored."""
    tx.run("UPDATE atlas_counters SET value = ? WHERE name = 'events'", (last,))


def next_audit_seq(tx: Tx) -> int:
    """The next audit entry's ``seq``, from its counter row: the row's lock, held until this
    transaction commits, keeps every other append out, so the chain never forks."""
    counter = tx.one(
        "UPDATE atlas_counters SET value = value + 1 WHERE name = 'audit' RETURNING value"
    )
    if counter is None:
        raise StateError("the state store has no audit counter: its schema is damaged")
    return int(counter["value"])


def set_audit_counter(tx: Tx, last: int) -> None:
    """After a restore: the next entry is numbered after the last one restored."""
    tx.run("UPDATE atlas_counters SET value = ? WHERE name = 'audit'", (last,))
