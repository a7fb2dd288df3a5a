"""Operations shared by the processes of one store: fencing tokens, claims of operations whose
holder is gone, and carrying an operation on in place."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading

import attrs
import pytest

from atlas.exceptions import LockedError, LockLostError, StateError
from atlas.store import SQLiteStore
from tests.atlas.store.conftest import Backend
from tests.atlas.store.factories import (
    T0,
    FakeClock,
    cloud_object,
    event,
    infrastructure,
    resource,
    step,
)
from tests.atlas.store.factories import operation as make_operation
from tests.atlas.store.test_locks import holder_process


def _started(
    store: SQLiteStore, op_id: str = "op-1", infra_id: str = "inf-1", when: dt.datetime = T0
) -> None:
    """An operation of ``infra_id`` recorded under its lock, as the runner records one."""
    store.save_infrastructure(infrastructure(id=infra_id, name=f"web-{infra_id}"))
    store.lock(infra_id, op_id)
    steps = [
        step(0, operation_id=op_id, resource="net"),
        step(1, operation_id=op_id, resource="app"),
        step(2, operation_id=op_id, resource="db"),
    ]
    store.start_operation(
        make_operation(id=op_id, infrastructure_id=infra_id, total_steps=3, started_at=when),
        steps,
        event(f"ev-{op_id}", operation_id=op_id, infrastructure_id=infra_id),
    )


# -- fencing tokens ------------------------------------------------------------------------------


def test_each_take_of_a_lock_has_a_greater_token_and_taking_it_again_keeps_it(
    store: SQLiteStore, clock: FakeClock
) -> None:
    first = store.lock("inf-1", "op-1")
    assert store.lock("inf-1", "op-1") == first  # the same holder again
    info = store.lock_info("inf-1")
    assert info is not None
    assert info.token == first
    store.unlock("inf-1", "op-1")
    second = store.lock("inf-1", "op-2")
    assert second > first  # released and taken again: never a token seen before
    clock.advance(store.lease_seconds + 1)
    third = store.lock("inf-1", "op-3")  # taken over
    assert third > second
    assert store.lock("inf-2", "op-9") >= 1  # tokens are per infrastructure, from 1


def test_a_holder_whose_lock_was_taken_over_cannot_write_any_more(
    shared: Backend, clock: FakeClock
) -> None:
    with (
        shared.open(clock=clock, lease_seconds=60) as old,
        shared.open(clock=clock, lease_seconds=60) as new,
    ):
        _started(old)
        old.update_step("op-1", 0, status="running")
        old.heartbeat("inf-1", "op-1")
        clock.advance(61)  # the old holder stopped beating (paused, cut off)
        [claimed] = new.claim_orphans()
        assert claimed.id == "op-1"

        # Every write the old holder tries for that infrastructure is refused, and changes
        # nothing.
        refused = [
            lambda: old.update_step("op-1", 0, status="done"),
            lambda: old.update_operation("op-1", completed_steps=1),
            lambda: old.record_objects("inf-1", "app", [cloud_object("7")]),
            lambda: old.save_resource(resource(name="app")),
            lambda: old.delete_resource("inf-1", "app"),
            lambda: old.save_infrastructure(infrastructure(status="error")),
            lambda: old.heartbeat("inf-1", "op-1"),
            lambda: old.finish_operation(
                "op-1", "failed", error="x", infrastructure=infrastructure(), events=[]
            ),
        ]
        for write in refused:
            with pytest.raises(LockLostError, match="locked by operation op-1") as lost:
                write()
            assert "refused" in str(lost.value)
        [first] = [s for s in new.steps("op-1") if s.index == 0]
        assert first.status == "running"
        op = new.get_operation("ws-a", "op-1")
        assert op is not None
        assert op.status == "in_progress"
        assert new.list_resources("inf-1") == []

        # The new holder writes on; the old one's unlock does not free the lock.
        new.update_step("op-1", 0, status="done")
        old.unlock("inf-1", "op-1")
        assert new.lock_info("inf-1") is not None
        new.heartbeat("inf-1", "op-1")


def test_a_lost_lock_is_refused_even_when_the_new_holder_has_let_it_go(
    shared: Backend, clock: FakeClock
) -> None:
    with (
        shared.open(clock=clock, lease_seconds=60) as old,
        shared.open(clock=clock, lease_seconds=60) as new,
    ):
        _started(old)
        clock.advance(61)
        [claimed] = new.claim_orphans()
        new.unlock("inf-1", claimed.id)  # e.g. a shutdown: the lock is free, the op unfinished
        with pytest.raises(LockLostError, match="nobody holds it"):
            old.update_step("op-1", 0, status="done")


def test_writes_for_infrastructures_not_held_are_not_fenced(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure(id="inf-7", name="other"))  # no lock: a plan
    store.lock("inf-1", "op-1")
    store.save_infrastructure(infrastructure(id="inf-8", name="third"))
    assert store.get_infrastructure("ws-a", "inf-8") is not None


# -- claims ----------------------------------------------------------------------------------


def test_an_operation_whose_lock_is_free_is_claimed_once(
    store: SQLiteStore, clock: FakeClock
) -> None:
    _started(store)
    store.unlock("inf-1", "op-1")  # a shutdown cancelled it: in progress, lock free
    [claimed] = store.claim_orphans()
    assert (claimed.id, claimed.status) == ("op-1", "in_progress")
    info = store.lock_info("inf-1")
    assert info is not None
    assert info.operation_id == "op-1"
    assert store.claim_orphans() == []  # held now, by a live holder
    clock.advance(store.lease_seconds - 1)
    assert store.claim_orphans() == []


def test_a_live_holder_is_not_claimed_until_its_lease_runs_out(
    backend: Backend, clock: FakeClock
) -> None:
    with backend.open(clock=clock, lease_seconds=120) as store:
        _started(store)
        backend.execute(store, "UPDATE locks SET holder = 'elsewhere:1'")  # a replica elsewhere
        clock.advance(119)
        assert store.claim_orphans() == []
        clock.advance(2)
        [claimed] = store.claim_orphans()
        assert claimed.id == "op-1"


def test_finished_operations_and_the_older_of_two_unfinished_are_not_claimed(
    store: SQLiteStore,
) -> None:
    _started(store, "op-1", "inf-1")
    store.finish_operation(
        "op-1",
        "completed",
        error=None,
        infrastructure=infrastructure(id="inf-1", name="web-inf-1"),
        events=[],
    )
    store.unlock("inf-1", "op-1")
    _started(store, "op-2", "inf-2")
    store.unlock("inf-2", "op-2")
    assert [op.id for op in store.claim_orphans()] == ["op-2"]


def test_claims_come_oldest_first_and_in_batches(store: SQLiteStore, clock: FakeClock) -> None:
    for n in (3, 0, 4, 1, 2):  # recorded in this order, started in the order of n
        _started(store, f"op-{n}", f"inf-{n}", T0 + dt.timedelta(seconds=n))
        store.unlock(f"inf-{n}", f"op-{n}")
    assert [op.id for op in store.claim_orphans(limit=2)] == ["op-0", "op-1"]
    assert [op.id for op in store.claim_orphans(limit=10)] == ["op-2", "op-3", "op-4"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and pid checks are POSIX")
def test_an_operation_whose_holder_was_killed_is_claimed_at_once(shared: Backend) -> None:
    with shared.open(lease_seconds=3600) as store:  # only the dead pid explains a claim
        store.save_infrastructure(infrastructure())
        with holder_process(shared.location, "inf-1", "op-1") as proc:
            store.start_operation(make_operation(), [step(0)], event())
            assert store.claim_orphans() == []
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        [claimed] = store.claim_orphans()
        assert claimed.id == "op-1"


def test_replicas_claiming_at_once_claim_each_operation_exactly_once(
    shared: Backend, clock: FakeClock
) -> None:
    with shared.open(clock=clock) as seed:
        for n in range(12):
            _started(seed, f"op-{n}", f"inf-{n}")
            seed.unlock(f"inf-{n}", f"op-{n}")
    stores = [shared.open(clock=clock) for _ in range(4)]
    won: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim(i: int) -> None:
        barrier.wait()
        while True:
            got = stores[i].claim_orphans(limit=1)
            if not got:
                return
            won[i].extend(op.id for op in got)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    every = sorted(op for ops in won for op in ops)
    assert every == sorted(f"op-{n}" for n in range(12))  # each once, none left


# -- carrying on in place -------------------------------------------------------------------------


def test_an_operation_is_carried_on_in_place(store: SQLiteStore, clock: FakeClock) -> None:
    _started(store)
    store.update_step("op-1", 0, status="running")
    store.update_step("op-1", 0, status="done")
    store.update_step("op-1", 1, status="running", provider_ids=["77"])
    store.update_operation("op-1", completed_steps=1)
    store.unlock("inf-1", "op-1")
    clock.advance(5)
    [claimed] = store.claim_orphans()
    again = [step(3, resource="app"), step(4, resource="db")]
    op = store.continue_operation(claimed.id, again, interrupted="interrupted: carried on")
    assert (op.id, op.status, op.total_steps, op.completed_steps) == ("op-1", "in_progress", 3, 1)
    steps = {s.index: s for s in store.steps("op-1")}
    assert sorted(steps) == [0, 1, 3, 4]  # the step that never started is gone
    assert steps[0].status == "done"
    assert (steps[1].status, steps[1].error, steps[1].provider_ids) == (
        "failed",
        "interrupted: carried on",
        ("77",),
    )
    assert steps[1].finished_at == clock.now
    assert [steps[3].status, steps[4].status] == ["pending", "pending"]


def test_carrying_on_needs_the_lock_and_an_unfinished_operation(store: SQLiteStore) -> None:
    _started(store)
    store.unlock("inf-1", "op-1")
    with pytest.raises(LockedError, match="does not hold the lock"):
        store.continue_operation("op-1", [step(3)], interrupted="x")
    store.lock("inf-1", "op-1")
    store.finish_operation(
        "op-1",
        "completed",
        error=None,
        infrastructure=attrs.evolve(infrastructure(), name="web-inf-1"),
        events=[],
    )
    with pytest.raises(StateError, match="op-1 is completed: only an unfinished"):
        store.continue_operation("op-1", [step(3)], interrupted="x")
    with pytest.raises(StateError, match="not recorded"):
        store.continue_operation("op-404", [step(3, operation_id="op-404")], interrupted="x")
