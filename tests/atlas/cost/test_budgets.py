"""Budget alerts on the memory cloud, on a clock the test moves: a workspace budget of $10
with the default thresholds, checked twice a day across a month, sends exactly one
``cost.threshold_crossed`` event per threshold crossed, in order, each delivered (signed) to a
webhook receiver on a loopback socket at least once; an infrastructure's budget from its spec;
the plan's warning."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from atlas.cost.budgets import check_budgets, check_workspace
from atlas.credentials import Secret
from atlas.events import EventDispatcher, WebhookSink
from atlas.facade import AsyncAtlas
from atlas.model.infrastructure import Budget
from atlas.providers import ProviderRegistry
from atlas.store import PostgresStore, SQLiteStore
from atlas.store.backup import export_document, read_export
from atlas.store.schema import SCHEMA_VERSION
from atlas.testing import memory
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider
from tests.atlas.events.loopback import LoopbackReceiver

TOKEN = "mem_" + "ab12" * 8  # made up
SECRET = "whsec-" + "q" * 40  # made up
MAY = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = MAY

    def __call__(self) -> dt.datetime:
        return self.now


def shop(**extra: Any) -> dict[str, Any]:
    """Two small servers, 7.30 a month each, per started hour (0.01 an hour each)."""
    return {
        "name": "shop",
        "provider": "memory",
        "region": "mem-1",
        "resources": [
            {
                "type": "server",
                "name": "web",
                "specifications": {"size": "small", "image": "debian-12", "count": 2},
            }
        ],
        **extra,
    }


@pytest.fixture
def registry() -> ProviderRegistry:
    return memory.registry()


@pytest.fixture
def when() -> Clock:
    return Clock()


@pytest.fixture
def store(when: Clock) -> SQLiteStore:
    return SQLiteStore(":memory:", clock=when)


@pytest.fixture
async def atlas_(store: SQLiteStore, registry: ProviderRegistry) -> AsyncIterator[AsyncAtlas]:
    # The cloud's own clock (a manual one, moved by the provider's waits) is not the store's.
    cloud = MemoryCloud(clock=ManualClock(), tokens=[TOKEN])
    provider = MemoryProvider(cloud, token=TOKEN)
    async with AsyncAtlas(store=store, registry=registry, providers={"memory": provider}) as a:
        yield a


async def test_a_month_of_a_ten_dollar_budget_sends_each_threshold_once_in_order(
    atlas_: AsyncAtlas, store: SQLiteStore, registry: ProviderRegistry, when: Clock
) -> None:
    store.set_budget("default", Budget(Decimal(10)))
    assert (await atlas_.apply(shop())).status == "completed"
    crossed = []
    while when.now < MAY + dt.timedelta(days=31):
        when.now += dt.timedelta(hours=12)
        crossed += check_budgets(store, registry, now=when.now)
        crossed += check_workspace(store, registry, "default", now=when.now)  # a second checker
    # 0.02 an hour: $5 after 250 hours (May 11, 10:00), $8 after 400 (May 17, 16:00), $10
    # after 500 (May 21, 20:00); each seen by the next check, at noon or midnight.
    assert [c.threshold for c in crossed] == [50, 80, 100]
    assert [c.event.time for c in crossed] == [
        dt.datetime(2026, 5, d, h, tzinfo=dt.UTC) for d, h in ((11, 12), (18, 0), (22, 0))
    ]
    events = store.pending_events()
    assert [e.data["threshold_percent"] for e in events] == [50, 80, 100]
    assert {e.type for e in events} == {"cost.threshold_crossed"}
    assert events[0].data == {
        "scope": "workspace",
        "month": "2026-05",
        "threshold_percent": 50,
        "threshold_amount": "5.00",
        "monthly_limit": "10",
        "currency": "USD",
        "basis": "month_to_date",
        "amount": "5.04",  # 252 hours, at the check
    }
    # Delivered over a real socket to a receiver that checks each signature on arrival and
    # fails the first attempt: that event is sent again. Retries wait for nothing.
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    with LoopbackReceiver(500, 204, secret=SECRET) as receiver:
        sink = WebhookSink(
            receiver.url, Secret(SECRET), backoff_initial=0.0, jitter=False, sleep=no_wait
        )
        async with sink:
            report = await EventDispatcher(store, None, [sink]).deliver_pending()
    assert not report.failures
    assert report.delivered == tuple(e.id for e in events)
    assert store.pending_events() == []
    got = receiver.deliveries
    assert [d.status for d in got] == [500, 204, 204, 204]
    assert waits == [0.0]  # the one retry
    assert all(d.verified for d in got)  # none was refused for its signature
    assert {(d.path, d.event_type) for d in got} == {("/hooks/atlas", "cost.threshold_crossed")}
    # Exactly one event per threshold, in order, each received (at least once).
    by_event = {d.delivery_id: d.json() for d in got}
    assert list(by_event) == [e.id for e in events]
    assert [b["data"]["threshold_percent"] for b in by_event.values()] == [50, 80, 100]
    assert all(b["id"] == i for i, b in by_event.items())
    # June starts afresh.
    when.now = dt.datetime(2026, 6, 12, tzinfo=dt.UTC)
    again = check_budgets(store, registry, now=when.now)
    assert [(c.threshold, c.event.data["month"]) for c in again] == [(50, "2026-06")]


@pytest.mark.parametrize("target", ["sqlite", "postgres"])
async def test_thresholds_crossed_before_a_backup_are_not_alerted_again_after_its_import(
    atlas_: AsyncAtlas,
    store: SQLiteStore,
    registry: ProviderRegistry,
    when: Clock,
    target: str,
    request: pytest.FixtureRequest,
) -> None:
    store.set_budget("default", Budget(Decimal(10)))
    assert (await atlas_.apply(shop())).status == "completed"
    when.now = MAY + dt.timedelta(days=19)  # 456 hours at 0.02: 9.12, past 50 and 80 %
    assert [c.threshold for c in check_budgets(store, registry, now=when.now)] == [50, 80]
    text = json.dumps(export_document(store.snapshot(), schema_version=SCHEMA_VERSION))
    backup = read_export(text.encode(), origin="backup.json")
    location = request.getfixturevalue("postgres_url") if target == "postgres" else ":memory:"
    other = (
        PostgresStore(location, clock=when)
        if target == "postgres"
        else SQLiteStore(location, clock=when)
    )
    with other:
        other.restore(backup)
        assert other.get_budget("default") == Budget(Decimal(10))
        # The same month, checked again on the restored store: nothing is crossed twice.
        assert check_budgets(other, registry, now=when.now) == []
        assert other.pending_events() == store.pending_events()
        # 100 % is still to come, and comes once.
        later = MAY + dt.timedelta(days=23)
        assert [c.threshold for c in check_budgets(other, registry, now=later)] == [100]
        assert check_budgets(other, registry, now=later) == []


async def test_an_infrastructure_budget_with_the_forecast_alerts_at_once(
    atlas_: AsyncAtlas, store: SQLiteStore, registry: ProviderRegistry, when: Clock
) -> None:
    doc = shop(budget={"monthly_limit": 15, "thresholds": [90], "include_forecast": True})
    assert (await atlas_.apply(doc)).status == "completed"
    when.now += dt.timedelta(hours=1)
    # The forecast to the end of May is 2 x 7.30 (730 hours capped): 14.60, over 90 % of 15 (13.50).
    (one,) = check_budgets(store, registry, now=when.now)
    assert one.scope.startswith("infrastructure:")
    assert one.event.infrastructure_name == "shop"
    assert one.event.data["basis"] == "month_to_date_and_forecast"
    assert one.event.data["amount"] == "14.60"
    assert check_budgets(store, registry, now=when.now) == []


async def test_the_plan_warns_when_an_apply_would_cross_a_threshold(
    atlas_: AsyncAtlas, store: SQLiteStore, when: Clock
) -> None:
    store.set_budget("default", Budget(Decimal(20), thresholds=(50, 100)))
    assert (await atlas_.apply(shop())).status == "completed"
    when.now += dt.timedelta(days=10)
    bigger = shop()
    bigger["resources"][0]["specifications"]["count"] = 4
    plan = await atlas_.plan(bigger)
    # 14.60 a month now (past 50 %); four servers are 29.20: across 100 %.
    assert plan.warnings == (
        "applying takes the monthly cost from 14.60 to 29.20 USD, across 100 % of the "
        "workspace budget (20.00 of 20 USD)",
    )
    assert plan.to_dict()["warnings"] == list(plan.warnings)
    assert (await atlas_.plan(shop())).warnings == ()
    # Another infrastructure with its own budget: from nothing to 14.60 crosses 50 % and 80 %
    # of 18, and takes the workspace from 14.60 to 29.20.
    fresh = await atlas_.plan(shop(name="other", budget={"monthly_limit": 18}))
    assert [w.split(", across ")[1] for w in fresh.warnings] == [
        "100 % of the workspace budget (20.00 of 20 USD)",
        "50 % of the spec's budget (9.00 of 18 USD)",
        "80 % of the spec's budget (14.40 of 18 USD)",
    ]
