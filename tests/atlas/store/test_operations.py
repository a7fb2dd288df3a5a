"""Operations and their steps: intent first, progress as it happens, one atomic end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atlas.exceptions import StateError
from atlas.store import SQLiteStore
from tests.atlas.store.factories import (
    T0,
    FakeClock,
    event,
    infrastructure,
    operation,
    step,
)


@pytest.fixture
def started(store: SQLiteStore) -> SQLiteStore:
    store.save_infrastructure(infrastructure(status="provisioning"))
    store.start_operation(operation(), [step(0), step(1)], event())
    return store


def test_an_operation_needs_its_infrastructure_recorded_first(store: SQLiteStore) -> None:
    with pytest.raises(StateError, match="infrastructure inf-1 is not recorded"):
        store.start_operation(operation(), [step(0)], event())
    assert store.pending_events() == []


def test_an_operation_is_started_once(started: SQLiteStore) -> None:
    with pytest.raises(StateError, match="operation op-1 is already recorded"):
        started.start_operation(operation(), [], event("ev-2"))
    assert [e.id for e in started.pending_events()] == ["ev-1"]


def test_steps_must_belong_to_the_operation(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    with pytest.raises(StateError, match="op-other"):
        store.start_operation(operation(), [step(0, operation_id="op-other")], event())


def test_update_operation_changes_fields_and_returns_what_a_read_returns(
    started: SQLiteStore,
) -> None:
    got = started.update_operation(
        "op-1", completed_steps=1, current_step="create droplet app", created_resources=["app"]
    )
    assert got.created_resources == ("app",)
    assert got == started.get_operation("ws-a", "op-1")
    assert got.completed_steps == 1


def test_update_operation_refuses_identity_changes_and_unknown_ids(started: SQLiteStore) -> None:
    with pytest.raises(StateError, match="infrastructure_id, workspace cannot change"):
        started.update_operation("op-1", workspace="ws-b", infrastructure_id="x")
    with pytest.raises(StateError, match="operation op-9 is not recorded"):
        started.update_operation("op-9", completed_steps=1)
    with pytest.raises(TypeError):
        started.update_operation("op-1", colour="red")


def test_update_step_stamps_start_and_end(started: SQLiteStore, clock: FakeClock) -> None:
    started.update_step("op-1", 0, status="running")
    first_start = clock.now
    clock.advance(10)
    # Reporting ids while running keeps the first start.
    started.update_step("op-1", 0, status="running", provider_ids=["101", "102"])
    clock.advance(10)
    started.update_step("op-1", 0, status="done")
    done = started.steps("op-1")[0]
    assert done.status == "done"
    assert done.provider_ids == ("101", "102")  # not cleared when not given
    assert done.started_at == first_start
    assert done.finished_at == clock.now

    clock.advance(1)
    started.update_step("op-1", 1, status="failed", error="quota")
    failed = started.steps("op-1")[1]
    assert (failed.status, failed.error, failed.started_at) == ("failed", "quota", None)
    assert failed.finished_at == clock.now
    # A retried step runs again: the old end goes, the error too.
    started.update_step("op-1", 1, status="running")
    retried = started.steps("op-1")[1]
    assert (retried.finished_at, retried.error, retried.started_at) == (None, None, clock.now)


def test_update_step_of_an_unknown_step_is_refused(started: SQLiteStore) -> None:
    with pytest.raises(StateError, match="step 7 of operation op-1 is not recorded"):
        started.update_step("op-1", 7, status="done")


def test_finish_operation_ends_it_saves_the_infrastructure_and_queues_events(
    started: SQLiteStore, clock: FakeClock
) -> None:
    clock.advance(60)
    done = infrastructure(status="active", monthly_cost=Decimal("6.00"), updated_at=clock.now)
    completed = event("ev-2", type="deployment.completed", time=clock.now)
    created = event("ev-3", type="infrastructure.created", time=clock.now)
    started.finish_operation(
        "op-1", "completed", error=None, infrastructure=done, events=[completed, created]
    )
    op = started.get_operation("ws-a", "op-1")
    assert op is not None
    assert (op.status, op.error, op.finished_at) == ("completed", None, clock.now)
    assert started.get_infrastructure("ws-a", "inf-1") == done
    assert [e.id for e in started.events_of("ws-a", "op-1")] == ["ev-1", "ev-2", "ev-3"]
    assert started.unfinished_operation("inf-1") is None


def test_finish_operation_is_all_or_nothing(started: SQLiteStore) -> None:
    before_infra = started.get_infrastructure("ws-a", "inf-1")
    before_op = started.get_operation("ws-a", "op-1")
    # The second event repeats an id already in the outbox: the last write of the
    # transaction fails, after the operation and the infrastructure were written.
    with pytest.raises(StateError, match=r"(?i)unique"):  # either backend's words
        started.finish_operation(
            "op-1",
            "failed",
            error="boom",
            infrastructure=infrastructure(status="error"),
            events=[event("ev-2", type="deployment.failed"), event("ev-1")],
        )
    assert started.get_operation("ws-a", "op-1") == before_op
    assert started.get_infrastructure("ws-a", "inf-1") == before_infra
    assert [e.id for e in started.pending_events()] == ["ev-1"]
    assert started.unfinished_operation("inf-1") == before_op


def test_finish_operation_refuses_a_status_that_is_not_an_end(started: SQLiteStore) -> None:
    with pytest.raises(StateError, match="cannot finish as 'in_progress'"):
        started.finish_operation(
            "op-1", "in_progress", error=None, infrastructure=infrastructure(), events=[]
        )
    with pytest.raises(StateError, match="operation op-9 is not recorded"):
        started.finish_operation(
            "op-9", "failed", error="x", infrastructure=infrastructure(), events=[]
        )


def test_unfinished_operation_finds_pending_or_in_progress_only(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    assert store.unfinished_operation("inf-1") is None
    store.start_operation(operation(id="op-1", status="completed"), [], event("ev-1"))
    assert store.unfinished_operation("inf-1") is None
    later = T0 + dt.timedelta(minutes=1)
    pending = operation(id="op-2", status="pending", started_at=later)
    store.start_operation(pending, [], event("ev-2"))
    assert store.unfinished_operation("inf-1") == pending
    store.update_operation("op-2", status="in_progress")
    got = store.unfinished_operation("inf-1")
    assert got is not None
    assert got.status == "in_progress"
    assert store.unfinished_operation("inf-other") is None


def test_unfinished_operations_spans_workspaces_oldest_first(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    store.save_infrastructure(infrastructure(id="inf-2", workspace="ws-b"))
    assert store.unfinished_operations() == []
    later = T0 + dt.timedelta(minutes=1)
    done = operation(id="op-1", status="completed")
    newer = operation(id="op-2", started_at=later)
    older = operation(id="op-3", workspace="ws-b", infrastructure_id="inf-2", status="pending")
    for n, op in enumerate((done, newer, older)):
        store.start_operation(op, [], event(f"ev-{n}", operation_id=op.id))
    assert [o.id for o in store.unfinished_operations()] == ["op-3", "op-2"]
    store.finish_operation(
        "op-3",
        "failed",
        error="x",
        infrastructure=infrastructure(id="inf-2", workspace="ws-b"),
        events=[],
    )
    assert [o.id for o in store.unfinished_operations()] == ["op-2"]


def test_list_operations_is_newest_first(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    for n in range(3):
        when = T0 + dt.timedelta(minutes=n)
        store.start_operation(
            operation(id=f"op-{n}", status="completed", started_at=when), [], event(f"ev-{n}")
        )
    assert [o.id for o in store.list_operations("ws-a", "inf-1")] == ["op-2", "op-1", "op-0"]
