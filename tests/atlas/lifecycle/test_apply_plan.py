"""``apply(plan)``: the plan reviewed is the plan carried out, with nothing read again; a plan
whose spec or recorded state moved is refused, saying what moved; a plan that destroys data
needs ``allow_data_loss``. On the memory cloud."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from atlas import Atlas, DataLossError, StalePlanError
from atlas.facade import AsyncAtlas
from atlas.lifecycle.plan import make_plan
from atlas.providers import ProviderRegistry
from atlas.store import SQLiteStore
from atlas.testing.memory import MemoryCloud, MemoryProvider
from tests.atlas.lifecycle.conftest import TOKEN, stack


def ids(cloud: MemoryCloud) -> dict[str, list[str]]:
    return {k: sorted(o.id for o in cloud.objects(k)) for k in ("network", "server", "disk")}


def resized() -> dict[str, Any]:
    doc = stack()
    doc["resources"][2]["specifications"]["size"] = "large"  # worker, in place
    return doc


def shrunk() -> dict[str, Any]:
    doc = stack()
    doc["resources"][3]["specifications"]["size_gb"] = 50  # disk data: a shrink replaces it
    return doc


async def test_apply_carries_out_the_plan_without_reading_again(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    plan = await atlas_.plan(resized(), refresh=True)
    reads = cloud.calls[-6:]
    assert {"list network", "list disk"} <= set(reads)  # the refresh read every kind
    before = len(cloud.calls)
    op = await atlas_.apply(plan)
    assert op.status == "completed", op.error
    made = cloud.calls[before:]
    # Only the worker's update talks to the cloud: nothing is refreshed or planned again.
    assert not {"list network", "list disk"} & set(made), made
    assert [s.resource for s in atlas_.store.steps(op.id)] == ["worker"]
    assert (await atlas_.plan(resized())).empty


async def test_a_spec_is_planned_inside_apply_as_before(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    """The contrast: apply(spec) refreshes (reads every kind) before it changes anything."""
    await atlas_.apply(stack())
    before = len(cloud.calls)
    await atlas_.apply(resized())
    assert {"list network", "list disk"} <= set(cloud.calls[before:])


async def test_another_apply_between_makes_the_plan_stale(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    plan = await atlas_.plan(resized(), refresh=True)
    other = await atlas_.apply(shrunk(), allow_data_loss=True)
    held = ids(cloud)
    with pytest.raises(StalePlanError) as caught:
        await atlas_.apply(plan)
    assert caught.value.changed[0] == f"another operation ran: {other.id} (apply, completed)"
    assert any(
        c.startswith("resource data changed since the plan was made (objects dsk-")
        for c in caught.value.changed
    ), caught.value.changed
    assert "Nothing was changed" in str(caught.value)
    assert ids(cloud) == held
    assert len(atlas_.operations("shop")) == 2  # the refused plan started no operation


async def test_a_resource_a_refresh_found_gone_makes_the_plan_stale(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    plan = await atlas_.plan(resized())
    [disk] = [o for o in cloud.objects("disk") if "dbdata" in o.name]
    cloud.delete_outside("disk", disk.id)
    await atlas_.refresh("shop")
    with pytest.raises(StalePlanError) as caught:
        await atlas_.apply(plan)
    assert caught.value.changed == (
        f"resource dbdata changed since the plan was made "
        f"(status active\u2192deleted, objects {disk.id}\u2192none)",
    )


async def test_a_destroy_between_makes_the_plan_stale(atlas_: AsyncAtlas) -> None:
    await atlas_.apply(stack())
    plan = await atlas_.plan(resized())
    await atlas_.destroy("shop")
    with pytest.raises(StalePlanError, match="infrastructure 'shop' was destroyed since"):
        await atlas_.apply(plan)


async def test_a_first_apply_between_makes_a_plan_of_creates_stale(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    plan = await atlas_.plan(stack())
    await atlas_.apply(stack())
    held = ids(cloud)
    with pytest.raises(StalePlanError, match="infrastructure 'shop' was created since"):
        await atlas_.apply(plan)
    assert ids(cloud) == held  # nothing made twice


async def test_the_spec_of_the_plan_is_checked_against_its_basis(atlas_: AsyncAtlas) -> None:
    plan = await atlas_.plan(stack())
    other = atlas_.validate(resized())
    with pytest.raises(StalePlanError) as caught:
        await atlas_.apply(attrs.evolve(plan, spec=other))
    assert caught.value.changed == ("the spec differs from the one the plan was made from",)


async def test_a_plan_of_another_workspace_or_without_a_basis_is_refused(
    atlas_: AsyncAtlas, store: SQLiteStore, cloud: MemoryCloud, registry: ProviderRegistry
) -> None:
    plan = await atlas_.plan(stack())
    provider = MemoryProvider(cloud, token=TOKEN)
    async with AsyncAtlas(
        store=store, registry=registry, workspace="staging", providers={"memory": provider}
    ) as elsewhere:
        with pytest.raises(StalePlanError, match="made in workspace 'default', not 'staging'"):
            await elsewhere.apply(plan)
    bare = make_plan(atlas_.validate(stack()), [], registry)
    with pytest.raises(StalePlanError, match="records no spec or basis"):
        await atlas_.apply(bare)
    assert cloud.is_empty()


async def test_a_plan_made_offline_applies_and_asks_the_account_once(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    plan = await atlas_.plan(stack())
    assert plan.basis is not None
    assert not plan.basis.read_cloud
    assert cloud.calls == []  # the plan asked the cloud nothing
    op = await atlas_.apply(plan)
    assert op.status == "completed", op.error
    assert len(cloud.objects("server")) == 5


# -- data loss -------------------------------------------------------------------------------


async def test_a_replacement_that_destroys_data_needs_allow_data_loss(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    plan = await atlas_.plan(shrunk(), refresh=True)
    [change] = plan.changes
    assert (change.action, change.resource, change.destroys_data) == ("replace", "data", True)
    assert plan.to_dict()["changes"][0]["destroys_data"] is True
    held = ids(cloud)
    for attempt in (plan, shrunk()):
        with pytest.raises(DataLossError) as caught:
            await atlas_.apply(attempt)
        assert caught.value.resources == ("data",)
        assert "disk data (replace: size_gb shrinks from 100 to 50)" in str(caught.value)
        assert "nothing was changed" in str(caught.value)
    assert ids(cloud) == held
    assert len(atlas_.operations("shop")) == 1
    op = await atlas_.apply(plan, allow_data_loss=True)
    assert op.status == "completed", op.error
    assert ids(cloud)["disk"] != held["disk"]


async def test_deleting_a_stateful_resource_that_left_the_spec_is_data_loss(
    atlas_: AsyncAtlas,
) -> None:
    await atlas_.apply(stack())
    doc = stack()
    del doc["resources"][5]  # dbdata, a disk
    doc["resources"][4]["specifications"]["size"] = "medium"  # db, a server: no data counted
    plan = await atlas_.plan(doc)
    assert {c.resource: c.destroys_data for c in plan.changes} == {"db": False, "dbdata": True}
    with pytest.raises(DataLossError, match=r"disk dbdata \(delete: no longer in the spec\)"):
        await atlas_.apply(plan)


async def test_destroy_is_explicit_and_needs_no_data_loss_flag(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    op = await atlas_.destroy("shop")
    assert op.status == "completed", op.error
    assert cloud.is_empty()


def test_the_sync_atlas_applies_a_plan_too(
    store: SQLiteStore, cloud: MemoryCloud, registry: ProviderRegistry
) -> None:
    provider = MemoryProvider(cloud, token=TOKEN)
    with Atlas(store=store, registry=registry, providers={"memory": provider}) as a:
        plan = a.plan(stack())
        op = a.apply(plan)
        assert op.status == "completed", op.error
        with pytest.raises(StalePlanError, match="'shop' was created since the plan was made"):
            a.apply(plan)
