"""Following the journal from another process: PostgreSQL announces each committed change with
NOTIFY, so a replica's event streams wake when another replica writes; SQLite cannot tell, and
its follow() only waits to be stopped."""

from __future__ import annotations

import asyncio

import pytest

from atlas.exceptions import StateError
from atlas.store import PostgresStore, SQLiteStore
from tests.atlas.store.factories import event, infrastructure, operation, step
from tests.postgres import new_schema


async def test_a_change_committed_by_another_store_wakes_a_follower(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as reader, PostgresStore(postgres_url) as writer:
        woke = asyncio.Event()
        stop = asyncio.Event()
        following = asyncio.create_task(reader.follow(woke.set, stop))
        await asyncio.sleep(0.3)  # listening
        writer.save_infrastructure(infrastructure())
        assert not woke.is_set()  # an infrastructure's record is not a journal
        writer.start_operation(operation(), [step(0)], event())
        await asyncio.wait_for(woke.wait(), 5)
        woke.clear()
        writer.update_step("op-1", 0, status="running")
        await asyncio.wait_for(woke.wait(), 5)
        stop.set()
        await asyncio.wait_for(following, 5)


async def test_a_store_in_another_schema_of_the_database_wakes_nobody_here(
    postgres_database: str,
) -> None:
    """Channels are database-wide; each schema's store announces on a channel of its own."""
    mine, theirs = new_schema(postgres_database), new_schema(postgres_database)
    with (
        PostgresStore(mine) as reader,
        PostgresStore(mine) as writer,
        PostgresStore(theirs) as elsewhere,
    ):
        woke = asyncio.Event()
        stop = asyncio.Event()
        following = asyncio.create_task(reader.follow(woke.set, stop))
        await asyncio.sleep(0.3)
        elsewhere.save_infrastructure(infrastructure())
        elsewhere.start_operation(operation(), [step(0)], event())
        await asyncio.sleep(0.8)
        assert not woke.is_set()
        writer.save_infrastructure(infrastructure())
        writer.start_operation(operation(), [step(0)], event())
        await asyncio.wait_for(woke.wait(), 5)
        stop.set()
        await asyncio.wait_for(following, 5)


async def test_a_refused_write_wakes_nobody(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as reader, PostgresStore(postgres_url) as writer:
        woke = asyncio.Event()
        stop = asyncio.Event()
        following = asyncio.create_task(reader.follow(woke.set, stop))
        await asyncio.sleep(0.3)
        writer.save_infrastructure(infrastructure())
        with pytest.raises(StateError, match="not recorded"):
            writer.update_step("op-404", 0, status="running")  # refused: rolled back
        await asyncio.sleep(0.8)
        assert not woke.is_set()
        stop.set()
        await asyncio.wait_for(following, 5)


async def test_sqlite_follow_waits_to_be_stopped() -> None:
    with SQLiteStore(":memory:") as store:
        stop = asyncio.Event()
        following = asyncio.create_task(store.follow(lambda: None, stop))
        await asyncio.sleep(0.05)
        assert not following.done()
        stop.set()
        await asyncio.wait_for(following, 1)
