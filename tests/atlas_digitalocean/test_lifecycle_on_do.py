"""The lifecycle on DigitalOcean, through the emulator on a fake clock: the six kinds applied,
planned again, resized, destroyed, failed and rolled back, drifted (by hand, through DO's API),
resumed and adopted. The same behaviours on the memory provider are the core's own tests
(tests/atlas/lifecycle/test_apply.py); these keep DigitalOcean's side of them covered."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
import yaml

import atlas_digitalocean.plugin
from atlas import BudgetExceededError, DataLossError, LockedError, Money
from atlas.cli.render import render_plan
from atlas.facade import AsyncAtlas
from atlas.http import OTHER_ROUTE, ApiCall, ApiEvent, observe_calls
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, Fault, FaultKind, ManualClock
from atlas_digitalocean.http import ROUTES
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.conftest import EXAMPLES

TOKEN = "dop_v1_" + "ab12" * 16  # made up


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    config = EmulatorConfig(latency_scale=1.0, seed=3, droplet_limit=100)  # a fresh account
    return Emulator(config, clock=clock)


@pytest.fixture
def store() -> SQLiteStore:
    return SQLiteStore(":memory:")


@pytest.fixture
async def atlas_(
    emulator: Emulator, clock: ManualClock, store: SQLiteStore, registry: ProviderRegistry
) -> AsyncIterator[AsyncAtlas]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    provider = DigitalOceanProvider(
        TOKEN,
        transport=emulator.transport(),
        env={},
        settings=OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep),
    )
    async with AsyncAtlas(
        store=store, registry=registry, providers={"digitalocean": provider}
    ) as a:
        yield a


def stack() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLES / "stack.yaml").read_text())
    return doc


async def test_apply_then_plan_again_is_empty(atlas_: AsyncAtlas, emulator: Emulator) -> None:
    progress: list[str] = []
    op = await atlas_.apply(stack(), on_progress=lambda o, _: progress.append(o.current_step or ""))
    assert op.status == "completed", op.error
    # Seven resources, after fra1's own default VPC (a fresh account has none there yet).
    assert op.total_steps == op.completed_steps == 8
    assert atlas_.store.steps(op.id)[0].resource == "default-fra1"
    assert set(op.created_resources) == {"net", "web", "worker", "data", "db", "lb", "fw"}
    view = atlas_.get("shop")
    assert view.infrastructure.status == "active"
    assert view.infrastructure.monthly_cost == Money("149.20").amount
    assert {r.status for r in view.resources} == {"active"}
    assert len(next(r for r in view.resources if r.name == "web").objects) == 3
    assert any(p.startswith("create droplet") for p in progress)
    again = await atlas_.plan(stack())
    assert again.empty
    events = [e.type for e in atlas_.store.events_of("default", op.id)]
    assert events == ["deployment.started", "deployment.completed", "infrastructure.created"]


async def test_resize_is_planned_in_place_with_its_cost(atlas_: AsyncAtlas) -> None:
    await atlas_.apply(stack())
    doc = stack()
    doc["resources"][2]["specifications"]["size"] = "s-4vcpu-8gb"  # worker: 24 -> 48
    plan = await atlas_.plan(doc)
    [change] = plan.changes
    assert (change.action, change.resource) == ("update", "worker")
    assert change.cost_change == Money("24.00")
    assert "specifications.size: 's-2vcpu-4gb' -> 's-4vcpu-8gb'" in change.reason
    assert plan.cost_after - plan.cost_before == Money("24.00")
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    worker = next(r for r in atlas_.get("shop").resources if r.name == "worker")
    assert worker.objects[0].attributes["size"] == "s-4vcpu-8gb"
    assert (await atlas_.plan(doc)).empty


async def test_a_database_and_volume_replaced_say_their_data_is_destroyed(
    atlas_: AsyncAtlas,
) -> None:
    """Issue 11: a database replaced for a new version showed ``(+0.00/mo)`` and not a word
    about its data; now the plan says it, and applying it takes allow_data_loss."""
    assert {k for k, kind in atlas_.registry.kinds("digitalocean").items() if kind.stateful} == {
        "database",
        "volume",
    }
    await atlas_.apply(stack())
    doc = stack()
    doc["resources"][4]["specifications"]["version"] = "17"  # db
    doc["resources"][3]["specifications"]["size_gigabytes"] = 50  # data, a volume: shrinks
    plan = await atlas_.plan(doc)
    assert {c.resource: (c.action, c.destroys_data) for c in plan.changes} == {
        "data": ("replace", True),
        "db": ("replace", True),
    }
    rendered = render_plan(plan)
    assert "-/+ replace database db  (+0.00/mo)  version cannot change in place\n" in rendered
    assert "! destroys data: the database db is deleted and made again empty" in rendered
    assert "Data loss: data, db; atlas apply needs --allow-data-loss" in rendered
    with pytest.raises(DataLossError) as caught:
        await atlas_.apply(plan)
    assert caught.value.resources == ("data", "db")
    op = await atlas_.apply(plan, allow_data_loss=True)
    assert op.status == "completed", op.error


async def test_destroy_leaves_nothing(atlas_: AsyncAtlas, emulator: Emulator) -> None:
    await atlas_.apply(stack())
    op = await atlas_.destroy("shop")
    assert op.status == "completed", op.error
    assert emulator.is_empty()
    assert atlas_.get("shop").infrastructure.status == "destroyed"
    assert atlas_.get("shop").resources == ()


async def test_failure_in_the_fourth_resource_rolls_back_only_what_it_made(
    atlas_: AsyncAtlas, emulator: Emulator
) -> None:
    base = stack()
    base["resources"] = [r for r in base["resources"] if r["name"] in ("net", "worker")]
    first = await atlas_.apply(base)
    assert first.status == "completed"
    before = {r.name: r.objects for r in atlas_.get("shop").resources}
    # Every attempt to create the database fails (more often than create attempts allow).
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, method="POST", path="/v2/databases", times=10))
    op = await atlas_.apply(stack())
    assert op.status == "failed"
    assert op.error is not None
    assert "rolled back" in op.error
    after = {r.name: r.objects for r in atlas_.get("shop").resources}
    assert after == before  # nothing that existed before was touched
    assert not emulator.objects("load_balancers")
    assert not emulator.objects("volumes")
    droplets = {d["name"] for d in emulator.objects("droplets")}
    assert droplets == {"shop-worker"}
    events = [e.type for e in atlas_.store.events_of("default", op.id)]
    assert events == ["deployment.started", "deployment.failed"]
    assert atlas_.get("shop").infrastructure.status == "error"


async def test_over_budget_is_refused_at_plan_time(atlas_: AsyncAtlas, emulator: Emulator) -> None:
    doc = stack()
    doc["budget"] = {"monthly_limit": 100}
    with pytest.raises(BudgetExceededError) as info:
        await atlas_.apply(doc)
    assert "149.20 USD" in str(info.value)
    assert "100.00 USD" in str(info.value)
    assert emulator.is_empty()
    op = await atlas_.apply(doc, allow_over_budget=True)
    assert op.status == "completed"


async def test_a_second_concurrent_apply_is_refused(atlas_: AsyncAtlas, store: SQLiteStore) -> None:
    await atlas_.apply(stack())
    infra = atlas_.get("shop").infrastructure
    store.lock(infra.id, "another-operation")
    doc = copy.deepcopy(stack())
    doc["resources"][2]["specifications"]["size"] = "s-4vcpu-8gb"
    with pytest.raises(LockedError, match="locked by operation another-operation since"):
        await atlas_.apply(doc)


async def test_refresh_reports_drift_and_plan_puts_it_back(
    atlas_: AsyncAtlas, emulator: Emulator
) -> None:
    doc = stack()
    await atlas_.apply(doc)
    resources = {r.name: r for r in atlas_.get("shop").resources}
    worker_id = resources["worker"].objects[0].id
    # Outside atlas: someone deletes the firewall and tags the worker by hand.
    with httpx.Client(
        transport=emulator.transport(),
        base_url="https://api.digitalocean.com",
        headers={"Authorization": "Bearer someone-else"},
    ) as hand:
        hand.delete(f"/v2/firewalls/{resources['fw'].objects[0].id}").raise_for_status()
        hand.post("/v2/tags", json={"name": "oops"}).raise_for_status()
        hand.post(
            "/v2/tags/oops/resources",
            json={"resources": [{"resource_id": worker_id, "resource_type": "droplet"}]},
        ).raise_for_status()
    drift = {d.resource: d for d in await atlas_.refresh("shop")}
    assert set(drift) == {"fw", "worker"}
    assert drift["fw"].kind == "deleted"
    assert drift["worker"].kind == "changed"
    assert "oops" in drift["worker"].details[0]
    plan = await atlas_.plan(doc, refresh=True)
    assert {c.resource: c.action for c in plan.changes} == {"fw": "replace", "worker": "update"}
    op = await atlas_.apply(doc)
    assert op.status == "completed", op.error
    assert (await atlas_.plan(doc, refresh=True)).empty


async def test_resume_takes_over_an_unfinished_operation(
    atlas_: AsyncAtlas, emulator: Emulator, store: SQLiteStore
) -> None:
    op = await atlas_.apply(stack(), timeouts={"database": 1.0})
    assert op.status == "failed"
    assert "resume" in (op.error or "")
    db = next(r for r in atlas_.get("shop").resources if r.name == "db")
    assert db.objects  # the id was kept for the resume
    again = await atlas_.resume(op.id)
    assert again.status == "completed", again.error
    assert len(emulator.objects("databases")) == 1


async def test_fourth_of_six_fails_and_only_this_operations_work_is_undone(
    atlas_: AsyncAtlas, emulator: Emulator
) -> None:
    # Something that existed before: another infrastructure in the same account.
    other = stack()
    other["name"] = "other"
    other["resources"] = [r for r in other["resources"] if r["name"] in ("net", "worker")]
    other["resources"][0]["specifications"]["ip_range"] = "10.30.0.0/20"
    assert (await atlas_.apply(other)).status == "completed"
    before = {k: [o["id"] for o in emulator.objects(k)] for k in ("droplets", "vpcs")}

    six = stack()
    six["resources"] = [r for r in six["resources"] if r["name"] != "data"]
    names = [r["name"] for r in six["resources"]]
    assert names == ["net", "web", "worker", "db", "lb", "fw"]
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, method="POST", path="/v2/databases", times=10))
    op = await atlas_.apply(six)

    steps = atlas_.store.steps(op.id)
    assert [s.resource for s in steps] == names
    assert steps[3].status == "failed", (op.error, [(s.resource, s.status, s.error) for s in steps])
    assert op.status == "failed"
    assert "rolled back what this operation created: " in (op.error or "")
    assert atlas_.get("shop").resources == ()
    after = {k: [o["id"] for o in emulator.objects(k)] for k in ("droplets", "vpcs")}
    assert after == before  # only what existed before is left, untouched
    assert not emulator.objects("databases")
    assert [e.type for e in atlas_.store.events_of("default", op.id)] == [
        "deployment.started",
        "deployment.failed",
    ]


async def test_a_create_applied_but_not_recorded_is_adopted_not_repeated(
    atlas_: AsyncAtlas, emulator: Emulator, store: SQLiteStore
) -> None:
    """The crash window between the provider applying a create and atlas recording its id:
    the intent row (status creating, no ids) must lead to adoption, never a second object."""
    await atlas_.apply(stack())
    infra = atlas_.get("shop").infrastructure
    db = next(r for r in store.list_resources(infra.id) if r.name == "db")
    store.save_resource(attrs.evolve(db, status="creating", objects=()))  # ids never recorded
    drift = await atlas_.refresh("shop")
    assert "db" not in {d.resource for d in drift}  # not mistaken for a deletion
    op = await atlas_.apply(stack())
    assert op.status == "completed", op.error
    assert len(emulator.objects("databases")) == 1
    adopted = next(r for r in atlas_.get("shop").resources if r.name == "db")
    assert adopted.objects[0].id == db.objects[0].id


def test_the_plugin_offers_an_empty_sandbox() -> None:
    pm = get_plugin_manager(plugins=[atlas_digitalocean.plugin], autoload=False)
    sandbox = pm.hook.atlas_sandbox(provider="digitalocean")
    assert sandbox.is_empty()
    assert sandbox.requests() == 0


async def test_every_call_of_a_whole_lifecycle_is_named_by_its_template(
    atlas_: AsyncAtlas,
) -> None:
    """Metrics count DigitalOcean's calls by route template: every path the provider calls
    (six kinds created, one resized, all destroyed) has one, so none is counted as other and
    no id or tag name becomes a label."""
    heard: list[ApiEvent] = []
    with observe_calls(heard.append):
        await atlas_.apply(stack())
        doc = stack()
        doc["resources"][2]["specifications"]["size"] = "s-4vcpu-8gb"
        await atlas_.apply(doc)
        await atlas_.destroy("shop")
    calls = [e for e in heard if isinstance(e, ApiCall)]
    routes = {c.route for c in calls}
    assert OTHER_ROUTE not in routes
    assert routes <= set(ROUTES.templates)
    assert {c.provider for c in calls} == {"digitalocean"}
    creates = {c.route for c in calls if c.method == "POST" and c.status in (201, 202)}
    kinds = ("droplets", "volumes", "databases", "load_balancers", "firewalls", "vpcs")
    assert {f"/v2/{kind}" for kind in kinds} <= creates
    assert "/v2/droplets/{droplet_id}/actions" in routes  # the resize
