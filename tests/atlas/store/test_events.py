"""The event outbox: committed with the change, delivered in order, marked once."""

from __future__ import annotations

import datetime as dt

from atlas.store import SQLiteStore
from tests.atlas.store.factories import T0, FakeClock, event


def test_pending_events_come_oldest_first_across_workspaces(store: SQLiteStore) -> None:
    store.add_events([event("a"), event("b", workspace="ws-b")])
    store.add_events([event("c", time=T0 - dt.timedelta(seconds=1))])  # committed last
    assert [e.id for e in store.pending_events()] == ["a", "b", "c"]  # commit order
    assert [e.id for e in store.pending_events(limit=2)] == ["a", "b"]


def test_mark_delivered_takes_events_out_of_the_outbox_once(
    store: SQLiteStore, clock: FakeClock
) -> None:
    store.add_events([event("a"), event("b"), event("c")])
    clock.advance(3)
    store.mark_delivered(["a", "c", "unknown"])
    assert [e.id for e in store.pending_events()] == ["b"]
    first = {e.id: e.delivered_at for e in store.events_of("ws-a", "op-1")}
    assert first == {"a": clock.now, "b": None, "c": clock.now}
    clock.advance(3)
    store.mark_delivered(["a"])  # a second delivery report keeps the first time
    assert store.events_of("ws-a", "op-1")[0].delivered_at == first["a"]
    store.mark_delivered([])


def test_events_of_an_operation_in_its_workspace(store: SQLiteStore) -> None:
    store.add_events([event("a"), event("b", operation_id="op-2"), event("c", workspace="ws-b")])
    assert [e.id for e in store.events_of("ws-a", "op-1")] == ["a"]
    assert [e.id for e in store.events_of("ws-b", "op-1")] == ["c"]
