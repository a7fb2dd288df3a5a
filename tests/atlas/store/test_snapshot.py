"""A snapshot is everything a store holds; restored into an empty store of either backend, it
reads back the same, to the event's place in the outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest

from atlas.exceptions import StateError
from atlas.model.infrastructure import Budget
from atlas.model.records import EventRecord
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
MONTH = "2026-11"


def threshold_event(id_: str, threshold: int, *, workspace: str = "ws-a") -> EventRecord:
    """The event a budget check queues for ``threshold`` crossed."""
    return event(
        id_,
        type="cost.threshold_crossed",
        workspace=workspace,
        infrastructure_id="",
        infrastructure_name="",
        operation_id=None,
        cost_change=Decimal(0),
        data={"month": MONTH, "threshold_percent": threshold},
    )


def fill(store: StateStore, clock: FakeClock) -> None:
    """Two workspaces, a destroyed namesake, resources, operations with steps (one still
    running, two started at the same instant), events delivered and not, a lock, an audit
    trail (one entry of no workspace), a workspace budget with one threshold crossed, and a
    crossing of an infrastructure's budget in the other workspace."""
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
    store.set_budget("ws-a", Budget(Decimal("10.50"), "USD", (50, 80, 100)))
    assert store.cross_threshold("workspace", MONTH, 50, threshold_event("ws-a-50", 50))
    crossed = threshold_event("ws-b-90", 90, workspace="ws-b")
    assert store.cross_threshold("infrastructure:inf-3", MONTH, 90, crossed)


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
    assert [len(getattr(taken, f.name)) for f in attrs.fields(Snapshot)] == [
        3,
        3,
        3,
        5,
        5,
        1,
        2,
        1,
        2,
    ]
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
        assert other.get_budget("ws-a") == Budget(Decimal("10.50"), "USD", (50, 80, 100))
        assert other.workspaces() == store.workspaces() == ["ws-a", "ws-b"]
        for ws, scope in (("ws-a", "workspace"), ("ws-b", "infrastructure:inf-3")):
            assert other.crossed_thresholds(ws, scope, MONTH) == (
                store.crossed_thresholds(ws, scope, MONTH)
            )
        # The outbox goes on after the events it was given.
        other.add_events([event("after")])
        assert [seq for seq, _ in other.snapshot().events][-1] > taken.events[-1][0]
        assert [e.id for e in other.pending_events()][-1] == "after"
        # So does the audit trail, still whole.
        assert other.audit_entries(None) == store.audit_entries(None)
        assert other.append_audit(audit_entry(3)).seq == 3
        assert verify_store(other).ok


@pytest.mark.parametrize("target", ["memory", "postgres"])
def test_a_threshold_crossed_before_the_backup_is_not_crossed_again_after_it(
    store: StateStore, clock: FakeClock, target: str, request: pytest.FixtureRequest
) -> None:
    fill(store, clock)
    database = request.getfixturevalue("postgres_database") if target == "postgres" else ""
    location = new_schema(database) if target == "postgres" else ":memory:"
    with Backend(target, location).open(clock=clock) as other:
        other.restore(store.snapshot())
        pending = other.pending_events()
        # Every checker that comes after the restore finds 50 % crossed this month already.
        assert other.crossed_thresholds("ws-a", "workspace", MONTH) == [50]
        again = threshold_event("ws-a-50-again", 50)
        assert other.cross_threshold("workspace", MONTH, 50, again) is False
        again = threshold_event("ws-b-90-again", 90, workspace="ws-b")
        assert other.cross_threshold("infrastructure:inf-3", MONTH, 90, again) is False
        assert other.pending_events() == pending
        # The next threshold, and the next month, are alerted as ever.
        assert other.cross_threshold("workspace", MONTH, 80, threshold_event("ws-a-80", 80))
        assert other.cross_threshold("workspace", "2026-12", 50, threshold_event("dec", 50))
        assert [e.id for e in other.pending_events()] == [e.id for e in pending] + [
            "ws-a-80",
            "dec",
        ]


def test_a_store_that_holds_anything_is_not_restored_into(
    store: StateStore, clock: FakeClock
) -> None:
    store.lock("inf-9", "op-9")  # a lock alone is something
    with pytest.raises(StateError, match=r"is not empty \(1 locks\): a backup is restored into"):
        store.restore(Snapshot(infrastructures=(infrastructure(),)))
    assert store.snapshot().infrastructures == ()


def test_a_store_with_a_budget_or_a_crossing_is_not_restored_into(
    backend: Backend, clock: FakeClock
) -> None:
    with backend.open(clock=clock) as store:
        store.set_budget("ws-a", Budget(Decimal(10)))  # a budget alone is something
        with pytest.raises(StateError, match=r"is not empty \(1 budgets\): a backup is"):
            store.restore(Snapshot(infrastructures=(infrastructure(),)))
        store.set_budget("ws-a", None)
        store.cross_threshold("workspace", MONTH, 50, threshold_event("ev-50", 50))
        # So is a crossing whose event is gone (deleted by hand, say).
        backend.execute(store, "DELETE FROM events")
        with pytest.raises(StateError, match=r"is not empty \(1 threshold crossings\): a"):
            store.restore(Snapshot(infrastructures=(infrastructure(),)))
        assert store.snapshot().infrastructures == ()


def test_a_restore_is_all_or_nothing(store: StateStore) -> None:
    orphan = resource(infrastructure_id="inf-unknown")  # the database refuses it, last
    with pytest.raises(StateError):
        store.restore(Snapshot(infrastructures=(infrastructure(),), resources=(orphan,)))
    assert store.snapshot() == Snapshot()
