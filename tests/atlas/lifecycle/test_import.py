"""Discover and import on the memory cloud: what exists outside atlas is listed with its cost,
adopted with ``import:`` (never created), and left in place by destroy unless asked."""

from __future__ import annotations

from typing import Any

import pytest

from atlas import Money
from atlas.exceptions import SpecError, SpecValidationError
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner
from atlas.store import SQLiteStore
from atlas.testing.memory import ManualClock, MemoryCloud, NewObject
from tests.atlas.lifecycle.conftest import TOKEN, squat, stack


async def by_hand(
    cloud: MemoryCloud, clock: ManualClock, kind: str, name: str, **attributes: Any
) -> str:
    """An object made outside atlas (no marks), settled and listed."""
    attributes.setdefault("region", "mem-1")
    [made] = await cloud.create(TOKEN, kind, [NewObject(name, {}, attributes)])
    clock.advance(10)
    return made.id


async def hand_made(cloud: MemoryCloud, clock: ManualClock) -> dict[str, str]:
    net = await by_hand(cloud, clock, "network", "office", ip_range="10.9.0.0/16")
    web = await by_hand(
        cloud, clock, "server", "web-1", size="small", image="debian-12", network_id=net
    )
    data = await by_hand(cloud, clock, "disk", "data", size_gb=30, server_id=web)
    return {"net": net, "web": web, "data": data}


def creates(cloud: MemoryCloud) -> list[str]:
    return [c for c in cloud.calls if c.startswith("create ")]


async def test_discover_lists_what_no_infrastructure_owns_with_its_cost(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    await atlas_.apply(stack())  # atlas's own: never listed
    made = await hand_made(cloud, clock)
    found = await atlas_.discover("memory")
    assert [(r.found.type, r.found.name, r.found.ids) for r in found.resources] == [
        ("disk", "data", (made["data"],)),
        ("network", "office", (made["net"],)),
        ("server", "web-1", (made["web"],)),
    ]
    costs = {r.found.name: r.monthly for r in found.resources}
    assert costs == {"data": Money("3.00"), "office": Money("0.00"), "web-1": Money("7.30")}
    assert found.monthly == Money("10.30")
    data = found.to_dict()
    assert data["count"] == 3
    assert data["monthly_cost"] == 10.3
    # References are by the names the spec written from it gives.
    assert found.resources[0].found.specifications == {"size_gb": 30, "attach_to": "web-1"}


async def test_discover_sets_aside_ids_another_workspace_records(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock, store: SQLiteStore
) -> None:
    made = await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    other = AsyncAtlas(
        store=store,
        registry=atlas_.registry,
        workspace="elsewhere",
        providers={"memory": atlas_._provider("memory")},
    )
    op = await other.apply(doc)
    assert op.status == "completed", op.error
    assert (await atlas_.discover("memory")).resources == ()
    assert sorted(store.owned_objects("memory")) == sorted(made.values())


async def test_applying_the_discovered_spec_creates_nothing(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    made = await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    assert {r["name"]: r["import"] for r in doc["resources"]} == {
        "data": made["data"],
        "office": made["net"],
        "web-1": made["web"],
    }
    plan = await atlas_.plan(doc)
    assert {c.action for c in plan.changes} == {"import"}
    assert all(not c.fields and c.needs_replacement is None for c in plan.changes)
    assert "nothing is created" in plan.changes[0].reason
    before = len(creates(cloud))
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    assert creates(cloud)[before:] == []
    view = atlas_.get("adopted")
    assert {r.name: (r.imported, r.status) for r in view.resources} == {
        "data": (True, "active"),
        "office": (True, "active"),
        "web-1": (True, "active"),
    }
    assert view.infrastructure.monthly_cost == Money("10.30").amount
    assert [s.action for s in atlas_.store.steps(op.id)] == ["import"] * 3
    assert (await atlas_.plan(doc)).empty
    assert (await atlas_.discover("memory")).resources == ()


async def test_destroy_leaves_imported_resources_unless_included(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    made = await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    await atlas_.apply(doc)
    op = await atlas_.destroy("adopted")
    assert op.status == "completed", op.error
    steps = atlas_.store.steps(op.id)
    assert {s.action for s in steps} == {"release"}
    assert all("left in place: imported" in (s.note or "") for s in steps)
    assert {o.id for k in ("network", "server", "disk") for o in cloud.objects(k)} == set(
        made.values()
    )
    # Free again: discover lists them, and another apply adopts them again.
    assert len((await atlas_.discover("memory")).resources) == 3
    await atlas_.apply(doc)
    op = await atlas_.destroy("adopted", include_imported=True)
    assert op.status == "completed", op.error
    assert {s.action for s in atlas_.store.steps(op.id)} == {"delete"}
    assert cloud.is_empty()


async def test_an_import_changes_in_place_what_differs(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    made = await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    web = next(r for r in doc["resources"] if r["name"] == "web-1")
    web["specifications"]["size"] = "medium"
    plan = await atlas_.plan(doc)
    change = plan.change("web-1")
    assert change is not None
    assert change.action == "import"
    assert [str(f) for f in change.fields] == ["specifications.size: 'small' -> 'medium'"]
    before = len(creates(cloud))
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    assert creates(cloud)[before:] == []
    [server] = cloud.objects("server")
    assert (server.id, server.attributes["size"]) == (made["web"], "medium")


async def test_an_import_that_would_need_a_replacement_is_refused(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    net = next(r for r in doc["resources"] if r["name"] == "office")
    net["specifications"]["ip_range"] = "10.1.0.0/16"
    plan = await atlas_.plan(doc)
    change = plan.change("office")
    assert change is not None
    assert change.action == "import"
    assert change.needs_replacement is not None
    assert "cannot change in place" in change.needs_replacement
    with pytest.raises(SpecValidationError) as info:
        await atlas_.apply(doc)
    [problem] = info.value.problems
    index = doc["resources"].index(net)
    assert problem.path == f"resources[{index}].specifications.ip_range"
    assert "drop import" in problem.message
    assert atlas_.list() == [] or atlas_.get("adopted").resources == ()


async def test_an_id_that_does_not_exist_is_named(atlas_: AsyncAtlas) -> None:
    doc = {
        "name": "adopted",
        "provider": "memory",
        "region": "mem-1",
        "resources": [{"type": "disk", "name": "d", "specifications": {"size_gb": 5}}],
    }
    doc["resources"][0]["import"] = "dsk-999999"
    with pytest.raises(Exception, match="dsk-999999"):
        await atlas_.plan(doc)


async def test_rollback_never_deletes_an_imported_resource(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    made = await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    # A new disk whose create the cloud refuses (its name is taken): the operation fails and
    # rolls back.
    doc["resources"].append({"type": "disk", "name": "extra", "specifications": {"size_gb": 5}})
    await squat(cloud, Owner("default", "adopted"), "extra")
    op = await atlas_.apply(doc)
    assert op.status == "failed"
    left = {o.id for k in ("network", "server", "disk") for o in cloud.objects(k)}
    assert set(made.values()) <= left
    assert atlas_.get("adopted").resources == ()
    assert "left in place" in (op.error or "")


async def test_a_released_resource_stays_when_it_leaves_the_spec(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    made = await hand_made(cloud, clock)
    doc = (await atlas_.discover("memory")).to_spec("adopted")
    await atlas_.apply(doc)
    doc["resources"] = [r for r in doc["resources"] if r["name"] != "data"]
    plan = await atlas_.plan(doc)
    [change] = plan.changes
    assert (change.action, change.resource) == ("release", "data")
    assert change.cost_change == Money("-3.00")
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    assert made["data"] in {o.id for o in cloud.objects("disk")}
    assert "data" not in {r.name for r in atlas_.get("adopted").resources}


async def test_to_spec_needs_a_region_when_found_in_several(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock
) -> None:
    await by_hand(cloud, clock, "network", "a", ip_range="10.1.0.0/16")
    await by_hand(cloud, clock, "network", "b", ip_range="10.2.0.0/16", region="mem-2")
    found = await atlas_.discover("memory")
    with pytest.raises(SpecError, match="--region"):
        found.to_spec("x")
    assert [r["name"] for r in found.to_spec("x", "mem-2")["resources"]] == ["b"]
    only = await atlas_.discover("memory", region="mem-1")
    assert [r.found.name for r in only.resources] == ["a"]
