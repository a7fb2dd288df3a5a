"""``GET /api/v1/costs``, ``GET /api/v1/infrastructure/{id}/costs`` and the stats' month to
date: from the journal, on a clock the test moves, a workspace seeing its own only."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from atlas import facade
from atlas.cost import accrual
from atlas.credentials import Secret
from atlas.server import create_app
from atlas.server.monitoring import Monitoring
from atlas.store import SQLiteStore
from tests.atlas.server.conftest import MakeSettings, Served, bearer, created

METRICS = Secret("m" * 24)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def when() -> Clock:
    return Clock()


@pytest.fixture
def store(when: Clock) -> SQLiteStore:
    return SQLiteStore(":memory:", clock=when)


@pytest.fixture
def app(make_settings: MakeSettings, when: Clock) -> Starlette:
    return create_app(make_settings(clock=when, monitoring=Monitoring(metrics_token=METRICS)))


@pytest.fixture
async def other(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with served.client(bearer("ws-b", user="user-2")) as c:
        yield c


async def test_three_days_of_the_shop_cost_what_its_rules_say(
    client: httpx.AsyncClient, other: httpx.AsyncClient, when: Clock
) -> None:
    infra = await created(client)
    when.now += dt.timedelta(days=3)
    r = await client.get("/api/v1/costs")
    assert r.status_code == 200, r.text
    costs = r.json()["costs"]
    assert (costs["workspace"], costs["month"], costs["currency"]) == ("ws-a", "2026-05", "USD")
    # Per started hour, 72 of them: two servers at 7.30 / 730 = 0.01 an hour = 1.44; 74 GB at
    # 0.10 / 730 a GB-hour = 0.7299 -> 0.73; the network is free.
    assert costs["month_to_date"] == 2.17
    (shop,) = costs["infrastructures"]
    by_name = {res["name"]: res for res in shop["resources"]}
    assert by_name["web"]["month_to_date"] == 1.44
    assert by_name["data"]["month_to_date"] == 0.73
    assert by_name["web"]["seconds"] == 259_200
    assert by_name["web"]["live"] is True
    # To the end of May from the 4th at 10:00: 662 hours, under the 730-hour cap.
    assert by_name["web"]["forecast"] == 13.24
    assert sum(d["cost"] for d in costs["daily"]) == pytest.approx(2.17)
    one = (await client.get(f"/api/v1/infrastructure/{infra['id']}/costs")).json()["costs"]
    assert one["infrastructures"] == costs["infrastructures"]
    stats = (await client.get("/api/v1/stats")).json()["stats"]
    assert stats["month_to_date"] == 2.17
    # Another workspace sees none of it.
    theirs = (await other.get("/api/v1/costs")).json()["costs"]
    assert (theirs["infrastructures"], theirs["month_to_date"]) == ([], 0.0)
    assert (await other.get(f"/api/v1/infrastructure/{infra['id']}/costs")).status_code == 404
    assert (await other.get("/api/v1/stats")).json()["stats"]["month_to_date"] == 0.0


async def test_an_earlier_month_and_a_bad_one(client: httpx.AsyncClient, when: Clock) -> None:
    await created(client)
    when.now += dt.timedelta(days=40)  # into June
    may = (await client.get("/api/v1/costs", params={"month": "2026-05"})).json()["costs"]
    # May 4 10:00 to June 1: 662 hours of a closed month; forecast and month to date agree.
    assert may["month_to_date"] == may["forecast"]
    assert may["infrastructures"][0]["resources"][1]["seconds"] == 662 * 3600
    r = await client.get("/api/v1/costs", params={"month": "2026-13"})
    assert r.status_code == 422
    assert r.json()["problems"][0]["path"] == "month"
    actual = (await client.get("/api/v1/costs", params={"actual": "true"})).json()["costs"]
    assert actual["actual"] == [{"provider": "memory", "reported": False}]


async def test_the_workspace_budget_is_set_read_and_removed(
    client: httpx.AsyncClient, other: httpx.AsyncClient, store: SQLiteStore
) -> None:
    assert (await client.get("/api/v1/budget")).json() == {"budget": None}
    r = await client.put("/api/v1/budget", json={"monthly_limit": 10, "thresholds": [80, 50]})
    assert r.status_code == 200, r.text
    assert r.json()["budget"] == {
        "monthly_limit": 10.0,
        "currency": "USD",
        "thresholds": [50, 80],
        "include_forecast": False,
    }
    assert (await client.get("/api/v1/budget")).json() == r.json()
    assert (await other.get("/api/v1/budget")).json() == {"budget": None}
    bad = await client.put("/api/v1/budget", json={"monthly_limit": 10, "thresholds": [0]})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["path"] == "budget.thresholds[0]"
    assert (await client.delete("/api/v1/budget")).json() == {"budget": None}
    assert store.get_budget("ws-a") is None
    # Both changes left an audit entry naming the caller.
    actions = [e.action for e in store.audit_entries("ws-a")]
    assert actions.count("PUT /api/v1/budget") == 2
    assert actions.count("DELETE /api/v1/budget") == 1


async def test_the_journal_is_priced_on_a_worker_thread_not_the_loop(
    client: httpx.AsyncClient, when: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pricing a large workspace's journal takes tens of milliseconds; the loop goes on
    serving meanwhile: /costs, /stats and /metrics each price it on a worker thread."""
    await created(client)
    loop_thread = threading.current_thread()
    seen: list[threading.Thread] = []
    real = accrual.workspace_costs

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(facade, "workspace_costs", recording)
    monkeypatch.setattr(accrual, "workspace_costs", recording)
    for path in ("/api/v1/costs", "/api/v1/stats", "/metrics"):
        seen.clear()
        scraper = {"authorization": f"Bearer {METRICS.reveal()}"} if path == "/metrics" else {}
        r = await client.get(path, headers=scraper)
        assert r.status_code == 200, (path, r.text)
        assert seen, path
        assert loop_thread not in seen, path
