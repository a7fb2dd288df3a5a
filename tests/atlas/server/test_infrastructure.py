"""The infrastructure routes against the memory cloud: create, follow, read back, change,
destroy."""

from __future__ import annotations

import attrs
import httpx
import pytest

from atlas.exceptions import SpecValidationError
from atlas.model.cloud import Owner
from atlas.providers import ProviderRegistry
from atlas.server import create_app
from atlas.spec.validate import validate_spec
from atlas.testing.memory import MemoryCloud, NewObject
from atlas.testing.memory.handlers import MemoryHandler
from tests.atlas.server.conftest import TOKEN, MakeSettings, Served, bearer, created, spec, wait_for


async def test_create_answers_at_once_then_the_operation_completes(
    client: httpx.AsyncClient, cloud: MemoryCloud
) -> None:
    r = await client.post("/api/v1/infrastructure", json=spec())
    assert r.status_code == 201
    body = r.json()
    assert body["infrastructure"]["name"] == "shop"
    assert body["infrastructure"]["status"] in ("pending", "provisioning", "active")
    # While it provisions, the infrastructure is what the operation works toward.
    assert body["operation"]["status"] == "in_progress"
    assert body["infrastructure"]["tags"] == {"env": "test"}
    assert body["infrastructure"]["estimated_monthly_cost"] == 22.0
    assert body["infrastructure"]["spec"]["name"] == "shop"
    op = body["operation"]
    assert op["kind"] == "apply"
    assert op["infrastructure_id"] == body["infrastructure"]["id"]
    done = await wait_for(client, op["id"])
    assert done["status"] == "completed"
    assert done["completed_steps"] == done["total_steps"] == 3
    assert set(done["created_resources"]) == {"net", "web", "data"}
    assert done["cost_change"] == 22.0  # 2 x $7.30 servers + 74 GB at $0.10

    infra = (await client.get(f"/api/v1/infrastructure/{op['infrastructure_id']}")).json()
    infra = infra["infrastructure"]
    assert infra["status"] == "active"
    assert infra["estimated_monthly_cost"] == 22.0
    assert infra["tags"] == {"env": "test"}
    web = next(r for r in infra["resources"] if r["name"] == "web")
    assert web["status"] == "active"
    assert len(web["provider_ids"]) == 2
    assert web["monthly_cost"] == 14.6
    assert {o["id"] for o in web["objects"]} == set(web["provider_ids"])
    assert len(cloud.objects("server")) == 2


async def test_read_by_name_lists_and_pages(client: httpx.AsyncClient) -> None:
    for name in ("a", "b", "c"):
        await created(client, spec(name=name, resources=[]))
    by_name = await client.get("/api/v1/infrastructure/b")
    assert by_name.json()["infrastructure"]["name"] == "b"
    page = (await client.get("/api/v1/infrastructure", params={"limit": 2})).json()
    assert [i["name"] for i in page["infrastructures"]] == ["c", "b"]
    assert (page["count"], page["limit"], page["offset"], page["next_offset"]) == (2, 2, 0, 2)
    rest = (await client.get("/api/v1/infrastructure", params={"limit": 2, "offset": 2})).json()
    assert [i["name"] for i in rest["infrastructures"]] == ["a"]
    assert rest["next_offset"] is None


async def test_paging_values_are_checked(client: httpx.AsyncClient) -> None:
    for params in ({"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"offset": "-1"}):
        r = await client.get("/api/v1/infrastructure", params=params)
        assert r.status_code == 422, params
        [problem] = r.json()["problems"]
        assert problem["path"] == next(iter(params))


async def test_a_second_create_with_the_same_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    infra = await created(client)
    r = await client.post("/api/v1/infrastructure", json=spec())
    assert r.status_code == 409
    assert r.json()["code"] == "INFRASTRUCTURE_EXISTS"
    assert r.json()["infrastructure_id"] == infra["id"]


async def test_update_resizes_in_place(client: httpx.AsyncClient, cloud: MemoryCloud) -> None:
    infra = await created(client)
    [before] = cloud.objects("network")
    doc = spec()
    doc["resources"][1]["specifications"]["size"] = "medium"  # $7.30 -> $14.60 each
    del doc["name"]  # the name may be left out: it is the infrastructure's
    r = await client.put(f"/api/v1/infrastructure/{infra['id']}", json=doc)
    assert r.status_code == 200, r.text
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed"
    assert op["cost_change"] == 14.6
    again = (await client.get(f"/api/v1/infrastructure/{infra['id']}")).json()["infrastructure"]
    assert again["estimated_monthly_cost"] == 36.6
    assert {o.attributes["size"] for o in cloud.objects("server")} == {"medium"}
    assert cloud.objects("network") == [before]  # in place: nothing else was touched


async def test_an_update_that_destroys_data_is_refused_unless_allowed(
    client: httpx.AsyncClient, cloud: MemoryCloud
) -> None:
    infra = await created(client)
    [disk] = cloud.objects("disk")
    doc = spec()
    doc["resources"][2]["specifications"]["size_gb"] = 10  # a shrink: a new, empty disk
    url = f"/api/v1/infrastructure/{infra['id']}"
    r = await client.put(url, json=doc)
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["code"], body["error"], body["resources"]) == (
        "DATA_LOSS",
        "DataLossError",
        ["data"],
    )
    assert "the plan destroys the data of disk data (replace: size_gb shrinks" in body["message"]
    assert cloud.objects("disk") == [disk]
    ops = (await client.get(f"{url}/operations")).json()
    assert ops["count"] == 1  # the refused update started nothing
    r = await client.put(f"{url}?allow_data_loss=true", json=doc)
    assert r.status_code == 200, r.text
    assert (await wait_for(client, r.json()["operation"]["id"]))["status"] == "completed"
    assert [d.attributes["size_gb"] for d in cloud.objects("disk")] == [10]


async def test_update_cannot_rename_or_move_to_another_provider(
    client: httpx.AsyncClient,
) -> None:
    infra = await created(client)
    r = await client.put(f"/api/v1/infrastructure/{infra['id']}", json=spec(name="other"))
    assert r.status_code == 422
    assert [p["path"] for p in r.json()["problems"]] == ["name"]
    r = await client.put(f"/api/v1/infrastructure/{infra['id']}", json=spec(provider="aws"))
    assert r.status_code == 422
    assert [p["path"] for p in r.json()["problems"]] == ["provider"]  # not installed, here


async def test_an_alias_of_the_provider_is_the_same_provider(
    make_settings: MakeSettings, registry: ProviderRegistry
) -> None:
    # The memory provider has no alias of its own: the same provider, registered with one.
    info = attrs.evolve(registry.get("memory"), aliases=("mem",))
    catalog = registry.catalog("memory")
    assert catalog is not None
    aliased = ProviderRegistry(
        {"memory": info}, {"memory": registry.kinds("memory")}, {"memory": catalog}
    )
    async with Served(create_app(make_settings(registry=aliased))).client(bearer()) as c:
        infra = await created(c)
        r = await c.put(f"/api/v1/infrastructure/{infra['id']}", json=spec(provider="mem"))
        assert r.status_code == 200, r.text
        op = await wait_for(c, r.json()["operation"]["id"])
        assert (op["status"], op["total_steps"]) == ("completed", 0)
        again = (await c.get(f"/api/v1/infrastructure/{infra['id']}")).json()["infrastructure"]
    assert again["provider"] == "memory"


async def test_delete_destroys_and_stats_follow(
    client: httpx.AsyncClient, cloud: MemoryCloud
) -> None:
    infra = await created(client)
    stats = (await client.get("/api/v1/stats")).json()["stats"]
    # On the real clock, a moment old (tests/atlas/server/test_costs.py moves one by hand).
    assert stats.pop("month_to_date") >= 0
    assert stats == {
        "total_infrastructures": 1,
        "active_infrastructures": 1,
        "total_resources": 3,
        "estimated_monthly_cost": 22.0,
        "currency": "USD",
        "estimated_monthly_cost_by_currency": {"USD": 22.0},
        "operations_in_progress": 0,
    }
    r = await client.delete(f"/api/v1/infrastructure/{infra['id']}")
    assert r.status_code == 200
    op = await wait_for(client, r.json()["operation"]["id"])
    assert (op["kind"], op["status"], op["cost_change"]) == ("destroy", "completed", -22.0)
    gone = (await client.get(f"/api/v1/infrastructure/{infra['id']}")).json()["infrastructure"]
    assert (gone["status"], gone["resources"]) == ("destroyed", [])
    assert cloud.is_empty()
    stats = (await client.get("/api/v1/stats")).json()["stats"]
    assert (stats["total_infrastructures"], stats["estimated_monthly_cost"]) == (0, 0.0)
    ops = (await client.get(f"/api/v1/infrastructure/{infra['id']}/operations")).json()
    assert [o["kind"] for o in ops["operations"]] == ["destroy", "apply"]
    assert ops["count"] == 2
    # Destroying again: nothing to do, answered with the operation that did it.
    r = await client.delete(f"/api/v1/infrastructure/{infra['id']}")
    assert r.status_code == 200
    assert r.json()["operation"]["id"] == op["id"]
    ops = (await client.get(f"/api/v1/infrastructure/{infra['id']}/operations")).json()
    assert ops["count"] == 2


async def test_a_destroyed_name_can_be_created_again(client: httpx.AsyncClient) -> None:
    infra = await created(client, spec(resources=[]))
    r = await client.delete(f"/api/v1/infrastructure/{infra['id']}")
    await wait_for(client, r.json()["operation"]["id"])
    again = await created(client, spec(resources=[]))
    assert again["status"] == "active"


async def test_validation_errors_carry_the_library_paths(
    client: httpx.AsyncClient, registry: ProviderRegistry
) -> None:
    doc = spec(region="")
    doc["resources"][1]["specifications"]["size"] = 5
    doc["resources"][2]["specifications"]["attach_to"] = "nowhere"
    with pytest.raises(SpecValidationError) as raised:
        validate_spec(doc, registry=registry)
    r = await client.post("/api/v1/infrastructure", json=doc)
    assert r.status_code == 422
    body = r.json()
    assert (body["error"], body["code"]) == ("SpecValidationError", "VALIDATION_ERROR")
    assert body["problems"] == [
        {"path": p.path, "message": p.message} for p in raised.value.problems
    ]
    paths = [p["path"] for p in body["problems"]]
    assert paths[:2] == ["region", "resources[1].specifications.size"]
    assert "resources[2].specifications.attach_to" in paths
    assert body["message"] == str(raised.value)
    assert (await client.get("/api/v1/infrastructure")).json()["count"] == 0


async def test_over_budget_is_refused_unless_allowed(client: httpx.AsyncClient) -> None:
    doc = spec(budget={"monthly_limit": 10})
    r = await client.post("/api/v1/infrastructure", json=doc)
    assert r.status_code == 422
    assert r.json()["code"] == "BUDGET_EXCEEDED"
    assert (await client.get("/api/v1/infrastructure")).json()["count"] == 0
    r = await client.post("/api/v1/infrastructure?allow_over_budget=true", json=doc)
    assert r.status_code == 201
    assert (await wait_for(client, r.json()["operation"]["id"]))["status"] == "completed"


async def test_a_change_while_an_operation_runs_is_locked(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/infrastructure", json=spec())
    infra_id = r.json()["infrastructure"]["id"]
    # The first operation is still running: a second one is refused, naming the holder.
    again = await client.delete(f"/api/v1/infrastructure/{infra_id}")
    assert again.status_code == 409
    assert again.json()["code"] == "LOCKED"
    assert again.json()["operation_id"] == r.json()["operation"]["id"]
    await wait_for(client, r.json()["operation"]["id"])


async def test_a_provider_failure_fails_the_operation_not_the_request(
    client: httpx.AsyncClient, cloud: MemoryCloud
) -> None:
    # A disk made outside atlas holds the name atlas gives "data": the cloud refuses the
    # create (disk names are unique), as a cloud refuses what it will not do.
    name = MemoryHandler.base_name(Owner("ws-a", "shop"), "data")
    await cloud.create(TOKEN, "disk", [NewObject(name, attributes={"size_gb": 1})])
    r = await client.post("/api/v1/infrastructure", json=spec())
    assert r.status_code == 201
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "failed"
    assert op["error"]
    infra = (await client.get(f"/api/v1/infrastructure/{op['infrastructure_id']}")).json()
    assert infra["infrastructure"]["status"] == "error"
    failed = [s for s in op["steps"] if s["status"] == "failed"]
    assert [s["resource"] for s in failed] == ["data"]
