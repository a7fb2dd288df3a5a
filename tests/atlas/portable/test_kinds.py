"""The portable kinds validate like any other kind, and placement constraints name their path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from atlas.exceptions import SpecValidationError
from atlas.portable.kinds import PORTABLE_INFO, PORTABLE_KINDS, port_range
from atlas.portable.placement import Placement, parse_placement
from atlas.providers.registry import ProviderRegistry
from atlas.spec.validate import validate_spec

REGISTRY = ProviderRegistry({"any": PORTABLE_INFO}, {"any": PORTABLE_KINDS}, {})


def _spec(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": "shop", "provider": "any", "region": "any", "resources": list(resources)}


def _problems(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(doc, registry=REGISTRY)
    return {p.path: p.message for p in caught.value.problems}


def test_the_acceptance_stack_validates_with_its_defaults() -> None:
    spec = validate_spec(
        _spec(
            {"type": "server", "name": "web", "specifications": {"vcpus": 2, "memory_gb": 4}},
            {"type": "volume", "name": "data", "specifications": {"size_gb": 100}},
            {
                "type": "database",
                "name": "db",
                "specifications": {"engine": "postgres", "version": 15, "memory_gb": 2},
            },
            {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["web"]}},
        ),
        registry=REGISTRY,
    )
    web, _, db, lb = spec.resources
    assert web.specifications.arch == "x86_64"
    assert web.specifications.memory_gb == Decimal(4)
    assert db.specifications.version == "15"
    assert [listener.port for listener in lb.specifications.listeners] == [80]


def test_bad_fields_are_named_with_their_path() -> None:
    problems = _problems(
        _spec(
            {"type": "server", "name": "web", "specifications": {"vcpus": 2, "arch": "ppc"}},
            {"type": "volume", "name": "v", "specifications": {"size_gb": 5, "attach_to": "x"}},
            {"type": "network", "name": "n", "specifications": {"ip_range": "8.8.8.0/24"}},
        )
    )
    assert "resources[0].specifications.memory_gb" in problems
    assert "x86_64" in problems["resources[0].specifications.arch"]
    assert "no resource named 'x'" in problems["resources[1].specifications.attach_to"]
    assert "private" in problems["resources[2].specifications.ip_range"]


def test_a_load_balancer_listens_on_a_port_once() -> None:
    lb = {"targets": [], "listeners": [{"port": 80}, {"port": 80, "protocol": "tcp"}]}
    problems = _problems(_spec({"type": "load_balancer", "name": "lb", "specifications": lb}))
    assert problems == {"resources[0].specifications.listeners[1].port": "port 80 is used twice"}


@pytest.mark.parametrize(
    ("text", "expected"), [(None, None), ("22", (22, 22)), ("8000-8100", (8000, 8100))]
)
def test_port_ranges(text: str | None, expected: tuple[int, int] | None) -> None:
    assert port_range(text) == expected


@pytest.mark.parametrize("text", ["0", "80-22", "70000", "http", "1-2-3"])
def test_bad_port_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="port"):
        port_range(text)


def test_placement_parses_every_constraint() -> None:
    placement, problems = parse_placement(
        {"providers": ["aws", "digitalocean"], "regions": "eu", "features": ["ipv6"], "budget": 150}
    )
    assert problems == []
    assert placement == Placement(("aws", "digitalocean"), ("eu",), ("ipv6",), Decimal(150))
    assert placement.admits_group("eu", "fra1", "digitalocean") == 0
    assert placement.admits_group("us", "nyc3", "digitalocean") is None
    assert Placement().admits_group("us", "nyc3", "digitalocean") == 0


def test_placement_problems_name_their_path() -> None:
    placement, problems = parse_placement(
        {"providers": ["aws", "aws"], "regions": [3, "aws/eu"], "budget": -1, "zone": "a"}
    )
    assert placement is None
    assert {p.path for p in problems} == {
        "placement.zone",
        "placement.providers[1]",
        "placement.regions[0]",
        "placement.regions[1]",
        "placement.budget",
    }
