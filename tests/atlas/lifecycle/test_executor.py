"""The dependency-driven executor on the memory cloud (fake clock): each step starts when its
own dependencies are done and is journaled done when its own resource is ready, whatever
unrelated step is still under way; what ``on_progress`` is shown; the stop hook."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from atlas.facade import AsyncAtlas
from atlas.model.records import OperationRecord, StepRecord
from atlas.store import SQLiteStore
from atlas.testing.memory import Latencies, ManualClock, MemoryCloud
from tests.atlas.lifecycle.conftest import TOKEN, squat
from tests.atlas.lifecycle.test_apply import SHOP, ids

#: net <- web <- data (a disk on web); archive, a disk on nothing, far slower than the rest.
GRAPH: dict[str, Any] = {
    "name": "shop",
    "provider": "memory",
    "region": "mem-1",
    "resources": [
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.20.0.0/20"}},
        {"type": "disk", "name": "archive", "specifications": {"size_gb": 500}},
        {
            "type": "server",
            "name": "web",
            "specifications": {"size": "small", "image": "debian-12", "network": "net"},
        },
        {"type": "disk", "name": "data", "specifications": {"size_gb": 10, "attach_to": "web"}},
    ],
}
#: Disks take 60 s: the archive is still being made long after web and data could be done.
SLOW_DISKS = Latencies(create={"network": 1.0, "server": 2.0, "disk": 60.0})


@attrs.frozen
class Seen:
    """One progress call: the step as shown, and every step's status at that moment."""

    step: StepRecord
    statuses: Mapping[str, str]


@pytest.fixture
def cloud(clock: ManualClock) -> MemoryCloud:
    return MemoryCloud(clock=clock, tokens=[TOKEN], latencies=SLOW_DISKS)


def watcher(store: SQLiteStore, seen: list[Seen]) -> Any:
    def watch(op: OperationRecord, step: StepRecord | None) -> None:
        assert step is not None
        statuses = {s.resource: s.status for s in store.steps(op.id)}
        seen.append(Seen(step, statuses))

    return watch


def at(seen: list[Seen], resource: str, status: str) -> Seen:
    [found] = [s for s in seen if s.step.resource == resource and s.step.status == status]
    return found


async def test_a_step_starts_and_ends_with_its_own_dependencies_not_a_wave(
    atlas_: AsyncAtlas, store: SQLiteStore
) -> None:
    seen: list[Seen] = []
    op = await atlas_.apply(GRAPH, on_progress=watcher(store, seen))
    assert op.status == "completed", op.error
    # web needs only net: it starts, and is done, while the unrelated archive is being made
    # (in waves it would have waited for the archive, which is in the first wave with net).
    assert at(seen, "web", "running").statuses["archive"] == "running"
    assert at(seen, "web", "done").statuses["archive"] == "running"
    # data needs only web: it starts while the archive is still under way.
    assert at(seen, "data", "running").statuses["archive"] == "running"


async def test_on_progress_gets_the_step_as_the_journal_has_it(
    atlas_: AsyncAtlas, store: SQLiteStore
) -> None:
    seen: list[Seen] = []
    op = await atlas_.apply(GRAPH, on_progress=watcher(store, seen))
    assert op.status == "completed", op.error
    recorded = {r.name: [o.id for o in r.objects] for r in atlas_.get("shop").resources}
    # One call as each step starts and one as it ends, each with the step's current record.
    assert sorted((s.step.resource, s.step.status) for s in seen) == sorted(
        (name, status) for name in recorded for status in ("running", "done")
    )
    for s in seen:
        assert s.step.status == s.statuses[s.step.resource]
        assert s.step.started_at is not None
        if s.step.status == "done":
            assert list(s.step.provider_ids) == recorded[s.step.resource]
            assert s.step.finished_at is not None


async def test_a_failure_mid_graph_rolls_back_once_the_steps_under_way_end(
    atlas_: AsyncAtlas, cloud: MemoryCloud, store: SQLiteStore
) -> None:
    await squat(cloud, SHOP, "data")  # every create of the disk "data" is refused
    before = ids(cloud)
    op = await atlas_.apply(GRAPH)
    assert op.status == "failed"
    steps = {s.resource: s for s in store.steps(op.id)}
    assert steps["data"].status == "failed"
    assert "a disk called 'shop-data-" in (steps["data"].error or "")
    # The archive was under way when data failed: it was made, journaled, then undone.
    assert {n: s.status for n, s in steps.items()} == {
        "net": "rolled_back",
        "archive": "rolled_back",
        "web": "rolled_back",
        "data": "failed",
    }
    assert "rolled back what this operation created: " in (op.error or "")
    assert atlas_.get("shop").resources == ()
    assert ids(cloud) == before  # only the squatter is left


@pytest.mark.parametrize(
    ("moment", "left", "made"),
    [
        # The moment web is done: data (waiting for web) never starts; the archive, under
        # way, ends and is journaled.
        (("web", "done"), {"data"}, {"network": 1, "server": 1, "disk": 1}),
        # As net starts: net ends and is journaled; the archive, ready with it but not yet
        # begun, never starts, nor does what waits for net.
        (("net", "running"), {"archive", "web", "data"}, {"network": 1, "server": 0, "disk": 0}),
    ],
)
async def test_a_stop_starts_nothing_new_and_rolls_nothing_back(
    atlas_: AsyncAtlas,
    cloud: MemoryCloud,
    store: SQLiteStore,
    moment: tuple[str, str],
    left: set[str],
    made: dict[str, int],
) -> None:
    stop = asyncio.Event()

    def stop_then(op: OperationRecord, step: StepRecord | None) -> None:
        if step is not None and (step.resource, step.status) == moment:
            stop.set()

    op = await atlas_.apply(GRAPH, stop=stop, on_progress=stop_then)

    assert op.status == "failed"
    n = len(left)
    assert op.error == (
        f"interrupted: {n} step{'s' * (n != 1)} not started (atlas apply again to resume)"
    )
    steps = {s.resource: s.status for s in store.steps(op.id)}
    assert {name for name, status in steps.items() if status == "pending"} == left
    assert set(steps.values()) <= {"pending", "done"}  # nothing rolled back, none half-done
    assert {k: len(v) for k, v in ids(cloud).items()} == made
    recorded = {r.name for r in atlas_.get("shop").resources}
    assert recorded == set(steps) - left

    again = await atlas_.apply(GRAPH)  # resumes: what was made is kept, the rest is made
    assert again.status == "completed", again.error
    assert {k: len(v) for k, v in ids(cloud).items()} == {"network": 1, "server": 1, "disk": 2}
    assert [s.resource for s in store.steps(again.id)] == sorted(left, key=list(steps).index)
