"""``POST /api/v1/estimate-cost`` with a portable spec: placed, or compared with ``compare``."""

from __future__ import annotations

import httpx
import pytest

from atlas.providers.registry import ProviderRegistry
from tests.atlas.portable.test_resolve import server, spec, stack
from tests.atlas.portable.toy import toy_registry


@pytest.fixture(scope="module")
def registry() -> ProviderRegistry:
    return toy_registry()


async def test_compare_answers_every_placement_cheapest_first(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/estimate-cost", json={**spec(*stack()), "compare": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(c["provider"], c["region"], c["monthly_cost"]) for c in body["candidates"]][:2] == [
        ("beta", "b-us", 63.2),
        ("alpha", "a-us1", 71.1),
    ]
    assert body["candidates"][1]["more_than_cheapest"] == 7.9
    assert body["decision"]["runner_up"]["difference"] == 7.9
    assert body["excluded"] == [
        {"provider": "gamma", "region": None, "reason": "no translator installed"}
    ]
    web = body["candidates"][0]["choices"][0]
    assert (web["resources"], web["offering"], web["monthly_cost"]) == (["web"], "medium", 32.0)
    assert web["line_items"][0]["sku"] == "vm:b-us:medium"
    chosen = body["decision"]["choices"][0]
    assert chosen["resources"][0] == {
        "type": "vm",
        "name": "web",
        "specifications": {"size": "medium", "count": 2},
    }


async def test_the_query_flag_compares_too(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/estimate-cost", params={"compare": "true"}, json=spec(*stack()))
    assert r.json()["decision"]["provider"] == "beta"


async def test_without_compare_a_portable_spec_is_estimated_where_it_is_placed(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/v1/estimate-cost", json={**spec(*stack()), "compare": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["estimated_monthly_cost"] == 63.2
    assert body["placement"]["provider"] == "beta"
    assert body["placement"]["reason"].startswith("the cheapest of 5 placements")
    plain = (await client.post("/api/v1/estimate-cost", json=spec(*stack()))).json()
    assert plain["placement"] == body["placement"]


async def test_problems_are_422_with_their_paths(client: httpx.AsyncClient) -> None:
    doc = {**spec(*stack(), providers=["alpah"]), "compare": True}
    r = await client.post("/api/v1/estimate-cost", json=doc)
    assert r.status_code == 422
    assert [p["path"] for p in r.json()["problems"]] == ["placement.providers[0]"]
    r = await client.post("/api/v1/estimate-cost", json={**spec(*stack()), "compare": "yes"})
    assert [p["path"] for p in r.json()["problems"]] == ["compare"]
    r = await client.post(
        "/api/v1/estimate-cost", params={"duration": "1d"}, json={**spec(*stack()), "compare": True}
    )
    assert [p["path"] for p in r.json()["problems"]] == ["duration"]


async def test_like_resources_share_one_entry(client: httpx.AsyncClient) -> None:
    doc = {**spec(server("a"), server("b"), server("c", vcpus=4)), "compare": True}
    body = (await client.post("/api/v1/estimate-cost", json=doc)).json()
    groups = body["candidates"][0]["choices"]
    assert [(g["resources"], g["offering"]) for g in groups] == [
        (["a", "b"], "medium"),
        (["c"], "large"),
    ]
    assert [c["resource"] for c in body["decision"]["choices"]] == ["a", "b", "c"]
