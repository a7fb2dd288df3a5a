"""Following the journal across replicas: PostgreSQL's LISTEN/NOTIFY.

Every transaction of :class:`~atlas.store.postgres.PostgresStore` that changes an operation's
journal (its steps, its status, its events) sends a ``NOTIFY`` with the operation's id on the
store's own channel (:func:`channel`: one per schema, since channels are database-wide and
several stores may share a database, each in its schema); PostgreSQL delivers it to every
session listening there when, and only if, the transaction commits, once per distinct payload.
:func:`follow` holds one connection of its own (outside the pool: a listening session must stay
open, and a pooled connection is handed to others) and calls back on each notification, so an
event stream served by one replica wakes as soon as another replica's step ends, instead of at
its next poll.

Nothing depends on a notification arriving: streams still read the store every
``watch_interval``; a lost connection is opened again after a pause, and each reconnect calls
back once (whatever happened while it was away is read from the store, as always).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["CHANNEL", "channel", "follow"]

logger = logging.getLogger("atlas.store")

#: The prefix of the channel a store's journal changes are announced on.
CHANNEL = "atlas_journal"
#: Seconds to wait before opening a lost listening connection again.
_RETRY = 2.0


def channel(schema: str) -> str:
    """The channel of the store whose tables are in ``schema``: :data:`CHANNEL` and a digest
    of the schema's name (any name, any length, fits an identifier of 63 bytes)."""
    return f"{CHANNEL}_{hashlib.blake2b(schema.encode(), digest_size=8).hexdigest()}"


async def follow(
    connect: Callable[[], Any],
    channel: str,
    on_change: Callable[[], None],
    stop: asyncio.Event,
    *,
    shown: str,
    words: Callable[[BaseException], str],
) -> None:
    """Until ``stop``: call ``on_change`` for each notification on ``channel``.

    :param connect: opens an autocommit ``psycopg.AsyncConnection`` (awaitable).
    :param shown: the store's location without its password, for the log.
    :param words: how a driver error is told, with no secret in it.
    """
    import psycopg  # noqa: PLC0415 - the optional extra; the store that calls this has it

    first = True
    while not stop.is_set():
        try:
            conn = await connect()
        except (psycopg.Error, OSError) as exc:
            logger.warning("cannot listen for journal changes at %s: %s", shown, words(exc))
            await _pause(stop)
            continue
        try:
            async with conn:
                await conn.execute(f"LISTEN {channel}")
                if not first:
                    on_change()  # what changed while the connection was away
                first = False
                await _listen(conn, on_change, stop)
        except (psycopg.Error, OSError) as exc:
            if not stop.is_set():
                logger.warning("lost the journal listener at %s: %s", shown, words(exc))
                await _pause(stop)


async def _listen(conn: Any, on_change: Callable[[], None], stop: asyncio.Event) -> None:
    while not stop.is_set():
        # A short timeout, so a stop is seen within it even when nothing is written.
        async for _ in conn.notifies(timeout=0.5):
            on_change()
            if stop.is_set():
                return


async def _pause(stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), _RETRY)
