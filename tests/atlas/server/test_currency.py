"""The service sends each amount with its currency: a provider billed in euros answers in euros
in every response and event, and every body still matches the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from atlas.server import Settings, create_app
from atlas.store import SQLiteStore
from tests.atlas.server.conformance import Conformance
from tests.atlas.store.euro import EuroCloud, euro_registry, euro_spec
from tests.atlas.store.factories import infrastructure


@pytest.fixture
def euro_store() -> SQLiteStore:
    return SQLiteStore(":memory:")


@pytest.fixture
async def euro_client(euro_store: SQLiteStore) -> AsyncIterator[httpx.AsyncClient]:
    # No authentication: workspace "default", loopback callers only (which this client is).
    settings = Settings(
        store=euro_store,
        registry=euro_registry(),
        shared_providers={"euro": EuroCloud()},
        watch_interval=0.01,
        event_interval=0.05,
    )
    app = create_app(settings)
    conformance = Conformance(app.state.service.document)

    async def check(response: httpx.Response) -> None:
        await response.aread()
        conformance.check(response)

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1",
            event_hooks={"response": [check]},
        ) as client,
    ):
        yield client


async def _finished(client: httpx.AsyncClient, operation_id: str) -> dict[str, Any]:
    for _ in range(1000):
        r = await client.get(f"/api/v1/operations/{operation_id}")
        op: dict[str, Any] = r.json()["operation"]
        if op["status"] in ("completed", "failed"):
            return op
        await asyncio.sleep(0.005)
    raise AssertionError(f"operation {operation_id} did not finish")


async def test_every_amount_goes_out_with_its_currency(
    euro_client: httpx.AsyncClient, euro_store: SQLiteStore
) -> None:
    estimate = await euro_client.post("/api/v1/estimate-cost", json=euro_spec(web="small"))
    assert (estimate.json()["estimated_monthly_cost"], estimate.json()["currency"]) == (4.51, "EUR")
    r = await euro_client.post("/api/v1/infrastructure", json=euro_spec(web="small", db="large"))
    assert r.status_code == 201, r.text
    op = await _finished(euro_client, r.json()["operation"]["id"])
    assert (op["status"], op["cost_change"], op["currency"]) == ("completed", 22.36, "EUR")

    infra = (await euro_client.get(f"/api/v1/infrastructure/{op['infrastructure_id']}")).json()
    infra = infra["infrastructure"]
    assert (infra["estimated_monthly_cost"], infra["currency"]) == (22.36, "EUR")
    assert sorted((x["name"], x["monthly_cost"], x["currency"]) for x in infra["resources"]) == [
        ("db", 17.85, "EUR"),
        ("web", 4.51, "EUR"),
    ]

    stats = (await euro_client.get("/api/v1/stats")).json()["stats"]
    assert (stats["estimated_monthly_cost"], stats["currency"]) == (22.36, "EUR")
    assert stats["estimated_monthly_cost_by_currency"] == {"EUR": 22.36}

    async with euro_client.stream("GET", f"/api/v1/operations/{op['id']}/events") as stream:
        lines = [line async for line in stream.aiter_lines()]
    events = [
        json.loads(line.removeprefix("data: "))
        for i, line in enumerate(lines)
        if line.startswith("data: ") and lines[i - 1].startswith("event: deployment.")
    ]
    assert [(e["type"], e["cost_change"], e["currency"]) for e in events] == [
        ("deployment.started", 22.36, "EUR"),
        ("deployment.completed", 22.36, "EUR"),
    ]

    # A second infrastructure billed in dollars: the totals are per currency, never a sum.
    euro_store.save_infrastructure(
        infrastructure(id="inf-usd", workspace="default", name="other", currency="USD")
    )
    stats = (await euro_client.get("/api/v1/stats")).json()["stats"]
    assert (stats["estimated_monthly_cost"], stats["currency"]) == (None, None)
    assert stats["estimated_monthly_cost_by_currency"] == {"EUR": 22.36, "USD": 6.0}
