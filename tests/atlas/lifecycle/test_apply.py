"""The lifecycle on the memory cloud: apply, plan again, update, destroy, fail and roll back,
drift and put back, resume and adopt."""

from __future__ import annotations

import attrs
import pytest

from atlas import BudgetExceededError, LockedError, Money
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner
from atlas.store import SQLiteStore
from atlas.testing.memory import MemoryCloud
from tests.atlas.lifecycle.conftest import squat, stack

SHOP = Owner("default", "shop")


def ids(cloud: MemoryCloud) -> dict[str, list[str]]:
    """Every object's id, by kind: what the cloud holds."""
    return {
        kind: sorted(o.id for o in cloud.objects(kind)) for kind in ("network", "server", "disk")
    }


async def test_apply_then_plan_again_is_empty(atlas_: AsyncAtlas, cloud: MemoryCloud) -> None:
    progress: list[str] = []
    op = await atlas_.apply(stack(), on_progress=lambda o, _: progress.append(o.current_step or ""))
    assert op.status == "completed", op.error
    assert op.total_steps == op.completed_steps == 6
    assert set(op.created_resources) == {"net", "web", "worker", "data", "db", "dbdata"}
    view = atlas_.get("shop")
    assert view.infrastructure.status == "active"
    assert view.infrastructure.monthly_cost == Money("80.70").amount
    assert {r.status for r in view.resources} == {"active"}
    assert len(next(r for r in view.resources if r.name == "web").objects) == 3
    assert {k: len(v) for k, v in ids(cloud).items()} == {"network": 1, "server": 5, "disk": 2}
    assert "create server web" in progress
    again = await atlas_.plan(stack())
    assert again.empty
    events = [e.type for e in atlas_.store.events_of("default", op.id)]
    assert events == ["deployment.started", "deployment.completed", "infrastructure.created"]


async def test_resize_is_planned_in_place_with_its_cost(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    before = ids(cloud)
    doc = stack()
    doc["resources"][2]["specifications"]["size"] = "large"  # worker: 14.60 -> 29.20
    plan = await atlas_.plan(doc)
    [change] = plan.changes
    assert (change.action, change.resource) == ("update", "worker")
    assert change.cost_change == Money("14.60")
    assert "specifications.size: 'medium' -> 'large'" in change.reason
    assert plan.cost_after - plan.cost_before == Money("14.60")
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    worker = next(r for r in atlas_.get("shop").resources if r.name == "worker")
    assert worker.objects[0].attributes["size"] == "large"
    assert ids(cloud) == before  # in place: the same objects
    assert (await atlas_.plan(doc)).empty


async def test_destroy_leaves_nothing(atlas_: AsyncAtlas, cloud: MemoryCloud) -> None:
    await atlas_.apply(stack())
    op = await atlas_.destroy("shop")
    assert op.status == "completed", op.error
    assert cloud.is_empty()
    assert atlas_.get("shop").infrastructure.status == "destroyed"
    assert atlas_.get("shop").resources == ()


async def test_destroying_again_records_nothing(atlas_: AsyncAtlas) -> None:
    await atlas_.apply(stack())
    first = await atlas_.destroy("shop")
    again = await atlas_.destroy("shop")
    assert again == first  # the operation that destroyed it: nothing new to do
    assert [op.kind for op in atlas_.operations("shop")] == ["destroy", "apply"]


async def test_failure_in_the_fourth_resource_rolls_back_only_what_it_made(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    base = stack()
    base["resources"] = [r for r in base["resources"] if r["name"] in ("net", "worker")]
    first = await atlas_.apply(base)
    assert first.status == "completed"
    before = {r.name: r.objects for r in atlas_.get("shop").resources}
    await squat(cloud, SHOP, "data")  # every attempt to create the disk "data" is refused
    held = ids(cloud)
    op = await atlas_.apply(stack())
    assert op.status == "failed"
    assert op.error is not None
    assert "rolled back" in op.error
    after = {r.name: r.objects for r in atlas_.get("shop").resources}
    assert after == before  # nothing that existed before was touched
    assert ids(cloud) == held  # what this operation made (web, db, dbdata) is gone
    events = [e.type for e in atlas_.store.events_of("default", op.id)]
    assert events == ["deployment.started", "deployment.failed"]
    assert atlas_.get("shop").infrastructure.status == "error"


async def test_over_budget_is_refused_at_plan_time(atlas_: AsyncAtlas, cloud: MemoryCloud) -> None:
    doc = stack()
    doc["budget"] = {"monthly_limit": 50}
    with pytest.raises(BudgetExceededError) as info:
        await atlas_.apply(doc)
    assert "80.70 USD" in str(info.value)
    assert "50.00 USD" in str(info.value)
    assert cloud.is_empty()
    op = await atlas_.apply(doc, allow_over_budget=True)
    assert op.status == "completed"


async def test_a_second_concurrent_apply_is_refused(atlas_: AsyncAtlas, store: SQLiteStore) -> None:
    await atlas_.apply(stack())
    infra = atlas_.get("shop").infrastructure
    store.lock(infra.id, "another-operation")
    doc = stack()
    doc["resources"][2]["specifications"]["size"] = "large"
    with pytest.raises(LockedError, match="locked by operation another-operation since"):
        await atlas_.apply(doc)


async def test_refresh_reports_drift_and_plan_puts_it_back(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    doc = stack()
    await atlas_.apply(doc)
    resources = {r.name: r for r in atlas_.get("shop").resources}
    # Outside atlas: someone deletes the disk "dbdata" and resizes the worker by hand.
    cloud.faults.delete_outside("disk", resources["dbdata"].objects[0].id)
    cloud.faults.change_outside("server", resources["worker"].objects[0].id)
    drift = {d.resource: d for d in await atlas_.refresh("shop")}
    assert set(drift) == {"dbdata", "worker"}
    assert drift["dbdata"].kind == "deleted"
    assert drift["worker"].kind == "changed"
    worker = resources["worker"].objects[0].name
    assert list(drift["worker"].details) == [f"{worker} is small, the spec says medium"]
    plan = await atlas_.plan(doc, refresh=True)
    assert {c.resource: c.action for c in plan.changes} == {"dbdata": "replace", "worker": "update"}
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    assert (await atlas_.plan(doc, refresh=True)).empty
    assert {o.attributes["size"] for o in cloud.objects("server") if "worker" in o.name} == {
        "medium"
    }


async def test_resume_takes_over_an_unfinished_operation(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    # Disks take 3 s to be ready here: a 1 s timeout stops the operation while they settle.
    op = await atlas_.apply(stack(), timeouts={"disk": 1.0})
    assert op.status == "failed"
    assert "resume" in (op.error or "")
    data = next(r for r in atlas_.get("shop").resources if r.name == "data")
    assert data.objects  # the id was kept for the resume
    again = await atlas_.resume(op.id)
    assert again.status == "completed", again.error
    assert len(cloud.objects("disk")) == 2
    resumed = next(r for r in atlas_.get("shop").resources if r.name == "data")
    assert [o.id for o in resumed.objects] == [o.id for o in data.objects]  # finished, not redone


async def test_the_fifth_of_six_fails_and_only_this_operations_work_is_undone(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    # Something that existed before: another infrastructure in the same account.
    other = stack()
    other["name"] = "other"
    other["resources"] = [r for r in other["resources"] if r["name"] in ("net", "worker")]
    assert (await atlas_.apply(other)).status == "completed"
    await squat(cloud, SHOP, "data")
    before = ids(cloud)

    op = await atlas_.apply(stack())

    steps = atlas_.store.steps(op.id)
    # Steps follow the dependencies: the disk "data" waits for its server, "db" does not.
    assert [(s.resource, s.status) for s in steps] == [
        ("net", "rolled_back"),
        ("web", "rolled_back"),
        ("worker", "rolled_back"),
        ("db", "rolled_back"),
        ("data", "failed"),
        ("dbdata", "rolled_back"),  # in the same wave as "data": made, then undone
    ]
    assert "a disk called 'shop-data-" in (steps[4].error or "")
    assert op.status == "failed"
    assert "rolled back what this operation created: " in (op.error or "")
    assert atlas_.get("shop").resources == ()
    assert ids(cloud) == before  # only what existed before is left, untouched
    assert [e.type for e in atlas_.store.events_of("default", op.id)] == [
        "deployment.started",
        "deployment.failed",
    ]


async def test_a_create_applied_but_not_recorded_is_adopted_not_repeated(
    atlas_: AsyncAtlas, cloud: MemoryCloud, store: SQLiteStore
) -> None:
    """The crash window between the provider applying a create and atlas recording its id:
    the intent row (status creating, no ids) must lead to adoption, never a second object."""
    await atlas_.apply(stack())
    made = ids(cloud)
    infra = atlas_.get("shop").infrastructure
    db = next(r for r in store.list_resources(infra.id) if r.name == "db")
    store.save_resource(attrs.evolve(db, status="creating", objects=()))  # ids never recorded
    drift = await atlas_.refresh("shop")
    assert "db" not in {d.resource for d in drift}  # not mistaken for a deletion
    op = await atlas_.apply(stack())
    assert op.status == "completed", op.error
    assert ids(cloud) == made
    adopted = next(r for r in atlas_.get("shop").resources if r.name == "db")
    assert adopted.objects[0].id == db.objects[0].id
