"""``provider: any`` over HTTP: the plan's placement, the decision recorded with the
infrastructure (``GET /api/v1/infrastructure/{id}``), kept on updates unless
``replace_placement`` (a query flag, or a key of the body beside the spec)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atlas.providers.registry import ProviderRegistry
from tests.atlas.portable.memory_toy import MemoryTranslator, memory_registry
from tests.atlas.portable.test_placement_plan import ALPHA, spec
from tests.atlas.portable.toy import ToyClouds
from tests.atlas.server.conftest import wait_for

TRANSLATOR = MemoryTranslator()
OFFERED = dict(TRANSLATOR.offered)


@pytest.fixture(scope="module")
def registry() -> ProviderRegistry:
    return memory_registry(TRANSLATOR, ToyClouds(clouds=(ALPHA,), live=True))


@pytest.fixture(autouse=True)
def offerings() -> Iterator[None]:
    TRANSLATOR.offered = dict(OFFERED)
    yield
    TRANSLATOR.offered = dict(OFFERED)


async def created(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.post("/api/v1/infrastructure", json=spec())
    assert r.status_code == 201, r.text
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed", op
    infra: dict[str, Any] = (
        await client.get(f"/api/v1/infrastructure/{op['infrastructure_id']}")
    ).json()["infrastructure"]
    return infra


async def test_the_plan_carries_the_placement(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/plan", json=spec())
    assert r.status_code == 200, r.text
    placement = r.json()["plan"]["placement"]
    assert (placement["provider"], placement["region"], placement["monthly_cost"]) == (
        "memory",
        "mem-2",
        8.3,
    )
    assert placement["runner_up"]["provider"] == "alpha"
    assert placement["runner_up"]["difference"] == 1.6
    assert (placement["kept"], placement["moved_from"]) == (False, None)


async def test_the_infrastructure_shows_the_decision_recorded(client: httpx.AsyncClient) -> None:
    infra = await created(client)
    assert (infra["provider"], infra["region"]) == ("memory", "mem-2")
    placement = infra["placement"]
    assert (placement["provider"], placement["region"]) == ("memory", "mem-2")
    assert placement["reason"].startswith("the cheapest of 4 placements")
    assert placement["decided_at"].endswith("Z")
    assert infra["spec"]["placed"]["region"] == "mem-2"


async def test_updates_keep_the_placement_until_asked_to_replace_it(
    client: httpx.AsyncClient,
) -> None:
    infra = await created(client)
    url = f"/api/v1/infrastructure/{infra['id']}"
    TRANSLATOR.offered = {"mem-1": ("small",), "mem-2": ("small", "medium")}
    # mem-1 is as cheap now, and comes first: a fresh placement would take it.
    plan = (await client.post("/api/v1/plan", json=spec())).json()["plan"]
    assert (plan["placement"]["region"], plan["placement"]["kept"], plan["changes"]) == (
        "mem-2",
        True,
        [],
    )
    r = await client.put(url, json=spec())
    assert r.status_code == 200, r.text
    await wait_for(client, r.json()["operation"]["id"])
    assert (await client.get(url)).json()["infrastructure"]["region"] == "mem-2"
    body = {**spec(), "replace_placement": True}
    plan = (await client.post("/api/v1/plan", json=body)).json()["plan"]
    assert plan["placement"]["moved_from"] == {"provider": "memory", "region": "mem-2"}
    assert {c["action"] for c in plan["changes"]} == {"replace"}
    r = await client.put(f"{url}?allow_data_loss=true&replace_placement=true", json=spec())
    assert r.status_code == 200, r.text
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed", op
    moved = (await client.get(url)).json()["infrastructure"]
    assert (moved["region"], moved["placement"]["region"]) == ("mem-1", "mem-1")


async def test_a_move_to_another_provider_is_refused_at_placement(
    client: httpx.AsyncClient,
) -> None:
    infra = await created(client)
    TRANSLATOR.offered = {"mem-1": ("large",), "mem-2": ("large",)}  # alpha is cheaper now
    body = {**spec(), "replace_placement": True}
    r = await client.post("/api/v1/plan", json=body)
    assert r.status_code == 422, r.text
    [problem] = r.json()["problems"]
    assert problem["path"] == "placement"
    assert "one infrastructure lives on one provider" in problem["message"]
    assert "destroy it" in problem["message"]
    r = await client.put(
        f"/api/v1/infrastructure/{infra['id']}", params={"replace_placement": "true"}, json=spec()
    )
    assert r.status_code == 422, r.text
    assert [p["path"] for p in r.json()["problems"]] == ["placement"]


async def test_a_pin_no_longer_allowed_is_a_problem_at_placement(
    client: httpx.AsyncClient,
) -> None:
    await created(client)
    r = await client.post("/api/v1/plan", json=spec("alpha"))
    assert r.status_code == 422, r.text
    [problem] = r.json()["problems"]
    assert problem["path"] == "placement"
    assert problem["message"].startswith("the recorded placement memory/mem-2 no longer fits")


async def test_replace_placement_must_be_true_or_false(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/plan", json={**spec(), "replace_placement": "yes"})
    assert r.status_code == 422, r.text
    assert [p["path"] for p in r.json()["problems"]] == ["replace_placement"]
