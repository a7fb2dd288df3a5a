"""The planner's imports: adopt what exists (no create), compare only what was read back,
refuse what would need a replacement, release an imported resource that leaves the spec."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from atlas import Money
from atlas.exceptions import SpecValidationError
from atlas.lifecycle.plan import make_plan
from atlas.model.cloud import CloudObject
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.contract import FoundResource
from atlas.spec.validate import validate_spec
from atlas.testing import memory
from tests.atlas.lifecycle.lab import REGISTRY
from tests.atlas.lifecycle.test_plan import record, res, spec


def importing(s: InfrastructureSpec, name: str, *ids: str) -> InfrastructureSpec:
    """``s`` with resource ``name`` importing ``ids`` (the lab's kinds are not importable, so
    validation would refuse it; the planner does not ask)."""
    resources = tuple(attrs.evolve(r, import_ids=ids) if r.name == name else r for r in s.resources)
    return attrs.evolve(s, resources=resources)


def found(type: str, name: str, region: str = "r1", **specifications: Any) -> FoundResource:
    return FoundResource(
        type, name, region, (CloudObject(f"id-{name}", name, "active"),), specifications
    )


def test_an_import_creates_nothing_and_carries_its_cost() -> None:
    s = importing(spec(res("box", "b", size="small")), "b", "id-b")
    read = found("box", "b", size="small", image="base", zone="z1", network=None, peers=[])
    plan = make_plan(s, [], REGISTRY, imports={"b": read})
    [change] = plan.changes
    assert (change.action, change.fields, change.needs_replacement) == ("import", (), None)
    assert change.import_ids == ("id-b",)
    assert "already billed at the provider" in change.reason
    assert change.monthly_after is not None
    assert change.cost_change == change.monthly_after
    assert plan.imports == {"b": read}
    plan.check_imports()  # nothing to refuse
    assert plan.to_dict()["changes"][0]["import_ids"] == ["id-b"]


def test_a_field_the_spec_leaves_unset_keeps_what_exists() -> None:
    # The box sits in a network; the spec does not say: no replacement, nothing to change.
    s = importing(spec(res("box", "b", size="small")), "b", "id-b")
    plan = make_plan(s, [], REGISTRY, imports={"b": found("box", "b", size="small", network="lan")})
    [change] = plan.changes
    assert (change.fields, change.needs_replacement) == ((), None)


def test_only_what_was_read_back_is_compared() -> None:
    s = importing(spec(res("box", "b", size="large", image="custom")), "b", "id-b")
    # The cloud told the size only: the image (fixed at creation) is not known to differ.
    plan = make_plan(s, [], REGISTRY, imports={"b": found("box", "b", size="small")})
    [change] = plan.changes
    assert [str(f) for f in change.fields] == ["specifications.size: 'small' -> 'large'"]
    assert change.needs_replacement is None
    assert "then specifications.size" in change.reason


def test_create_only_fields_are_never_compared() -> None:
    registry = memory.registry()
    doc = {
        "name": "m",
        "provider": "memory",
        "region": "mem-1",
        "resources": [
            {
                "type": "server",
                "name": "web",
                "specifications": {"size": "small", "image": "debian-12"},
                "import": "srv-1",
            }
        ],
    }
    s = validate_spec(doc, registry=registry)
    read = found("server", "web", "mem-1", size="small", image="ubuntu", count=1, network=None)
    [change] = make_plan(s, [], registry, imports={"web": read}).changes
    assert (change.fields, change.needs_replacement) == ((), None)


def test_a_difference_that_cannot_change_in_place_is_refused_not_replaced() -> None:
    s = importing(spec(res("net", "n", cidr="10.0.0.0/16"), res("box", "b", size="s")), "n", "x")
    plan = make_plan(s, [], REGISTRY, imports={"n": found("net", "n", cidr="10.9.0.0/16")})
    change = plan.change("n")
    assert change is not None
    assert change.action == "import"
    assert change.needs_replacement_at == "resources[0].specifications.cidr"
    assert change.needs_replacement is not None
    assert "the imported net id-n has cidr '10.9.0.0/16'" in change.needs_replacement
    assert "drop import" in change.needs_replacement
    with pytest.raises(SpecValidationError) as info:
        plan.check_imports()
    assert [p.path for p in info.value.problems] == ["resources[0].specifications.cidr"]
    assert plan.to_dict()["changes"][0]["needs_replacement"] == change.needs_replacement


def test_a_replace_if_reason_is_refused_too() -> None:
    s = importing(spec(res("vol", "v", gib=10)), "v", "id-v")
    plan = make_plan(s, [], REGISTRY, imports={"v": found("vol", "v", gib=50)})
    [change] = plan.changes
    assert change.needs_replacement is not None
    assert change.needs_replacement_at == "resources[0].specifications"


def test_another_region_is_refused() -> None:
    s = importing(spec(res("vol", "v", gib=10)), "v", "id-v")
    plan = make_plan(s, [], REGISTRY, imports={"v": found("vol", "v", region="r2", gib=10)})
    [change] = plan.changes
    assert change.needs_replacement_at == "region"
    assert change.needs_replacement is not None
    assert "is in r2, the spec says r1" in change.needs_replacement


def test_an_imported_resource_leaving_the_spec_is_released() -> None:
    kept = spec(res("vol", "v", gib=10))
    gone = attrs.evolve(record(res("vol", "w", gib=5), cost="0.50"), imported=True)
    plan = make_plan(kept, [record(kept.resources[0]), gone], REGISTRY)
    [change] = plan.changes
    assert (change.action, change.resource) == ("release", "w")
    assert "left in place" in change.reason
    assert change.cost_change == Money("-0.50")
    deleting = make_plan(kept, [record(kept.resources[0]), gone], REGISTRY, delete_imported=True)
    assert [c.action for c in deleting.changes] == ["delete"]


def test_an_interrupted_import_is_imported_again_never_created() -> None:
    s = importing(spec(res("vol", "v", gib=10)), "v", "id-v")
    half = attrs.evolve(record(s.resources[0], status="creating"), imported=True)
    plan = make_plan(s, [half], REGISTRY, imports={"v": found("vol", "v", gib=10)})
    [change] = plan.changes
    assert change.action == "import"
    assert "interrupted import" in change.reason
    # An interrupted create (not an import) is still a resumed create.
    made = record(s.resources[0], status="creating")
    [resumed] = make_plan(s, [made], REGISTRY).changes
    assert (resumed.action, resumed.resume) == ("create", True)


def test_replacing_an_imported_resource_later_says_it_was_imported() -> None:
    before = spec(res("vol", "v", gib=10))
    old = attrs.evolve(record(before.resources[0]), imported=True)
    after = importing(spec(res("vol", "v", gib=10, encrypted=True)), "v", "id-v")
    [change] = make_plan(after, [old], REGISTRY).changes
    assert change.action == "replace"
    assert "it was imported" in change.reason
