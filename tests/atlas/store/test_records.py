"""Every record reads back exactly as written, and only in its own workspace."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import attrs
import pytest

from atlas.exceptions import StateError
from atlas.store import SQLiteStore
from tests.atlas.store.factories import (
    T0,
    FakeClock,
    cloud_object,
    event,
    infrastructure,
    operation,
    resource,
    step,
)

OTHER_WS = "ws-b"


def test_an_infrastructure_round_trips_exactly(store: SQLiteStore) -> None:
    record = infrastructure(monthly_cost=Decimal("0.00893"), spec={"a": [1, {"b": None}]})
    store.save_infrastructure(record)
    got = store.get_infrastructure("ws-a", "inf-1")
    assert got == record
    assert got is not None
    assert str(got.monthly_cost) == "0.00893"  # the same digits, not merely an equal value
    assert got.created_at.tzinfo is not None
    assert store.get_infrastructure("ws-a", "web") == record  # by name too


def test_times_in_any_zone_come_back_as_the_same_instant_in_utc(store: SQLiteStore) -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    record = infrastructure(created_at=T0.astimezone(tokyo))
    store.save_infrastructure(record)
    got = store.get_infrastructure("ws-a", "inf-1")
    assert got is not None
    assert got.created_at == T0
    assert got.created_at.utcoffset() == dt.timedelta(0)


def test_a_naive_time_or_a_float_price_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(StateError, match="timezone-aware"):
        store.save_infrastructure(infrastructure(updated_at=dt.datetime(2026, 1, 1)))
    with pytest.raises(StateError, match="Decimal"):
        store.save_infrastructure(infrastructure(monthly_cost=6.0))
    with pytest.raises(StateError, match="JSON-safe"):
        store.save_infrastructure(infrastructure(spec={"when": T0}))
    assert store.list_infrastructures("ws-a") == []


def test_a_resource_with_its_cloud_objects_round_trips_exactly(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    objects = (
        cloud_object("101"),
        cloud_object("102", status="creating", attributes={"nested": {"ids": [1, 2]}, "x": None}),
    )
    record = resource(objects=objects, monthly_cost=Decimal("12.0000"))
    store.save_resource(record)
    unpriced = resource(name="net", type="vpc", objects=(), monthly_cost=None)
    store.save_resource(unpriced)
    assert store.list_resources("inf-1") == [record, unpriced]
    assert store.list_resources("inf-1")[0].state().ids == ("101", "102")


def test_operations_steps_and_events_round_trip_exactly(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    op = operation(created_resources=("app", "db"), cost_change=Decimal("-0.00893"))
    steps = [step(0), step(1, action="delete", provider_ids=("9", "10"))]
    started = event(data={"steps": 2, "nested": {"list": [1, "two"]}})
    store.start_operation(op, steps, started)
    assert store.get_operation("ws-a", "op-1") == op
    assert store.steps("op-1") == steps
    assert store.events_of("ws-a", "op-1") == [started]


def test_saving_an_infrastructure_again_updates_it_and_keeps_its_resources(
    store: SQLiteStore,
) -> None:
    store.save_infrastructure(infrastructure())
    store.save_resource(resource())
    store.start_operation(operation(), [step(0)], event())
    changed = infrastructure(status="updating", monthly_cost=Decimal("12"), updated_at=T0)
    store.save_infrastructure(changed)
    assert store.get_infrastructure("ws-a", "inf-1") == changed
    # An upsert, not a replace: a replace would have cascaded to these.
    assert store.list_resources("inf-1") == [resource()]
    assert store.steps("op-1") == [step(0)]


def test_another_workspace_sees_nothing(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    store.save_resource(resource())
    store.start_operation(operation(), [step(0)], event())
    assert store.get_infrastructure(OTHER_WS, "inf-1") is None
    assert store.get_infrastructure(OTHER_WS, "web") is None
    assert store.list_infrastructures(OTHER_WS) == []
    assert store.get_operation(OTHER_WS, "op-1") is None
    assert store.list_operations(OTHER_WS, "inf-1") == []
    assert store.events_of(OTHER_WS, "op-1") == []
    stats = store.stats(OTHER_WS)
    assert (stats.total_infrastructures, stats.total_resources) == (0, 0)
    assert stats.estimated_monthly_cost == 0
    assert stats.operations_in_progress == 0


def test_an_id_is_never_moved_to_another_workspace(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    with pytest.raises(StateError, match="does not belong to workspace 'ws-b'"):
        store.save_infrastructure(infrastructure(workspace=OTHER_WS))
    assert store.get_infrastructure("ws-a", "inf-1") == infrastructure()


def test_one_live_infrastructure_per_name_and_workspace(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    with pytest.raises(StateError, match="already has an infrastructure named 'web'"):
        store.save_infrastructure(infrastructure(id="inf-2"))
    # The same name in another workspace is another infrastructure.
    store.save_infrastructure(infrastructure(id="inf-3", workspace=OTHER_WS))


def test_a_destroyed_name_can_be_used_again_and_its_history_stays(store: SQLiteStore) -> None:
    later = T0 + dt.timedelta(hours=1)
    store.save_infrastructure(infrastructure(status="destroyed"))
    reborn = infrastructure(id="inf-2", created_at=later, updated_at=later)
    store.save_infrastructure(reborn)
    assert store.get_infrastructure("ws-a", "web") == reborn  # the live one wins by name
    assert store.get_infrastructure("ws-a", "inf-1") == infrastructure(status="destroyed")
    assert [r.id for r in store.list_infrastructures("ws-a")] == ["inf-2", "inf-1"]
    # And the newest destroyed namesake answers once nothing of that name is live.
    store.save_infrastructure(
        attrs.evolve(reborn, status="destroyed", updated_at=later + dt.timedelta(hours=1))
    )
    got = store.get_infrastructure("ws-a", "web")
    assert got is not None
    assert got.id == "inf-2"


def test_list_infrastructures_is_newest_first_and_pages(store: SQLiteStore) -> None:
    for n in range(5):
        when = T0 + dt.timedelta(minutes=n)
        store.save_infrastructure(
            infrastructure(id=f"inf-{n}", name=f"n{n}", created_at=when, updated_at=when)
        )
    assert [r.id for r in store.list_infrastructures("ws-a")] == [
        f"inf-{n}" for n in (4, 3, 2, 1, 0)
    ]
    page = store.list_infrastructures("ws-a", limit=2, offset=1)
    assert [r.id for r in page] == ["inf-3", "inf-2"]


def test_record_objects_merges_by_id(store: SQLiteStore, clock: FakeClock) -> None:
    store.save_infrastructure(infrastructure())
    store.save_resource(resource(status="creating", objects=(cloud_object("101"),)))
    clock.advance(5)
    store.record_objects(
        "inf-1",
        "app",
        [cloud_object("102"), cloud_object("101", status="active", attributes={"ipv4": "x"})],
    )
    store.record_objects("inf-1", "app", [cloud_object("103")])
    (got,) = store.list_resources("inf-1")
    assert [o.id for o in got.objects] == ["101", "102", "103"]  # known keep their place
    assert got.objects[0].attributes == {"ipv4": "x"}  # and are replaced when reported again
    assert got.status == "creating"
    assert got.updated_at == clock.now


@pytest.mark.parametrize(
    "batches",
    [
        [["1", "2"], ["3"], ["4", "5"]],  # only new objects: appended to the stored text
        [["1", "2"], ["2", "3"], ["1"]],  # reported again: replaced in place
        [["1"], ["2", "2"]],  # the same id twice in one report: the last one wins
        [[], ["1"], []],  # nothing to record, on an empty and a non-empty list
    ],
)
def test_record_objects_in_batches_keeps_order_and_last_report(
    store: SQLiteStore, batches: list[list[str]]
) -> None:
    store.save_infrastructure(infrastructure())
    store.save_resource(resource(status="creating", objects=()))
    expected: dict[str, int] = {}
    for round_no, ids in enumerate(batches):
        reported = [
            cloud_object(i, attributes={"round": round_no, "n": n}) for n, i in enumerate(ids)
        ]
        store.record_objects("inf-1", "app", reported)
        for obj in reported:
            expected[obj.id] = obj.attributes["n"] + 100 * round_no
    (got,) = store.list_resources("inf-1")
    assert [o.id for o in got.objects] == list(expected)
    assert [o.attributes["n"] + 100 * o.attributes["round"] for o in got.objects] == list(
        expected.values()
    )


def test_an_id_that_also_appears_inside_attributes_is_still_merged_right(
    store: SQLiteStore,
) -> None:
    # The stored text holds '{"id":"7",' inside the first object's attributes: the fast
    # path must not be fooled into thinking 7 is known, nor the slow one into losing it.
    store.save_infrastructure(infrastructure())
    store.save_resource(resource(status="creating", objects=()))
    first = cloud_object("1", status="creating", attributes={"x": {"id": "7", "y": 1}})
    store.record_objects("inf-1", "app", [first])
    store.record_objects("inf-1", "app", [cloud_object("7", status="creating")])
    store.record_objects("inf-1", "app", [cloud_object("7", status="active")])
    (got,) = store.list_resources("inf-1")
    assert [(o.id, o.status) for o in got.objects] == [("1", "creating"), ("7", "active")]
    assert got.objects[0].attributes == {"x": {"id": "7", "y": 1}}


def test_record_objects_needs_the_resource_row(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    with pytest.raises(StateError, match="'app' of infrastructure inf-1 is not recorded"):
        store.record_objects("inf-1", "app", [cloud_object()])


def test_a_resource_of_an_unknown_infrastructure_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(StateError, match="infrastructure inf-1 is not recorded"):
        store.save_resource(resource())


def test_delete_resource(store: SQLiteStore) -> None:
    store.save_infrastructure(infrastructure())
    store.save_resource(resource())
    store.save_resource(resource(name="db"))
    store.delete_resource("inf-1", "app")
    store.delete_resource("inf-1", "never-there")
    assert [r.name for r in store.list_resources("inf-1")] == ["db"]


def test_one_store_serves_many_threads(store: SQLiteStore) -> None:
    # The sync facade calls from worker threads; every call must still be one transaction.
    store.save_infrastructure(infrastructure())
    store.save_resource(resource(objects=()))

    def report(n: int) -> None:
        for k in range(20):
            store.record_objects("inf-1", "app", [cloud_object(f"{n}-{k}")])

    threads = [threading.Thread(target=report, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (got,) = store.list_resources("inf-1")
    assert len(got.objects) == 8 * 20  # no read-modify-write lost an object
