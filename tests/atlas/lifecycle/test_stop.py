"""Stopping an operation (the first Ctrl-C) and what ``on_progress`` is told: no new step starts
once ``stop`` is set, what is under way finishes and is recorded, nothing is rolled back, and
applying again finishes the job with every object made once. The callback sees each step as it
now is: running, then done with its ids, or failed with its error."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from atlas.exceptions import OperationInterruptedError
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner
from atlas.model.records import OperationRecord, StepRecord
from atlas.testing.memory import MemoryCloud
from tests.atlas.lifecycle.conftest import squat, stack

SHOP = Owner("default", "shop")


def census(cloud: MemoryCloud) -> Counter[str]:
    return Counter(
        f"{kind}/{o.name}" for kind in ("network", "server", "disk") for o in cloud.objects(kind)
    )


async def test_stop_before_the_operation_starts_records_nothing(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    """Set while apply still plans (a Ctrl-C during the refresh): no operation, no
    infrastructure, nothing to resume."""
    stop = asyncio.Event()
    stop.set()
    with pytest.raises(OperationInterruptedError, match="before the apply of shop started"):
        await atlas_.apply(stack(), stop=stop)
    assert cloud.is_empty()
    assert atlas_.store.list_infrastructures("default") == []
    assert atlas_.store.unfinished_operations() == []
    again = await atlas_.apply(stack())
    assert again.status == "completed", again.error


async def test_stop_before_a_destroy_starts_leaves_the_infrastructure_as_it_was(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    made = await atlas_.apply(stack())
    before = atlas_.get("shop")
    stop = asyncio.Event()
    stop.set()
    with pytest.raises(OperationInterruptedError, match="before the destroy of shop started"):
        await atlas_.destroy("shop", stop=stop)
    after = atlas_.get("shop")
    assert after.infrastructure.status == before.infrastructure.status == "active"
    assert [r.status for r in after.resources] == [r.status for r in before.resources]
    assert atlas_.operations("shop")[0].id == made.id
    assert not cloud.is_empty()


async def test_what_is_under_way_finishes_and_the_rest_waits(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    stop = asyncio.Event()

    def interrupt_when_web_starts(op: OperationRecord, step: StepRecord | None) -> None:
        if step is not None and step.resource == "web" and step.status == "running":
            stop.set()

    op = await atlas_.apply(stack(), on_progress=interrupt_when_web_starts, stop=stop)
    assert op.status == "failed"
    assert op.error is not None
    assert op.error.startswith("interrupted: 4 steps not started")
    steps = {s.resource: s.status for s in atlas_.store.steps(op.id)}
    # web was under way: it finished and is recorded; its wave-mates never began.
    assert steps == {
        "net": "done",
        "web": "done",
        "worker": "pending",
        "db": "pending",
        "data": "pending",
        "dbdata": "pending",
    }
    assert {r.name: r.status for r in atlas_.get("shop").resources} == {
        "net": "active",
        "web": "active",
    }
    assert len(cloud.objects("server")) == 3  # nothing rolled back

    again = await atlas_.apply(stack())
    assert again.status == "completed", again.error
    made = census(cloud)
    assert sum(made.values()) == 8  # 1 network, 5 servers, 2 disks
    assert set(made.values()) == {1}


async def test_a_stopped_destroy_says_to_destroy_again(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await atlas_.apply(stack())
    stop = asyncio.Event()

    def interrupt_at_once(op: OperationRecord, step: StepRecord | None) -> None:
        stop.set()

    op = await atlas_.destroy("shop", on_progress=interrupt_at_once, stop=stop)
    assert op.status == "failed"
    assert op.error == "interrupted: 5 steps not started (atlas destroy again to finish)"
    assert (await atlas_.destroy("shop")).status == "completed"
    assert cloud.is_empty()


async def test_on_progress_sees_each_step_as_it_now_is(atlas_: AsyncAtlas) -> None:
    seen: list[tuple[str, str, tuple[str, ...]]] = []

    def record(op: OperationRecord, step: StepRecord | None) -> None:
        assert step is not None
        seen.append((step.resource, step.status, step.provider_ids))

    op = await atlas_.apply(stack(), on_progress=record)
    assert op.status == "completed"
    web = [(status, ids) for name, status, ids in seen if name == "web"]
    assert [status for status, _ in web] == ["running", "done"]
    assert len(web[1][1]) == 3  # done, with the three servers' ids


async def test_failed_and_rolled_back_steps_are_reported(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    await squat(cloud, SHOP, "data")  # every create of the disk "data" is refused
    seen: list[tuple[str, str]] = []

    def record(op: OperationRecord, step: StepRecord | None) -> None:
        assert step is not None
        seen.append((step.resource, step.status))
        if step.status == "failed":
            assert step.error

    op = await atlas_.apply(stack(), on_progress=record)
    assert op.status == "failed"
    assert ("data", "failed") in seen
    assert ("web", "rolled_back") in seen


async def test_a_first_apply_cut_short_plans_no_retag_of_what_it_made(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    """The infrastructure records no applied spec until an apply finishes; what the cut-short
    one made carries its tags, so planning again changes only what is still to make."""
    doc = {**stack(), "tags": {"env": "staging"}}
    stop = asyncio.Event()

    def interrupt_when_web_starts(op: OperationRecord, step: StepRecord | None) -> None:
        if step is not None and step.resource == "web" and step.status == "running":
            stop.set()

    op = await atlas_.apply(doc, on_progress=interrupt_when_web_starts, stop=stop)
    assert op.status == "failed"
    made = {s.resource for s in atlas_.store.steps(op.id) if s.status == "done"}
    assert made
    plan = await atlas_.plan(doc)
    assert {c.resource for c in plan.changes} & made == set(), plan.changes
    assert {c.action for c in plan.changes} == {"create"}
