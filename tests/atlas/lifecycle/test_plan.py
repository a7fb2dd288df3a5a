"""Direct unit tests of the pure planner, :mod:`atlas.lifecycle.plan`: no provider, no store.

The kinds are provider "lab"'s (``lab.py``), which exercise every rule the planner reads from a
kind. Recorded resources are made the way the executor records them: the canonical document of
a validated spec, priced by its estimate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest

from atlas import DataLossError, Money, Price
from atlas.cost.engine import estimate_spec
from atlas.lifecycle.plan import (
    FieldChange,
    Plan,
    PlannedChange,
    make_plan,
    recorded_dependencies,
)
from atlas.model.cloud import CloudObject, ResourceStatus
from atlas.model.infrastructure import Budget, InfrastructureSpec, ResourceSpec
from atlas.model.records import ResourceRecord
from atlas.spec import validate_spec
from atlas.spec.dump import dump_resource, dump_spec
from tests.atlas.lifecycle.lab import CATALOG, KINDS, REGISTRY

# -- helpers -----------------------------------------------------------------------------------


def res(type: str, name: str, **specifications: Any) -> dict[str, Any]:
    return {"type": type, "name": name, "specifications": specifications}


def with_specs(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**resource, "specifications": {**resource["specifications"], **changes}}


def doc(*resources: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": "lab1", "provider": "lab", "region": "r1", "resources": list(resources), **top}


def spec(*resources: dict[str, Any], **top: Any) -> InfrastructureSpec:
    return validate_spec(doc(*resources, **top), registry=REGISTRY)


def record(
    resource: Mapping[str, Any] | ResourceSpec,
    *,
    status: ResourceStatus = "active",
    cost: str | None = "10.00",
) -> ResourceRecord:
    canonical = dump_resource(resource) if isinstance(resource, ResourceSpec) else resource
    return ResourceRecord(
        infrastructure_id="i1",
        name=str(canonical["name"]),
        type=str(canonical["type"]),
        status=status,
        spec=canonical,
        objects=(),
        monthly_cost=None if cost is None else Decimal(cost),
        currency="USD",
        operation_id="op1",
        updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


@attrs.frozen
class Applied:
    """What the store holds after ``spec`` was applied: its records and its document."""

    records: list[ResourceRecord]
    document: dict[str, Any]

    def plan(self, new: InfrastructureSpec, **kwargs: Any) -> Plan:
        return make_plan(new, self.records, REGISTRY, recorded_spec=self.document, **kwargs)


def applied(old: InfrastructureSpec, **status: ResourceStatus) -> Applied:
    est = {r.resource_name: r.monthly for r in estimate_spec(old, REGISTRY).breakdown}
    records = []
    for r in old.resources:
        m = est[r.name]
        cost = None if m is None else str(m.amount)
        records.append(record(r, status=status.get(r.name, "active"), cost=cost))
    return Applied(records, dump_spec(old))


def actions(plan: Plan) -> dict[str, str]:
    return {c.resource: c.action for c in plan.changes}


def pick(plan: Plan, resource: str) -> PlannedChange:
    change = plan.change(resource)
    assert change is not None, f"no change of {resource!r} in {plan.changes}"
    return change


def only(plan: Plan) -> PlannedChange:
    assert len(plan.changes) == 1, plan.changes
    return plan.changes[0]


NET = res("net", "n", cidr="10.0.0.0/16")
BOX = res("box", "b", size="small", network="n")
VOL = res("vol", "v", gib=8, box="b")
ADDR = res("addr", "a", boxes=["b"])


# -- creates and no-ops ------------------------------------------------------------------------


def test_a_new_infrastructure_creates_every_resource_at_its_price() -> None:
    plan = make_plan(spec(NET, BOX, VOL), [], REGISTRY)
    assert [(c.action, c.resource, c.type, c.reason) for c in plan.changes] == [
        ("create", "n", "net", "new resource"),
        ("create", "b", "box", "new resource"),
        ("create", "v", "vol", "new resource"),
    ]
    assert [c.monthly_after for c in plan.changes] == [
        Money("1.00"),
        Money("10.00"),
        Money("1.000"),
    ]
    assert all(c.monthly_before is None and not c.resume and not c.fields for c in plan.changes)
    # A create costs its whole price: nothing was paid before.
    assert [c.cost_change for c in plan.changes] == [Money("1"), Money("10"), Money("1")]
    assert (plan.cost_before, plan.cost_after, plan.cost_change) == (
        Money("0"),
        Money("12"),
        Money("12"),
    )
    assert not plan.empty


def test_an_unchanged_infrastructure_plans_nothing_even_with_defaults_left_out() -> None:
    # The record holds every default ("image": "base", "peers": []); the spec leaves them out.
    old = applied(spec(NET, BOX, VOL))
    assert old.records[1].spec["specifications"]["image"] == "base"
    plan = old.plan(spec(NET, BOX, VOL))
    assert plan.empty
    assert plan.changes == ()
    assert plan.cost_before == plan.cost_after == Money("12")
    assert plan.cost_change == Money("0")


def test_a_first_apply_that_never_finished_compares_no_region_or_tags() -> None:
    # No recorded document: the region and tags it was meant to have are unknown, so the
    # recorded resources are compared field by field only.
    old = applied(spec(NET, BOX))
    new = spec(NET, BOX, region="r2", tags={"env": "prod"})
    assert make_plan(new, old.records, REGISTRY, recorded_spec=None).empty


# -- updates -----------------------------------------------------------------------------------


def test_an_in_place_change_is_an_update_naming_the_field_and_its_cost() -> None:
    old = applied(spec(NET, BOX))
    change = only(old.plan(spec(NET, with_specs(BOX, size="large"))))
    assert (change.action, change.resource, change.type) == ("update", "b", "box")
    assert change.fields == (FieldChange("specifications.size", "small", "large"),)
    assert change.reason == "specifications.size: 'small' -> 'large'"
    assert (change.monthly_before, change.monthly_after) == (Money("10.00"), Money("20.00"))
    assert change.cost_change == Money("10")


def test_nested_and_list_fields_are_diffed_by_path_in_key_order() -> None:
    before = res("box", "b", size="small", peers=["c"], mount={"path": "/a"})
    after = res("box", "b", size="small", peers=["c", "d"], mount={"path": "/b", "mode": "ro"})
    c, d = res("box", "c", size="small"), res("box", "d", size="small")
    change = pick(applied(spec(before, c, d)).plan(spec(after, c, d)), "b")
    assert change.action == "update"
    # Nested mappings recurse; lists compare whole.
    assert change.fields == (
        FieldChange("specifications.mount.mode", "rw", "ro"),
        FieldChange("specifications.mount.path", "/a", "/b"),
        FieldChange("specifications.peers", ["c"], ["c", "d"]),
    )
    assert change.reason == (
        "specifications.mount.mode: 'rw' -> 'ro'; specifications.mount.path: '/a' -> '/b'; "
        "specifications.peers: ['c'] -> ['c', 'd']"
    )


def test_a_field_the_record_lacks_or_a_nested_object_added_reads_as_from_none() -> None:
    # A record written before a field existed has no key for it.
    canonical = dump_resource(spec(NET, BOX).resources[1])
    del canonical["specifications"]["image"]
    mount = res("box", "b", size="small", network="n", mount={"path": "/m"})
    plan = make_plan(
        spec(NET, mount),
        [record(dump_resource(spec(NET).resources[0])), record(canonical)],
        REGISTRY,
    )
    change = only(plan)
    assert change.action == "replace"  # image is a replace_on field, even appearing from None
    assert change.fields == (
        FieldChange("specifications.image", None, "base"),
        FieldChange("specifications.mount", None, {"path": "/m", "mode": "rw"}),
    )


def test_long_values_are_shortened_in_the_reason() -> None:
    change = FieldChange("specifications.label", "x" * 100, "short")
    assert str(change) == f"specifications.label: '{'x' * 36}... -> 'short'"
    assert str(FieldChange("p", "a" * 38, 1)) == f"p: '{'a' * 38}' -> 1"  # 40 characters: whole


def test_a_resource_of_a_kind_the_registry_does_not_know_is_updated_in_place() -> None:
    # Only reachable with a spec built by hand: nothing says what cannot change in place.
    def alien(value: str) -> ResourceSpec:
        return ResourceSpec("alien", "x", {"image": value})

    old = InfrastructureSpec("lab1", "lab", "r1", (alien("one"),), tags={"env": "a"})
    new = InfrastructureSpec("lab1", "lab", "r1", (alien("two"),), tags={"env": "a"})
    rec = record(dump_resource(old.resources[0]), cost=None)
    change = only(make_plan(new, [rec], REGISTRY, recorded_spec=dump_spec(old)))
    assert (change.action, change.reason) == ("update", "specifications.image: 'one' -> 'two'")
    assert change.cost_change is None  # no price model, no cost
    retag = attrs.evolve(old, tags={"env": "b"})
    assert (
        only(make_plan(retag, [rec], REGISTRY, recorded_spec=dump_spec(old))).reason
        == "tags change"
    )


# -- replacements ------------------------------------------------------------------------------


def test_a_replace_on_field_forces_a_replacement_carrying_the_fields() -> None:
    change = only(applied(spec(NET, BOX)).plan(spec(NET, with_specs(BOX, image="v2"))))
    assert (change.action, change.type) == ("replace", "box")
    assert change.reason == "image cannot change in place"
    assert change.fields == (FieldChange("specifications.image", "base", "v2"),)
    assert (change.monthly_before, change.monthly_after) == (Money("10.00"), Money("10.00"))
    assert not change.resume


def test_several_forced_fields_are_named_in_sorted_order() -> None:
    net2 = res("net", "n2", cidr="10.1.0.0/16")
    new = spec(NET, net2, with_specs(BOX, zone="z2", image="v2", network="n2", size="large"))
    change = pick(applied(spec(NET, net2, BOX)).plan(new), "b")
    assert change.action == "replace"
    assert change.reason == "image, network, zone cannot change in place"
    assert [f.path for f in change.fields] == [
        "specifications.image",
        "specifications.network",
        "specifications.size",
        "specifications.zone",
    ]


def test_replace_if_decides_by_the_values_and_wins_over_forced_fields() -> None:
    old = applied(spec(NET, BOX, VOL))
    grow = pick(old.plan(spec(NET, BOX, with_specs(VOL, gib=16))), "v")
    assert grow.action == "update"
    assert (grow.monthly_before, grow.monthly_after) == (Money("1.000"), Money("2.000"))
    shrink = pick(old.plan(spec(NET, BOX, with_specs(VOL, gib=4))), "v")
    assert shrink.action == "replace"
    assert shrink.reason == "a volume cannot shrink (from 8 to 4 GiB)"
    both = pick(old.plan(spec(NET, BOX, with_specs(VOL, gib=4, encrypted=True))), "v")
    assert both.reason == "a volume cannot shrink (from 8 to 4 GiB)"
    forced = pick(old.plan(spec(NET, BOX, with_specs(VOL, encrypted=True))), "v")
    assert forced.reason == "encrypted cannot change in place"


def test_a_type_change_is_a_replacement_of_the_new_type() -> None:
    old = applied(spec(res("box", "x", size="small")))
    change = only(old.plan(spec(res("vol", "x", gib=8))))
    assert (change.action, change.resource, change.type) == ("replace", "x", "vol")
    assert change.reason == "type changes from box to vol"
    assert (change.monthly_before, change.monthly_after) == (Money("10.00"), Money("1.000"))


def test_a_region_change_replaces_every_resource() -> None:
    old = applied(spec(NET, BOX))
    plan = old.plan(spec(NET, BOX, region="r2"))
    assert actions(plan) == {"n": "replace", "b": "replace"}
    assert {c.reason for c in plan.changes} == {"region changes from r1 to r2"}


@pytest.mark.parametrize("status", ["error", "deleting", "deleted"])
def test_a_recorded_resource_that_is_not_healthy_is_replaced(status: ResourceStatus) -> None:
    old = applied(spec(NET, BOX), b=status)
    change = only(old.plan(spec(NET, BOX)))
    assert (change.action, change.resource) == ("replace", "b")
    assert change.reason == f"the recorded resource is {status}"


def test_a_resource_still_updating_is_compared_like_an_active_one() -> None:
    old = applied(spec(NET, BOX), b="updating")
    assert old.plan(spec(NET, BOX)).empty
    assert only(old.plan(spec(NET, with_specs(BOX, size="large")))).action == "update"


@pytest.mark.parametrize("status", ["pending", "creating"])
@pytest.mark.parametrize(
    ("box", "region"),
    [(BOX, "r1"), (with_specs(BOX, image="v2"), "r1"), (res("vol", "b", gib=8), "r1"), (BOX, "r2")],
    ids=["unchanged", "forced field", "new type", "new region"],
)
def test_an_interrupted_create_is_resumed_whatever_else_changed(
    status: ResourceStatus, box: dict[str, Any], region: str
) -> None:
    # What would replace an active resource finishes an interrupted create instead: what it
    # made is adopted, not made again.
    plan = applied(spec(NET, BOX), b=status).plan(spec(NET, box, region=region))
    change = pick(plan, "b")
    assert (change.action, change.resume) == ("create", True)
    assert change.reason == "finish a create an interrupted operation started"
    assert actions(plan) == ({"n": "replace", "b": "create"} if region == "r2" else {"b": "create"})


def test_a_resumed_create_costs_its_whole_price() -> None:
    change = only(applied(spec(NET, BOX), b="creating").plan(spec(NET, BOX)))
    assert (change.monthly_before, change.monthly_after) == (Money("10.00"), Money("10.00"))
    assert change.cost_change == Money("10.00")  # a create: what was paid before counts as nothing


# -- tags --------------------------------------------------------------------------------------


def test_a_tag_change_updates_only_kinds_that_can_be_retagged() -> None:
    resources = (NET, BOX, VOL, ADDR)
    old = applied(spec(*resources, tags={"env": "dev"}))
    plan = old.plan(spec(*resources, tags={"env": "prod"}))
    # vol is tagged at creation only; addr is not tagged at all.
    assert actions(plan) == {"n": "update", "b": "update"}
    assert {(c.reason, c.fields) for c in plan.changes} == {("tags change", ())}
    assert old.plan(spec(*resources, tags={"env": "dev"})).empty


def test_a_tag_change_with_field_changes_is_reasoned_by_the_fields() -> None:
    old = applied(spec(NET, BOX, tags={"env": "dev"}))
    change = pick(old.plan(spec(NET, with_specs(BOX, size="large"), tags={})), "b")
    assert change.reason == "specifications.size: 'small' -> 'large'"


# -- drift -------------------------------------------------------------------------------------


def test_drift_puts_an_unchanged_resource_back() -> None:
    old = applied(spec(NET, BOX))
    plan = old.plan(spec(NET, BOX), drift={"b": ["size: small -> large", "tag env missing"]})
    change = only(plan)
    assert (change.action, change.resource, change.fields) == ("update", "b", ())
    assert change.reason == "drift: size: small -> large; tag env missing"
    assert (change.monthly_before, change.monthly_after) == (Money("10.00"), Money("10.00"))


def test_drift_gives_way_to_what_the_spec_changes_and_empty_drift_is_none() -> None:
    old = applied(spec(NET, BOX))
    assert old.plan(spec(NET, BOX), drift={"b": []}).empty
    assert old.plan(spec(NET, BOX), drift={}).empty
    resized = old.plan(spec(NET, with_specs(BOX, size="large")), drift={"b": ["tag gone"]})
    assert only(resized).reason == "specifications.size: 'small' -> 'large'"
    replaced = old.plan(spec(NET, with_specs(BOX, image="v2")), drift={"b": ["tag gone"]})
    assert only(replaced).action == "replace"


# -- deletes -----------------------------------------------------------------------------------


def test_a_resource_no_longer_in_the_spec_is_deleted_at_its_recorded_price() -> None:
    old = applied(spec(NET, BOX))
    change = only(old.plan(spec(NET)))
    assert (change.action, change.resource, change.type) == ("delete", "b", "box")
    assert change.reason == "no longer in the spec"
    assert (change.monthly_before, change.monthly_after) == (Money("10.00"), None)
    assert change.cost_change == Money("-10.00")


def test_a_delete_of_a_resource_with_no_recorded_price_has_no_cost_change() -> None:
    rec = record(dump_resource(spec(res("box", "b", size="small")).resources[0]), cost=None)
    change = only(make_plan(spec(), [rec], REGISTRY))
    assert change.action == "delete"
    assert change.monthly_before is None
    assert change.cost_change is None


# -- replacements that dependents follow -------------------------------------------------------


def test_a_dependent_whose_reference_cannot_change_in_place_is_replaced_too() -> None:
    old = applied(spec(NET, BOX))
    plan = old.plan(spec(with_specs(NET, cidr="10.9.0.0/16"), BOX))
    assert actions(plan) == {"n": "replace", "b": "replace"}
    box = pick(plan, "b")
    assert (box.reason, box.fields) == ("refers to n, which is replaced", ())
    assert (box.monthly_before, box.monthly_after) == (Money("10.00"), Money("10.00"))


def test_a_dependent_whose_reference_can_change_in_place_is_updated() -> None:
    old = applied(spec(NET, BOX, VOL))
    plan = old.plan(spec(NET, with_specs(BOX, image="v2"), VOL))
    assert actions(plan) == {"b": "replace", "v": "update"}
    vol = pick(plan, "v")
    assert (vol.reason, vol.fields) == ("refers to b, which is replaced", ())
    assert (vol.monthly_before, vol.monthly_after) == (Money("1.000"), Money("1.000"))


def test_replacements_propagate_through_chains_listed_dependents_first() -> None:
    # addr -> box -> net, listed in reverse: one pass over the spec cannot see the chain.
    resources = (ADDR, VOL, BOX, NET)
    plan = applied(spec(*resources)).plan(spec(ADDR, VOL, BOX, with_specs(NET, cidr="10.2.0.0/16")))
    assert actions(plan) == {"a": "replace", "v": "update", "b": "replace", "n": "replace"}
    assert pick(plan, "a").reason == "refers to b, which is replaced"


def test_a_dependent_keeps_its_own_changes_when_it_follows_a_replacement() -> None:
    old = applied(spec(NET, BOX, VOL))
    # vol grows (an update already): the replaced box changes nothing about it.
    plan = old.plan(spec(NET, with_specs(BOX, image="v2"), with_specs(VOL, gib=16)))
    vol = pick(plan, "v")
    assert vol.action == "update"
    assert vol.reason == "specifications.gib: 8 -> 16"
    # box grows (an update) but its network is replaced: it is replaced, with its fields.
    plan = old.plan(spec(with_specs(NET, cidr="10.3.0.0/16"), with_specs(BOX, size="large"), VOL))
    box = pick(plan, "b")
    assert box.action == "replace"
    assert box.reason == "refers to n, which is replaced"
    assert box.fields == (FieldChange("specifications.size", "small", "large"),)
    assert (box.monthly_before, box.monthly_after) == (Money("10.00"), Money("20.00"))


def test_new_dependents_are_created_not_touched_by_replacements() -> None:
    old = applied(spec(NET, BOX))
    plan = old.plan(spec(NET, with_specs(BOX, image="v2"), VOL, ADDR))
    assert actions(plan) == {"b": "replace", "v": "create", "a": "create"}
    assert {pick(plan, n).reason for n in "va"} == {"new resource"}


def test_a_dependent_of_several_replaced_resources_names_them_sorted() -> None:
    spokes = [res("box", f"s{i}", size="small") for i in (3, 1, 4, 2)]
    hub = res("box", "hub", size="small", peers=["s3", "s1", "s4", "s2"])
    old = applied(spec(*spokes, hub))
    plan = old.plan(spec(*(with_specs(s, image="v2") for s in spokes), hub))
    hub_change = pick(plan, "hub")
    assert hub_change.action == "update"
    assert hub_change.reason == "refers to s1, s2, s3, s4, which is replaced"


# -- costs and budgets -------------------------------------------------------------------------


def test_plan_costs_skip_unknown_prices_and_list_what_is_unpriced() -> None:
    old = applied(spec(NET, BOX, res("note", "memo", text="hi")))
    assert old.records[2].monthly_cost is None
    plan = old.plan(spec(NET, with_specs(BOX, size="huge"), res("note", "memo", text="bye")))
    assert plan.cost_before == Money("11.00")
    assert plan.cost_after == Money("1.00")  # only the network has a known price now
    box_line, note_line = plan.unpriced
    assert box_line.startswith("Box huge: ")
    assert "'box:huge'" in box_line
    assert note_line == "note: provider 'lab' has no price model for 'note'"
    box, note = pick(plan, "b"), pick(plan, "memo")
    assert (box.monthly_after, box.cost_change) == (None, None)
    assert (note.monthly_before, note.cost_change) == (None, None)


def test_a_change_cost_is_after_minus_before_in_the_prices_currency() -> None:
    eur = Money("5.00", "EUR")
    assert PlannedChange("create", "x", "t", "", monthly_after=eur).cost_change == eur
    assert PlannedChange("delete", "x", "t", "", monthly_before=eur).cost_change == -eur
    assert PlannedChange("create", "x", "t", "").cost_change is None
    assert PlannedChange("delete", "x", "t", "").cost_change is None
    update = PlannedChange("update", "x", "t", "", (), Money("2", "EUR"), eur)
    assert update.cost_change == Money("3.00", "EUR")
    assert PlannedChange("update", "x", "t", "", (), None, eur).cost_change is None
    assert PlannedChange("replace", "x", "t", "", (), eur, None).cost_change is None


def test_over_budget_compares_the_cost_after_with_the_limit() -> None:
    box = res("box", "b", size="small")
    within = make_plan(spec(box, budget={"monthly_limit": "10.00"}), [], REGISTRY)
    assert within.budget == Budget(Decimal("10.00"), "USD")
    assert not within.over_budget()  # exactly at the limit is within it
    over = make_plan(spec(box, budget={"monthly_limit": "9.99"}), [], REGISTRY)
    assert over.over_budget()
    assert not over.over_budget(Budget(Decimal("50")))  # an explicit budget wins
    assert within.over_budget(Budget(Decimal("5")))
    assert not make_plan(spec(box), [], REGISTRY).over_budget()


def test_to_dict_rounds_to_cents_and_says_everything() -> None:
    old = applied(spec(NET, BOX, res("vol", "v", gib=1)))
    new = spec(NET, with_specs(BOX, size="large"), budget={"monthly_limit": "20"})
    out = old.plan(new).to_dict()
    assert out == {
        "infrastructure": "lab1",
        "changes": [
            {
                "action": "update",
                "resource_name": "b",
                "resource_type": "box",
                "reason": "specifications.size: 'small' -> 'large'",
                "fields": [{"path": "specifications.size", "old": "small", "new": "large"}],
                "import_ids": [],
                "needs_replacement": None,
                "destroys_data": False,
                "monthly_cost_before": 10.0,
                "monthly_cost_after": 20.0,
                "cost_change": 10.0,
            },
            {
                "action": "delete",
                "resource_name": "v",
                "resource_type": "vol",
                "reason": "no longer in the spec",
                "fields": [],
                "import_ids": [],
                "needs_replacement": None,
                "destroys_data": False,  # a stateful kind, but no objects were recorded
                "monthly_cost_before": 0.13,  # 0.125, rounded half up
                "monthly_cost_after": None,
                "cost_change": -0.13,
            },
        ],
        "cost_before": 11.13,
        "cost_after": 21.0,
        "cost_change": 9.88,
        "currency": "USD",
        "budget": {"monthly_limit": 20.0, "currency": "USD", "over_budget": True},
        "unpriced": [],
        "warnings": [],
        "account_steps": [],
        "placement": None,  # (a spec of native kinds is not placed)
    }
    assert make_plan(spec(NET), [], REGISTRY).to_dict()["budget"] is None


def test_a_plan_is_in_the_currency_of_the_providers_prices() -> None:
    euro = attrs.evolve(
        CATALOG,
        currency="EUR",
        prices={
            "box:small": Price("box:small", Money("9", "EUR"), Money("0.01", "EUR"), "u", "list")
        },
    )
    plan = make_plan(spec(res("box", "b", size="small")), [], REGISTRY.replace_catalog(euro))
    assert (plan.cost_before, plan.cost_after) == (Money("0", "EUR"), Money("9", "EUR"))
    assert pick(plan, "b").cost_change == Money("9", "EUR")
    assert plan.to_dict()["currency"] == "EUR"


# -- order -------------------------------------------------------------------------------------


def test_changes_come_in_spec_order_then_recorded_order_each_once() -> None:
    gone = [record(res("box", z, size="small")) for z in ("z", "y")]
    kept = record(dump_resource(spec(res("box", "k", size="small")).resources[0]))
    new = spec(
        res("box", "c", size="small"), res("box", "k", size="large"), res("box", "a", size="small")
    )
    plan = make_plan(new, [gone[0], kept, gone[1]], REGISTRY)
    assert [c.resource for c in plan.changes] == ["c", "k", "a", "z", "y"]
    assert actions(plan) == {
        "c": "create",
        "k": "update",
        "a": "create",
        "z": "delete",
        "y": "delete",
    }
    assert plan.change("missing") is None


# -- recorded dependencies ---------------------------------------------------------------------


def test_recorded_dependencies_are_read_through_each_kind() -> None:
    s = spec(
        NET,
        res("box", "b", size="small", network="n", peers=["c"]),
        res("box", "c", size="small"),
        VOL,
    )
    deps = recorded_dependencies([record(r) for r in s.resources], KINDS)
    assert deps == {"n": set(), "b": {"n", "c"}, "c": set(), "v": {"b"}}


def test_records_the_kinds_cannot_read_have_no_dependencies_but_are_kept() -> None:
    unknown = record(res("gone", "g", box="b"))
    stale = record(res("vol", "v", size=8, box="b"))  # an older vol: "size", not "gib"
    bare = record({"type": "vol", "name": "w"})  # no specifications at all
    deps = recorded_dependencies([unknown, stale, bare], KINDS)
    assert deps == {"g": set(), "v": set(), "w": set()}


# -- data loss ---------------------------------------------------------------------------------


def holding(applied_: Applied) -> Applied:
    """The same records, each with one object at the provider (as an apply leaves them)."""
    records = [
        attrs.evolve(r, objects=(CloudObject(f"id-{r.name}", r.name, "active"),))
        for r in applied_.records
    ]
    return Applied(records, applied_.document)


def test_replacing_or_deleting_a_stateful_resource_destroys_data() -> None:
    assert KINDS["vol"].stateful
    assert not KINDS["box"].stateful
    old = holding(applied(spec(NET, BOX, VOL)))
    replaced = only(old.plan(spec(NET, BOX, with_specs(VOL, gib=4))))
    assert (replaced.action, replaced.destroys_data) == ("replace", True)
    gone = only(old.plan(spec(NET, BOX)))
    assert (gone.action, gone.destroys_data) == ("delete", True)
    # A box (not stateful) replaced with it, and the vol following it in place: no data lost.
    moved = old.plan(spec(NET, with_specs(BOX, image="v2"), VOL))
    assert {c.resource: (c.action, c.destroys_data) for c in moved.changes} == {
        "b": ("replace", False),
        "v": ("update", False),
    }
    assert not moved.data_loss


def test_a_replacement_propagated_to_a_stateful_resource_destroys_data() -> None:
    old = holding(applied(spec(NET, BOX, res("vol", "v", gib=8, encrypted=True))))
    plan = old.plan(spec(res("vol", "v", gib=8, encrypted=False), NET, BOX))
    assert [c.resource for c in plan.data_loss] == ["v"]


def test_what_holds_no_objects_or_is_let_go_destroys_no_data() -> None:
    # Recorded without objects (a refresh found it gone, or nothing was ever made).
    empty = applied(spec(NET, BOX, VOL), v="deleted")
    assert not only(empty.plan(spec(NET, BOX, with_specs(VOL, gib=4)))).destroys_data
    # An imported vol leaving the spec is released: left in place, data and all.
    old = holding(applied(spec(NET, BOX, VOL)))
    old.records[2] = attrs.evolve(old.records[2], imported=True)
    released = only(old.plan(spec(NET, BOX)))
    assert (released.action, released.destroys_data) == ("release", False)
    deleted = only(old.plan(spec(NET, BOX), delete_imported=True))
    assert (deleted.action, deleted.destroys_data) == ("delete", True)


def test_check_data_loss_names_each_resource_unless_allowed() -> None:
    old = holding(applied(spec(NET, BOX, VOL, res("vol", "w", gib=2))))
    plan = old.plan(spec(NET, BOX, with_specs(VOL, gib=4)))
    with pytest.raises(DataLossError) as caught:
        plan.check_data_loss(False)
    assert caught.value.resources == ("v", "w")
    assert "vol v (replace: a volume cannot shrink (from 8 to 4 GiB))" in str(caught.value)
    assert "vol w (delete: no longer in the spec)" in str(caught.value)
    plan.check_data_loss(True)  # allowed: no error
    make_plan(spec(NET), [], REGISTRY).check_data_loss(False)  # nothing lost: no error
