"""Placement in the plan: a ``provider: any`` spec is placed, shown, recorded with the
infrastructure, and kept where it lives on later plans unless ``replace_placement``.

The memory provider (a live side on an in-process cloud) with a toy translator
(:mod:`tests.atlas.portable.memory_toy`) that offers ``small`` servers in ``mem-2`` only, and
``alpha`` (a toy cloud, estimate-only) as the other provider to compare with.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from atlas.cli.render import render_plan, render_view
from atlas.exceptions import SpecValidationError
from atlas.facade import AsyncAtlas
from atlas.lifecycle.planfile import load_plan, plan_document
from atlas.portable.contract import Region
from atlas.spec.dump import dump_spec
from atlas.spec.validate import validate_spec
from atlas.store import PostgresStore, SQLiteStore
from atlas.store.backup import export_document, snapshot_from
from atlas.store.base import StateStore
from atlas.store.schema import SCHEMA_VERSION
from atlas.testing.memory import ManualClock, make_sandbox
from atlas.testing.memory.cloud import MemoryCloud
from atlas.wire import infrastructure_json, plan_json
from tests.atlas.portable.memory_toy import MemoryTranslator, memory_registry
from tests.atlas.portable.toy import Cloud, ToyClouds

#: alpha: a small VM at 9.00 (a-us1) or 10.00 (a-eu1) a month; memory's small is 7.30.
ALPHA = Cloud(
    "alpha",
    (Region("a-eu1", "eu"), Region("a-us1", "us")),
    {"a-eu1": Decimal(1), "a-us1": Decimal("0.9")},
)
#: alpha once cheaper than memory: a small VM at 5.00.
CHEAP_ALPHA = Cloud("alpha", ALPHA.regions, {"a-eu1": Decimal("0.5"), "a-us1": Decimal("0.6")})


def spec(*providers: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "web",
        "provider": "any",
        "placement": {"providers": list(providers or ("memory", "alpha"))},
        "resources": [
            {
                "type": "server",
                "name": "app",
                "specifications": {"vcpus": 1, "memory_gb": 2, "image": "debian-12"},
            },
            {"type": "volume", "name": "data", "specifications": {"size_gb": 10}},
        ],
        "tags": {"env": "test"},
    }
    doc.update(changes)
    return doc


class World:
    """One store and one memory cloud; atlases over them with whatever registry a test is at
    (prices and offerings change between plans, as a cloud's do)."""

    def __init__(self, store: StateStore | None = None) -> None:
        self.store = store or SQLiteStore(":memory:")
        self.memory = MemoryCloud(clock=ManualClock())
        self.sandbox = make_sandbox(self.memory)
        self.translator = MemoryTranslator()
        self.alpha = ALPHA

    def atlas(self) -> AsyncAtlas:
        registry = memory_registry(self.translator, ToyClouds(clouds=(self.alpha,), live=True))
        return AsyncAtlas(
            store=self.store, registry=registry, providers={"memory": self.sandbox.provider}
        )

    def cloud(self) -> MemoryCloud:
        return self.memory


@pytest.fixture
def world() -> World:
    return World()


async def applied(world: World, doc: dict[str, Any]) -> AsyncAtlas:
    atlas = world.atlas()
    op = await atlas.apply(doc)
    assert op.status == "completed", op.error
    return atlas


# -- the first plan: placed and shown ------------------------------------------------------


async def test_the_plan_places_the_spec_and_shows_the_runner_up(world: World) -> None:
    plan = await world.atlas().plan(spec())
    decision = plan.placement
    assert decision is not None
    assert (decision.provider, decision.region, decision.monthly) == (
        "memory",
        "mem-2",
        Decimal("8.30"),  # small 7.30 + 10 GB at 0.10
    )
    assert decision.runner_up is not None
    assert (decision.runner_up.provider, decision.runner_up.region) == ("alpha", "a-us1")
    assert decision.runner_up.difference == Decimal("9.90") - Decimal("8.30")  # 9.00 + 0.90
    assert not decision.kept
    assert decision.decided_at is not None
    assert plan.spec is not None
    assert (plan.spec.provider, plan.spec.region) == ("memory", "mem-2")
    text = render_plan(plan)
    assert (
        "placement: memory mem-2, 8.30 USD a month (runner-up alpha a-us1, +1.60 USD): "
        "the cheapest of 4 placements that meet every constraint" in text
    )
    placement = plan_json(plan)["placement"]
    assert placement["provider"] == "memory"
    assert placement["runner_up"] == {
        "provider": "alpha",
        "region": "a-us1",
        "monthly_cost": 9.9,
        "difference": 1.6,
    }
    assert placement["kept"] is False
    assert placement["moved_from"] is None
    assert placement["decided_at"].endswith("Z")


async def test_a_native_spec_has_no_placement(world: World) -> None:
    native = {
        "name": "plain",
        "provider": "memory",
        "region": "mem-1",
        "resources": [
            {"type": "server", "name": "a", "specifications": {"size": "small", "image": "x"}}
        ],
    }
    plan = await world.atlas().plan(native)
    assert plan.placement is None
    assert plan_json(plan)["placement"] is None
    assert "placement" not in render_plan(plan)


# -- recorded with the infrastructure ------------------------------------------------------


async def test_apply_records_the_decision_with_the_infrastructure(world: World) -> None:
    atlas = await applied(world, spec())
    view = atlas.get("web")
    infra = view.infrastructure
    assert (infra.provider, infra.region) == ("memory", "mem-2")
    placed = infra.spec["placed"]
    assert placed["provider"] == "memory"
    assert placed["region"] == "mem-2"
    assert placed["monthly_cost"] == "8.30"
    runner = placed["runner_up"]
    assert (runner["provider"], runner["region"]) == ("alpha", "a-us1")
    assert Decimal(runner["monthly_cost"]) == Decimal("9.90")  # (exact: amounts as text)
    assert Decimal(runner["difference"]) == Decimal("1.60")
    assert placed["reason"].startswith("the cheapest of 4 placements")
    assert [c["offering"] for c in placed["choices"]] == ["small", "disk"]
    when = dt.datetime.fromisoformat(placed["decided_at"])
    assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(minutes=5)
    # The resources were made where it was placed.
    assert {o.attributes["region"] for o in world.cloud().objects("server")} == {"mem-2"}
    # Visible in `atlas status` and GET /api/v1/infrastructure/{id}.
    assert "placement: memory mem-2, decided " in render_view(view)
    shown = infrastructure_json(view)["placement"]
    assert shown is not None
    assert (shown["provider"], shown["region"], shown["monthly_cost"]) == ("memory", "mem-2", 8.3)
    assert shown["runner_up"]["difference"] == 1.6


async def test_the_recorded_spec_validates_again_with_its_decision(world: World) -> None:
    atlas = await applied(world, spec())
    recorded = dict(atlas.get("web").infrastructure.spec)
    again = validate_spec(recorded, registry=atlas.registry)
    assert again.placement is not None
    assert (again.placement.provider, again.placement.region) == ("memory", "mem-2")
    assert dump_spec(again) == recorded  # the same document, round and round
    assert await atlas.refresh("web") == []  # refresh validates infra.spec
    assert await atlas.reconcile("web") == []


async def test_the_decision_survives_a_backup(world: World) -> None:
    atlas = await applied(world, spec())
    document = export_document(world.store.snapshot(), schema_version=SCHEMA_VERSION)
    fresh = SQLiteStore(":memory:")
    fresh.restore(snapshot_from(document))
    restored = fresh.get_infrastructure("default", "web")
    assert restored is not None
    assert restored.spec["placed"] == atlas.get("web").infrastructure.spec["placed"]


async def test_restored_into_postgresql_it_is_kept_where_it_was(
    world: World, postgres_url: str
) -> None:
    atlas = await applied(world, spec())
    document = export_document(world.store.snapshot(), schema_version=SCHEMA_VERSION)
    with PostgresStore(postgres_url) as pg:
        pg.restore(snapshot_from(document))
        moved = World(pg)
        moved.sandbox, moved.memory = world.sandbox, world.memory  # the same cloud
        moved.alpha = CHEAP_ALPHA  # cheaper elsewhere now
        restored = moved.atlas()
        recorded = restored.get("web").infrastructure.spec["placed"]
        assert recorded == atlas.get("web").infrastructure.spec["placed"]
        plan = await restored.plan(spec())
        assert plan.empty
        assert plan.placement is not None
        assert (plan.placement.region, plan.placement.kept) == ("mem-2", True)
        await restored.aclose()  # (its share of the store's rate budget)


# -- kept on later plans ---------------------------------------------------------------------


async def test_a_second_plan_shows_no_changes_and_keeps_the_placement(world: World) -> None:
    atlas = await applied(world, spec())
    first = atlas.get("web").infrastructure.spec["placed"]["decided_at"]
    again = await world.atlas().plan(spec())
    assert again.empty, again.changes
    assert again.placement is not None
    assert again.placement.kept
    assert again.placement.decided_at == dt.datetime.fromisoformat(first)
    text = render_plan(again)
    assert text.startswith("No changes: 'web' matches its spec.\n")
    assert "placement kept: memory mem-2, 8.30 USD a month (runner-up alpha a-us1, +1.60 USD;" in (
        text
    )


async def test_a_cheaper_region_is_not_taken_by_surprise(world: World) -> None:
    await applied(world, spec())
    # mem-1 now offers small servers, and mem-2 no longer does.
    world.translator.offered = {"mem-1": ("small",), "mem-2": ("medium",)}
    plan = await world.atlas().plan(spec())
    decision = plan.placement
    assert decision is not None
    assert (decision.provider, decision.region, decision.kept) == ("memory", "mem-2", True)
    assert plan.spec is not None
    assert plan.spec.region == "mem-2"
    assert [(c.action, c.resource) for c in plan.changes] == [("update", "app")]  # resized
    assert "is now cheaper" in decision.reason
    assert (
        "placement kept: memory mem-2, 15.60 USD a month (now runner-up memory mem-1 is "
        "cheaper by 7.30 USD; --replace-placement to move)"
    ) in render_plan(plan)


async def test_a_cheaper_provider_is_not_taken_by_surprise(world: World) -> None:
    await applied(world, spec())
    world.alpha = CHEAP_ALPHA
    plan = await world.atlas().plan(spec())
    assert plan.empty
    decision = plan.placement
    assert decision is not None
    assert (decision.provider, decision.region, decision.kept) == ("memory", "mem-2", True)
    assert decision.runner_up is not None
    assert (decision.runner_up.provider, decision.runner_up.difference) == (
        "alpha",
        Decimal("5.50") - Decimal("8.30"),  # 5.00 + 10 GB at 0.05
    )
    assert "now runner-up alpha a-eu1 is cheaper by 2.80 USD" in render_plan(plan)


# -- re-placing ------------------------------------------------------------------------------


async def test_replace_placement_moves_to_another_region_of_the_provider(world: World) -> None:
    await applied(world, spec())
    world.translator.offered = {"mem-1": ("small",), "mem-2": ("medium",)}
    atlas = world.atlas()
    plan = await atlas.plan(spec(), replace_placement=True)
    assert plan.placement is not None
    assert (plan.placement.provider, plan.placement.region) == ("memory", "mem-1")
    assert not plan.placement.kept
    assert plan.placement_from == ("memory", "mem-2")
    assert {(c.action, c.reason) for c in plan.changes} == {
        ("replace", "region changes from mem-2 to mem-1")
    }
    assert "placement moves: memory mem-2 -> memory mem-1, 8.30 USD a month" in render_plan(plan)
    assert plan_json(plan)["placement"]["moved_from"] == {"provider": "memory", "region": "mem-2"}
    # The plan file keeps where it moves from, and the decision (in its spec).
    loaded = load_plan(plan_document(plan), registry=atlas.registry)
    assert loaded.placement_from == ("memory", "mem-2")
    assert loaded.placement is not None
    assert loaded.placement.region == "mem-1"
    op = await atlas.apply(plan, allow_data_loss=True)  # (the volume is replaced, empty)
    assert op.status == "completed", op.error
    infra = atlas.get("web").infrastructure
    assert (infra.region, infra.spec["placed"]["region"]) == ("mem-1", "mem-1")
    assert {o.attributes["region"] for o in world.cloud().objects("server")} == {"mem-1"}
    # ...and it stays there: the next plan keeps mem-1.
    again = await world.atlas().plan(spec())
    assert again.empty
    assert again.placement is not None
    assert (again.placement.region, again.placement.kept) == ("mem-1", True)


async def test_a_spec_validated_elsewhere_does_not_move_it_unasked(world: World) -> None:
    atlas = await applied(world, spec())
    world.translator.offered = {"mem-1": ("small",), "mem-2": ("medium",)}
    unpinned = validate_spec(spec(), registry=world.atlas().registry)  # no pin: mem-1
    with pytest.raises(SpecValidationError) as caught:
        await atlas.plan(unpinned)
    (problem,) = caught.value.problems
    assert problem.path == "placement"
    assert "replace_placement" in problem.message
    assert "lives in mem-2" in problem.message


async def test_replace_placement_refuses_to_move_to_another_provider(world: World) -> None:
    await applied(world, spec())
    world.alpha = CHEAP_ALPHA
    with pytest.raises(SpecValidationError) as caught:
        await world.atlas().plan(spec(), replace_placement=True)
    (problem,) = caught.value.problems
    assert problem.path == "placement"
    assert "chose alpha a-eu1, but it lives on memory (mem-2)" in problem.message
    assert "one infrastructure lives on one provider" in problem.message
    assert "destroy it (atlas destroy web" in problem.message
    assert "then apply the spec again" in problem.message
    with pytest.raises(SpecValidationError):
        await world.atlas().apply(spec(), replace_placement=True)
    assert world.cloud().objects("server")  # nothing was touched


async def test_a_pin_the_constraints_no_longer_allow_is_a_problem_at_placement(
    world: World,
) -> None:
    await applied(world, spec())
    with pytest.raises(SpecValidationError) as caught:
        await world.atlas().plan(spec("alpha"))
    (problem,) = caught.value.problems
    assert problem.path == "placement"
    assert "the recorded placement memory/mem-2 no longer fits" in problem.message
    assert "replace-placement" in problem.message


async def test_once_destroyed_it_is_placed_afresh(world: World) -> None:
    atlas = await applied(world, spec())
    await atlas.destroy("web")
    world.alpha = CHEAP_ALPHA
    placed = world.atlas().validate(spec())  # (alpha has no live side: not planned)
    assert placed.placement is not None
    assert (placed.placement.provider, placed.placement.kept) == ("alpha", False)


# -- what a spec may say -------------------------------------------------------------------


def test_a_spec_to_place_may_not_carry_a_recorded_decision() -> None:
    registry = memory_registry(MemoryTranslator())
    with pytest.raises(SpecValidationError) as caught:
        validate_spec({**spec("memory"), "placed": {}}, registry=registry)
    assert [p.path for p in caught.value.problems] == ["placed"]


def test_a_recorded_decision_must_name_the_spec_s_provider_and_region() -> None:
    registry = memory_registry(MemoryTranslator())
    placed = validate_spec(spec("memory"), registry=registry)
    assert placed.placement is not None
    doc = dump_spec(placed)
    doc["region"] = "mem-1"
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(doc, registry=registry)
    (problem,) = caught.value.problems
    assert problem.path == "placed"
    assert "records a placement in memory mem-2, but the spec is for memory mem-1" in (
        problem.message
    )
    doc = dump_spec(placed)
    doc["placed"]["monthly_cost"] = 8.3
    doc["placed"]["extra"] = True
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(doc, registry=registry)
    assert sorted(p.path for p in caught.value.problems) == [
        "placed.extra",
        "placed.monthly_cost",
    ]


# -- providers that can only estimate ------------------------------------------------------


async def test_a_plan_never_places_on_a_provider_that_can_only_estimate() -> None:
    """alpha is cheaper but has no live side: the plan places on memory; an estimate's
    comparison still ranks alpha first; alpha alone cannot be planned, and says why."""
    from atlas.portable.resolve import compare

    registry = memory_registry(MemoryTranslator(), ToyClouds(clouds=(CHEAP_ALPHA,)))
    compared = compare(spec(), registry=registry)
    assert compared.candidates[0].provider == "alpha"
    world = World()
    atlas = AsyncAtlas(
        store=world.store, registry=registry, providers={"memory": world.sandbox.provider}
    )
    plan = await atlas.plan(spec())
    assert plan.placement is not None
    assert plan.placement.provider == "memory"
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(spec("alpha"), registry=registry)
    [problem] = caught.value.problems
    assert problem.path == "placement"
    assert (
        "alpha: estimate only: provisioning on Alpha Cloud (provider 'alpha') is not available "
        "yet: its plugin can estimate and validate, not create resources"
    ) in problem.message
    assert validate_spec(spec("alpha"), registry=registry, purpose="estimate").provider == "alpha"
