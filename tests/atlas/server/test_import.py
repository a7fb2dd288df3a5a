"""Imports through the HTTP API: ``POST /api/v1/plan`` plans them, a create adopts them, and
``DELETE`` leaves them in place unless ``include_imported=true``."""

from __future__ import annotations

from typing import Any

import httpx

from atlas.testing.memory import ManualClock, MemoryCloud, NewObject
from tests.atlas.server.conftest import TOKEN, created, wait_for


async def by_hand(cloud: MemoryCloud, clock: ManualClock) -> str:
    attributes = {"region": "nyc1", "size": "small", "image": "debian-12", "network_id": None}
    [made] = await cloud.create(TOKEN, "server", [NewObject("web-1", {}, attributes)])
    clock.advance(10)
    return made.id


def adopting(object_id: str, size: str = "small") -> dict[str, Any]:
    return {
        "name": "adopted",
        "provider": "memory",
        "region": "mem-1",
        "resources": [
            {
                "type": "server",
                "name": "web",
                "specifications": {"size": size},
                "import": object_id,
            }
        ],
    }


async def test_plan_shows_an_import_and_delete_leaves_it(
    client: httpx.AsyncClient, cloud: MemoryCloud, clock: ManualClock
) -> None:
    object_id = await by_hand(cloud, clock)
    wrong = await client.post("/api/v1/plan", json=adopting(object_id))
    assert wrong.status_code == 502  # what the provider says, named by id
    assert (
        wrong.json()["message"]
        == f"web: server {object_id!r} is in nyc1, the spec's region is mem-1"
    )
    await cloud.update(TOKEN, "server", object_id, attributes={"region": "mem-1"})
    clock.advance(10)

    r = await client.post("/api/v1/plan", json=adopting(object_id, size="medium"))
    assert r.status_code == 200, r.text
    [change] = r.json()["plan"]["changes"]
    assert change["action"] == "import"
    assert change["import_ids"] == [object_id]
    assert change["needs_replacement"] is None
    assert change["fields"] == [{"path": "specifications.size", "old": "small", "new": "medium"}]

    infra = await created(client, adopting(object_id))
    [web] = infra["resources"]
    assert web["imported"] is True
    assert web["provider_ids"] == [object_id]

    r = await client.delete(f"/api/v1/infrastructure/{infra['id']}")
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed"
    assert [(s["action"], s["note"]) for s in op["steps"]] == [
        ("release", "left in place: imported; atlas destroy --include-imported deletes it")
    ]
    assert [o.id for o in cloud.objects("server")] == [object_id]

    infra = await created(client, adopting(object_id))
    r = await client.delete(
        f"/api/v1/infrastructure/{infra['id']}", params={"include_imported": "true"}
    )
    op = await wait_for(client, r.json()["operation"]["id"])
    assert op["status"] == "completed"
    assert [s["action"] for s in op["steps"]] == ["delete"]
    assert cloud.objects("server") == []
