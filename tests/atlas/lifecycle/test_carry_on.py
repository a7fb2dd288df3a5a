"""An operation cut short (its process killed, its server replica gone) is carried on in place:
the same operation id, planned again from the journal and the cloud, ends ``completed``, and
nothing is made twice."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from atlas.exceptions import LockedError
from atlas.facade import AsyncAtlas
from atlas.model.records import OperationRecord, StepRecord
from atlas.testing.memory import MemoryCloud
from tests.atlas.lifecycle.conftest import stack


async def _cut_short(atlas_: AsyncAtlas, *, after_done: int) -> OperationRecord:
    """Apply the stack and cancel it once ``after_done`` steps are done, as a crash would
    leave it: ``in_progress``, some steps running."""
    done = asyncio.Event()

    def progress(op: OperationRecord, step: StepRecord | None) -> None:
        if op.completed_steps >= after_done:
            done.set()

    task = asyncio.create_task(atlas_.apply(stack(), on_progress=progress))
    await done.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    infra = atlas_.get("shop").infrastructure
    [op] = atlas_.store.list_operations(atlas_.workspace, infra.id)
    assert op.status == "in_progress"
    return op


async def test_an_operation_cut_short_is_carried_on_in_place(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    cut = await _cut_short(atlas_, after_done=2)
    before = atlas_.store.steps(cut.id)
    assert any(s.status in ("running", "pending") for s in before)

    again = await atlas_.resume(cut.id)

    assert (again.id, again.status) == (cut.id, "completed"), again.error
    assert again.completed_steps == again.total_steps
    assert len(cloud.objects("server")) == 5  # 3 web, worker, db: none made twice
    assert len(cloud.objects("disk")) == 2
    steps = atlas_.store.steps(cut.id)
    # Every resource is done exactly once; what was running when the process stopped says so.
    done = sorted(s.resource for s in steps if s.status == "done")
    assert done == sorted(["net", "web", "worker", "data", "db", "dbdata"])
    for s in steps:
        assert s.status in ("done", "failed"), s
        if s.status == "failed":
            assert (s.error or "").startswith("interrupted: the process running this step")
    # One story: started once, completed once.
    types = [e.type for e in atlas_.store.events_of(atlas_.workspace, cut.id)]
    assert types == ["deployment.started", "deployment.completed", "infrastructure.created"]
    assert (await atlas_.plan(stack(), refresh=True)).empty
    assert atlas_.get("shop").infrastructure.status == "active"


async def test_an_operation_whose_holder_is_alive_is_not_carried_on(atlas_: AsyncAtlas) -> None:
    cut = await _cut_short(atlas_, after_done=1)
    atlas_.store.lock(cut.infrastructure_id, "op-elsewhere")  # another live holder took it
    with pytest.raises(LockedError, match="op-elsewhere"):
        await atlas_.resume(cut.id)
    assert atlas_.operation(cut.id).status == "in_progress"


async def test_a_failed_operation_is_finished_by_a_new_one(
    atlas_: AsyncAtlas, cloud: MemoryCloud
) -> None:
    op = await atlas_.apply(stack(), timeouts={"disk": 1.0})  # disks take 3 s here
    assert op.status == "failed"
    again = await atlas_.resume(op.id)
    assert again.id != op.id
    assert again.status == "completed", again.error
    assert atlas_.operation(op.id).status == "failed"  # its story is kept as it ended
    assert len(cloud.objects("disk")) == 2
