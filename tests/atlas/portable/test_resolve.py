"""The resolver on toy clouds: which placement wins, why the others are left out, and the
concrete spec it makes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

import atlas
from atlas.exceptions import SpecValidationError
from atlas.portable.resolve import compare, resolve
from atlas.spec.validate import validate_spec
from tests.atlas.portable.toy import ALPHA, Cloud, toy_registry

REGISTRY = toy_registry()


def server(name: str, vcpus: int = 2, memory_gb: float = 4, **more: Any) -> dict[str, Any]:
    specs = {"vcpus": vcpus, "memory_gb": memory_gb, **more}
    return {"type": "server", "name": name, "specifications": specs}


def spec(*resources: dict[str, Any], **placement: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "shop", "provider": "any", "resources": list(resources)}
    if placement:
        doc["placement"] = placement
    return doc


def stack() -> list[dict[str, Any]]:
    """The acceptance stack: two servers, a volume, PostgreSQL 15, a load balancer."""
    return [
        server("web", count=2),
        {"type": "volume", "name": "data", "specifications": {"size_gb": 100, "attach_to": "web"}},
        {
            "type": "database",
            "name": "db",
            "specifications": {"engine": "postgres", "version": 15, "vcpus": 1, "memory_gb": 2},
        },
        {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["web"]}},
    ]


def problems(call: Any) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as caught:
        call()
    return {p.path: p.message for p in caught.value.problems}


def where(comparison: Any) -> list[str]:
    return [f"{c.provider}/{c.region.name}" for c in comparison.candidates]


def test_candidates_come_cheapest_first_with_the_documented_tie_breaks() -> None:
    result = compare(spec(*stack()), registry=REGISTRY)
    # 2 x medium 40, disk 10, pg-small 15 + storage 2, lb 12: 79 at factor 1; x0.9, x0.8.
    assert where(result) == ["beta/b-us", "alpha/a-us1", "alpha/a-eu1", "alpha/a-eu2", "beta/b-eu"]
    assert [c.monthly for c in result.candidates] == [
        Decimal("63.20"),
        Decimal("71.10"),
        Decimal(79),
        Decimal(79),
        Decimal(79),
    ]
    assert result.excluded == (
        atlas.portable.resolve.Excluded("gamma", None, "no translator installed"),
    )


def test_placement_providers_order_breaks_ties_before_names() -> None:
    result = compare(spec(*stack(), providers=["beta", "alpha"], regions=["eu"]), registry=REGISTRY)
    assert where(result) == ["beta/b-eu", "alpha/a-eu1", "alpha/a-eu2"]


def test_placement_regions_order_breaks_ties_within_a_provider() -> None:
    result = compare(spec(*stack(), regions=["a-eu2", "eu"]), registry=REGISTRY)
    assert where(result) == ["alpha/a-eu2", "alpha/a-eu1", "beta/b-eu"]


def test_qualified_regions_and_groups() -> None:
    result = compare(spec(*stack(), regions=["beta/b-eu", "us"]), registry=REGISTRY)
    assert where(result) == ["beta/b-us", "alpha/a-us1", "beta/b-eu"]


def test_budget_and_features_leave_candidates_out_with_reasons() -> None:
    result = compare(spec(*stack(), budget=75, features=["ipv6"]), registry=REGISTRY)
    assert where(result) == ["alpha/a-us1"]
    reasons = {(e.provider, e.region): e.reason for e in result.excluded}
    assert reasons[("alpha", "a-eu1")] == "over budget 75 USD: 79.00"
    assert reasons[("beta", "b-us")] == "a required feature missing: ipv6"
    assert reasons[("alpha", "a-eu2")] == "a required feature missing: ipv6"


def test_a_refusal_leaves_the_region_out_in_words() -> None:
    result = compare(spec(server("arm", arch="arm64")), registry=REGISTRY)
    assert where(result) == ["beta/b-us", "alpha/a-us1"]
    reasons = {(e.provider, e.region): e.reason for e in result.excluded}
    assert reasons[("alpha", "a-eu1")] == "resource arm refused: no arm64 servers in a-eu1"


def test_another_currency_is_left_out() -> None:
    result = compare(spec(server("web"), currency="EUR"), registry=REGISTRY)
    assert result.candidates == ()
    assert {e.reason for e in result.excluded if e.region} == {
        "priced in another currency: USD, not EUR"
    }


def test_unknown_names_in_placement_are_problems_with_suggestions() -> None:
    found = problems(
        lambda: compare(
            spec(server("web"), providers=["alpah", "beta"], regions=["b-eu", "b-ue", "europe"]),
            registry=REGISTRY,
        )
    )
    assert "unknown provider 'alpah' (did you mean 'alpha'?)" in found["placement.providers[0]"]
    assert "did you mean" in found["placement.regions[1]"]
    assert "'b-eu'" in found["placement.regions[1]"]
    assert "unknown region or group 'europe'" in found["placement.regions[2]"]
    assert "placement.regions[0]" not in found


def test_portable_problems_keep_their_paths() -> None:
    doc = spec(server("web"), server("bad", vcpus=0), budget=-1)
    doc["region"] = "a-eu1"
    found = problems(lambda: compare(doc, registry=REGISTRY))
    assert found["region"] == "with provider: any the region comes from placement.regions"
    assert "resources[1].specifications.vcpus" in found
    assert "placement.budget" in found


def test_resolve_makes_the_concrete_spec() -> None:
    doc, decision = resolve(spec(*stack()), registry=REGISTRY, purpose="estimate")
    assert (doc["provider"], doc["region"]) == ("beta", "b-us")
    assert "placement" not in doc
    assert [(r["type"], r["name"]) for r in doc["resources"]] == [
        ("vm", "web"),
        ("disk", "data"),
        ("pg", "db"),
        ("lb", "lb"),
        ("net", "lb-net"),
    ]
    assert decision is not None
    assert decision.monthly == Decimal("63.20")
    assert decision.reason == (
        "the cheapest of 5 placements that meet every constraint, at 63.20 USD a month"
    )
    assert decision.runner_up is not None
    assert (decision.runner_up.provider, decision.runner_up.region) == ("alpha", "a-us1")
    assert decision.runner_up.difference == Decimal("7.90")
    assert [c.offering for c in decision.choices] == ["medium", "disk", "pg-small", "lb"]


def test_a_tie_is_explained() -> None:
    _, decision = resolve(spec(*stack(), regions=["eu"]), registry=REGISTRY, purpose="estimate")
    assert decision is not None
    tied = "tied at 79.00 USD a month with alpha/a-eu2"
    assert decision.reason == f"{tied}; a-eu1 comes first in alpha's list of regions"
    assert decision.runner_up is not None
    assert decision.runner_up.difference == 0


def test_a_pin_is_kept_while_allowed() -> None:
    doc, decision = resolve(
        spec(*stack()), registry=REGISTRY, purpose="estimate", pin=("alpha", "a-eu1")
    )
    assert (doc["provider"], doc["region"]) == ("alpha", "a-eu1")
    assert decision is not None
    assert "kept the recorded placement alpha/a-eu1" in decision.reason
    assert "beta/b-us is now cheaper" in decision.reason


def test_a_pin_no_longer_allowed_is_refused() -> None:
    found = problems(
        lambda: resolve(
            spec(*stack(), budget=75), registry=REGISTRY, purpose="estimate", pin=("alpha", "a-eu1")
        )
    )
    assert found == {
        "placement": "the recorded placement alpha/a-eu1 no longer fits: over budget 75 USD: "
        "79.00; pass replace-placement (atlas plan --replace-placement) to place it again"
    }
    found = problems(
        lambda: resolve(
            spec(*stack(), regions=["us"]),
            registry=REGISTRY,
            purpose="estimate",
            pin=("alpha", "a-eu1"),
        )
    )
    assert "the placement constraints no longer allow it" in found["placement"]


def test_nowhere_to_place_lists_the_exclusions() -> None:
    found = problems(
        lambda: resolve(spec(*stack(), budget=10), registry=REGISTRY, purpose="estimate")
    )
    message = found["placement"]
    assert message.startswith("no provider and region can place this spec: gamma: no translator")
    assert "beta/b-us: over budget 10 USD: 63.20" in message


def test_a_named_provider_translates_in_its_region_and_keeps_native_resources() -> None:
    doc = {
        "name": "mixed",
        "provider": "alpha",
        "region": "a-eu1",
        "resources": [
            {"type": "disk", "name": "scratch", "specifications": {"size_gb": 5, "vm": "web"}},
            server("web", vcpus=3),
        ],
    }
    concrete, decision = resolve(doc, registry=REGISTRY, purpose="estimate")
    assert concrete["resources"][0]["name"] == "scratch"
    assert concrete["resources"][1]["specifications"]["size"] == "large"
    assert decision is not None
    assert decision.runner_up is None
    assert decision.reason == "the spec names provider alpha and region a-eu1"
    result = validate_spec(doc, registry=REGISTRY, purpose="estimate")
    assert [r.type for r in result.resources] == ["disk", "vm"]
    assert result.placement == decision
    assert atlas.estimate(result, registry=REGISTRY).monthly == atlas.Money("40.50")


def test_a_named_provider_refusing_is_a_problem_at_the_resource() -> None:
    doc = {"name": "m", "provider": "alpha", "region": "a-eu1", "resources": [server("w", 64)]}
    found = problems(lambda: validate_spec(doc, registry=REGISTRY))
    assert found == {
        "resources[0]": "alpha cannot offer it in a-eu1: no size has 64 vCPUs and 4 GB"
    }
    doc = {"name": "m", "provider": "alpha", "region": "a-eu9", "resources": [server("w")]}
    assert "or 'a-eu1'" in problems(lambda: validate_spec(doc, registry=REGISTRY))["region"]
    doc = {"name": "m", "provider": "gamma", "region": "g-1", "resources": [server("w")]}
    assert (
        "unknown resource type 'server' for provider 'gamma' (known: disk, lb, net, pg, vm); "
        "server is a portable kind, and no installed plugin translates them for gamma"
        in problems(lambda: validate_spec(doc, registry=REGISTRY))["resources[0].type"]
    )


def test_concrete_problems_are_reported_at_the_portable_index() -> None:
    # The toy disk refers to its vm by name: a volume attached to a missing server is caught
    # by the portable validation, so make the concrete doc fail on a native resource instead.
    doc = {
        "name": "m",
        "provider": "alpha",
        "region": "a-eu1",
        "resources": [
            server("web"),
            {"type": "disk", "name": "web", "specifications": {"size_gb": 5}},
        ],
    }
    found = problems(lambda: validate_spec(doc, registry=REGISTRY))
    assert "duplicate" in found["resources[1].name"] or "twice" in found["resources[1].name"]


def test_validate_spec_places_a_portable_spec() -> None:
    result = validate_spec(spec(*stack()), registry=REGISTRY, purpose="estimate")
    assert (result.provider, result.region) == ("beta", "b-us")
    assert result.placement is not None
    assert result.placement.provider == "beta"
    assert atlas.estimate(result, registry=REGISTRY).monthly == atlas.Money("63.20")
    pinned = validate_spec(
        spec(*stack()), registry=REGISTRY, purpose="estimate", pin=("alpha", "a-eu2")
    )
    assert pinned.region == "a-eu2"


def test_placement_is_refused_on_a_native_spec() -> None:
    doc = {"name": "m", "provider": "alpha", "region": "a-eu1", "resources": [], "placement": {}}
    assert (
        "only a spec with provider: any"
        in problems(lambda: validate_spec(doc, registry=REGISTRY))["placement"]
    )


def test_a_translator_only_for_alpha() -> None:
    registry = toy_registry(translated=(ALPHA,))
    result = compare(spec(server("web")), registry=registry)
    assert {c.provider for c in result.candidates} == {"alpha"}
    assert {e.provider for e in result.excluded} == {"beta", "gamma"}


class NoLoadBalancerPrices(Cloud):
    def catalog(self) -> Any:
        made = super().catalog()
        prices = {k: v for k, v in made.prices.items() if not k.startswith("lb:")}
        return attrs.evolve(made, prices=prices)


def test_an_unpriced_line_leaves_the_region_out() -> None:
    alpha = NoLoadBalancerPrices("alpha", ALPHA.regions, ALPHA.factors)
    registry = toy_registry(clouds=(alpha,), translated=(alpha,))
    result = compare(spec(*stack(), regions=["a-eu1"]), registry=registry)
    assert result.candidates == ()
    assert [e.reason for e in result.excluded] == [
        "unpriced line: Load balancer: 'lb:a-eu1' is not in the alpha price catalog (toy:alpha)"
    ]


def test_like_refusals_make_one_short_reason() -> None:
    arms = [server(f"arm{i}", arch="arm64") for i in range(5)]
    result = compare(spec(*arms, server("two", 2, 4, arch="arm64")), registry=REGISTRY)
    reasons = {(e.provider, e.region): e.reason for e in result.excluded}
    assert reasons[("alpha", "a-eu1")] == (
        "resources arm0, arm1, arm2 and 3 more refused: no arm64 servers in a-eu1"
    )
