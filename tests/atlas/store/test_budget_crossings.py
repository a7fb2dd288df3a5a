"""A workspace's budget, and the thresholds crossed: kept on every backend; a threshold is
recorded (and its event queued) once a month, however many stores race."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from atlas.cost.money import Money
from atlas.events.payload import new_event
from atlas.model.infrastructure import Budget
from atlas.model.records import EventRecord
from atlas.store.base import StateStore
from tests.atlas.store.conftest import Backend
from tests.atlas.store.factories import infrastructure

WHEN = dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC)


def crossing(workspace: str = "ws-a") -> EventRecord:
    return new_event(
        "cost.threshold_crossed",
        workspace=workspace,
        infrastructure_id="",
        infrastructure_name="",
        operation_id=None,
        cost_change=Money.zero("USD"),
        data={"threshold_percent": 80},
        clock=lambda: WHEN,
    )


def test_a_budget_is_set_read_replaced_and_removed(store: StateStore) -> None:
    assert store.get_budget("ws-a") is None
    store.set_budget("ws-a", Budget(Decimal("10.50"), "USD"))
    assert store.get_budget("ws-a") == Budget(Decimal("10.50"), "USD", (50, 80, 100), False)
    store.set_budget("ws-a", Budget(Decimal(20), "EUR", (25, 90), include_forecast=True))
    assert store.get_budget("ws-a") == Budget(Decimal(20), "EUR", (25, 90), True)
    assert store.get_budget("ws-b") is None
    store.save_infrastructure(infrastructure(workspace="ws-c"))
    assert store.workspaces() == ["ws-a", "ws-c"]
    store.set_budget("ws-a", None)
    assert store.get_budget("ws-a") is None


def test_a_threshold_is_crossed_once_a_month_with_its_event(store: StateStore) -> None:
    first = crossing()
    assert store.cross_threshold("workspace", "2026-05", 80, first) is True
    assert store.cross_threshold("workspace", "2026-05", 80, crossing()) is False
    assert [e.id for e in store.pending_events()] == [first.id]
    assert store.crossed_thresholds("ws-a", "workspace", "2026-05") == [80]
    # Another month, scope or workspace is another crossing.
    assert store.cross_threshold("workspace", "2026-06", 80, crossing()) is True
    assert store.cross_threshold("infrastructure:x", "2026-05", 80, crossing()) is True
    assert store.cross_threshold("workspace", "2026-05", 80, crossing("ws-b")) is True
    assert len(store.pending_events()) == 4
    assert store.crossed_thresholds("ws-b", "workspace", "2026-05") == [80]


def test_two_stores_on_one_database_record_one_crossing(shared: Backend) -> None:
    with shared.open() as one, shared.open() as two:
        won = [s.cross_threshold("workspace", "2026-05", 50, crossing()) for s in (one, two)]
        assert won == [True, False]
        assert len(two.pending_events()) == 1
