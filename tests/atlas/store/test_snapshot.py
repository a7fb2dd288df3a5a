"""A snapshot is everything a store holds; restored into an empty store of either backend, it
reads back the same, to the event's place in the outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest

from atlas.exceptions import StateError
from atlas.store import Snapshot
from atlas.store.audit import verify_store
from atlas.store.base import StateStore
from tests.atlas.store.conftest import Backend
from tests.atlas.store.factories import (
    T0,
    FakeClock,
    audit_entry,
    cloud_object,
    event,
    infrastructure,
    operation,
    resource,
    step,
)
from tests.postgres import new_schema

LATER = T0 + dt.timedelta(minutes=5)


def fill(store: StateStore, clock: FakeClock) -> None:
    """Two workspaces, a destroyed namesake, resources, operations with steps (one still
    running, two started at the same instant), events delivered and not, a lock, an audit
    trail (one entry of no workspace)."""
    store.save_infrastructure(infrastructure(status="destroyed"))
    store.save_infrastructure(
        infrastructure(id="inf-2", monthly_cost=Decimal("0.00893"), created_at=LATER)
    )
    store.save_infrastructure(infrastructure(id="inf-3", workspace="ws-b", currency="EUR"))
    store.save_resource(resource(infrastructure_id="inf-2", objects=(cloud_object("7"),)))
    store.save_resource(
        resource(infrastructure_id="inf-2", name="net", type="vpc", monthly_cost=None)
    )
    store.save_resource(resource(infrastructure_id="inf-3", currency="EUR", imported=True))
    for op_id, infra, ws in (("op-b", "inf-2", "ws-a"), ("op-a", "inf-2", "ws-a")):
        store.start_operation(
            operation(id=op_id, infrastructure_id=infra, workspace=ws, status="completed"),
            [step(0, operation_id=op_id), step(1, operation_id=op_id, note="kept")],
            event(f"{op_id}-started", operation_id=op_id),
        )
    store.start_operation(
        operation(id="op-c", infrastructure_id="inf-3", workspace="ws-b", currency="EUR"),
        [step(0, operation_id="op-c", provider_ids=("9",))],
        event("op-c-started", workspace="ws-b", operation_id="op-c", currency="EUR"),
    )
    store.update_step("op-c", 0, status="running")
    clock.advance(3)
    store.mark_delivered(["op-b-started"])
    store.lock("inf-3", "op-c")
    store.append_audit(audit_entry(1))
    store.append_audit(audit_entry(2, workspace=None, outcome="refused", status_code=401))


def test_an_empty_store_has_an_empty_snapshot(store: StateStore) -> None:
    assert store.snapshot() == Snapshot()


@pytest.mark.parametrize("target", ["memory", "postgres"])
def test_a_snapshot_restored_anywhere_reads_back_the_same(
    store: StateStore,
    clock: FakeClock,
    target: str,
    request: pytest.FixtureRequest,
) -> None:
    fill(store, clock)
    taken = store.snapshot()
    assert [len(getattr(taken, f.name)) for f in attrs.fields(Snapshot)] == [3, 3, 3, 5, 3, 1, 2]
    database = request.getfixturevalue("postgres_database") if target == "postgres" else ""
    location = new_schema(database) if target == "postgres" else ":memory:"
    with Backend(target, location).open(clock=clock) as other:
        other.restore(taken)
        assert other.snapshot() == taken
        # The records as every method reads them, not only as a snapshot does.
        assert other.list_infrastructures("ws-a") == store.list_infrastructures("ws-a")
        assert other.get_infrastructure("ws-a", "web") == store.get_infrastructure("ws-a", "web")
        assert other.list_operations("ws-a", "inf-2") == store.list_operations("ws-a", "inf-2")
        assert other.unfinished_operations() == store.unfinished_operations()
        assert other.steps("op-c") == store.steps("op-c")
        assert other.pending_events() == store.pending_events()
        assert other.lock_info("inf-3") == store.lock_info("inf-3")
        assert other.stats("ws-b") == store.stats("ws-b")
        assert other.owned_objects("digitalocean") == store.owned_objects("digitalocean")
        # The outbox goes on after the events it was given.
        other.add_events([event("after")])
        assert [seq for seq, _ in other.snapshot().events][-1] > taken.events[-1][0]
        assert [e.id for e in other.pending_events()][-1] == "after"
        # So does the audit trail, still whole.
        assert other.audit_entries(None) == store.audit_entries(None)
        assert other.append_audit(audit_entry(3)).seq == 3
        assert verify_store(other).ok


def test_a_store_that_holds_anything_is_not_restored_into(
    store: StateStore, clock: FakeClock
) -> None:
    store.lock("inf-9", "op-9")  # a lock alone is something
    with pytest.raises(StateError, match=r"is not empty \(1 locks\): a backup is restored into"):
        store.restore(Snapshot(infrastructures=(infrastructure(),)))
    assert store.snapshot().infrastructures == ()


def test_a_restore_is_all_or_nothing(store: StateStore) -> None:
    orphan = resource(infrastructure_id="inf-unknown")  # the database refuses it, last
    with pytest.raises(StateError):
        store.restore(Snapshot(infrastructures=(infrastructure(),), resources=(orphan,)))
    assert store.snapshot() == Snapshot()
