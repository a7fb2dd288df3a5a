"""What DigitalOcean would refuse is caught offline, with the path and the reason."""

from __future__ import annotations

from typing import Any

import pytest

from atlas import ProviderRegistry, SpecValidationError
from atlas.spec import iter_references, validate_spec
from atlas_digitalocean.naming import cloud_name, spec_tag
from atlas_digitalocean.resources.vpc import private_range
from tests.conftest import EXAMPLES

DROPLET: dict[str, Any] = {
    "type": "droplet",
    "name": "web",
    "specifications": {"size": "s-1vcpu-1gb", "image": "debian-12-x64"},
}


def check(registry: ProviderRegistry, *resources: dict[str, Any]) -> list[tuple[str, str]]:
    doc = {
        "name": "app",
        "provider": "digitalocean",
        "region": "ams3",
        "resources": [DROPLET, *resources],
    }
    try:
        validate_spec(doc, registry=registry)
    except SpecValidationError as exc:
        return [(p.path, p.message) for p in exc.problems]
    return []


def lb(**specs: Any) -> dict[str, Any]:
    rule = {
        "entry_protocol": "http",
        "entry_port": 80,
        "target_protocol": "http",
        "target_port": 80,
    }
    return {
        "type": "load_balancer",
        "name": "lb",
        "specifications": {"droplets": ["web"], "forwarding_rules": [rule], **specs},
    }


#: The examples for DigitalOcean (the AWS ones are validated with the AWS tests).
DO_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.*") if not p.name.startswith("aws-"))


@pytest.mark.parametrize("example", DO_EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(registry: ProviderRegistry, example: Any) -> None:
    validate_spec(example, registry=registry)


def test_stack_example_references(registry: ProviderRegistry) -> None:
    spec = validate_spec(EXAMPLES / "stack.yaml", registry=registry)
    refs = {
        r.name: sorted({x.target for x in iter_references(r.specifications)})
        for r in spec.resources
    }
    assert refs == {
        "net": [],
        "web": ["net"],
        "worker": ["net"],
        "data": ["worker"],
        "db": ["net"],
        "lb": ["net", "web"],
        "fw": ["lb", "web", "worker"],
    }


def test_load_balancer_checks(registry: ProviderRegistry) -> None:
    assert check(registry, lb()) == []
    assert check(registry, lb(tag="web")) == [
        ("resources[1].specifications.tag", "give either droplets or tag, not both")
    ]
    https = {
        "entry_protocol": "https",
        "entry_port": 443,
        "target_protocol": "http",
        "target_port": 80,
    }
    [(path, msg)] = check(registry, lb(forwarding_rules=[https]))
    assert path == "resources[1].specifications.forwarding_rules[0].certificate_id"
    assert "tls_passthrough" in msg
    assert check(registry, lb(forwarding_rules=[{**https, "tls_passthrough": True}])) == []
    [(path, _)] = check(registry, lb(forwarding_rules=[]))
    assert path == "resources[1].specifications.forwarding_rules"
    [(path, _)] = check(registry, lb(size_unit=101))
    assert path == "resources[1].specifications.size_unit"


def test_forwarding_rules_needed_to_create_not_to_estimate(registry: ProviderRegistry) -> None:
    bare = {"type": "load_balancer", "name": "lb", "specifications": {"droplets": ["web"]}}
    [(path, msg)] = check(registry, bare)
    assert path == "resources[1].specifications.forwarding_rules"
    assert "required to create" in msg


def fw(**specs: Any) -> dict[str, Any]:
    rule = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
    return {
        "type": "firewall",
        "name": "fw",
        "specifications": {"droplets": ["web"], "inbound_rules": [rule], **specs},
    }


@pytest.mark.parametrize(
    ("rule", "path", "fragment"),
    [
        ({"protocol": "icmp", "ports": "22", "sources": {"tags": ["x"]}}, "ports", "no ports"),
        ({"protocol": "tcp", "sources": {"tags": ["x"]}}, "ports", "need ports"),
        ({"protocol": "tcp", "ports": "90-80", "sources": {"tags": ["x"]}}, "ports", "ascending"),
        ({"protocol": "tcp", "ports": "http", "sources": {"tags": ["x"]}}, "ports", "not a port"),
        ({"protocol": "tcp", "ports": "1", "sources": {}}, "sources", "at least one"),
        (
            {"protocol": "tcp", "ports": "1", "sources": {"tags": ["a b"]}},
            "sources.tags[0]",
            "not a valid tag",
        ),
        ({"protocol": "gre", "ports": "1", "sources": {"tags": ["x"]}}, "protocol", "one of"),
    ],
)
def test_firewall_rule_checks(
    registry: ProviderRegistry, rule: dict[str, Any], path: str, fragment: str
) -> None:
    [(got, msg)] = check(registry, fw(inbound_rules=[rule]))
    assert got == f"resources[1].specifications.inbound_rules[0].{path}"
    assert fragment in msg


def test_firewall_limits(registry: ProviderRegistry) -> None:
    many = {**DROPLET, "name": "many", "specifications": {**DROPLET["specifications"], "count": 11}}
    [(path, msg)] = check(registry, many, fw(droplets=["many"]))
    assert path == "resources[2].specifications.droplets"
    assert "11 droplets" in msg
    [(path, _)] = check(registry, fw(inbound_rules=[], outbound_rules=[]))
    assert path == "resources[1].specifications"
    [(path, _)] = check(registry, fw(tags=["a", "b", "c", "d", "e", "f"]))
    assert path == "resources[1].specifications.tags"


@pytest.mark.parametrize(
    ("ip_range", "fragment"),
    [
        ("10.10.0.0/16", None),
        ("192.168.4.0/28", None),
        ("10.0.0.0/8", "from /16 to /28"),
        ("10.0.0.0/29", "from /16 to /28"),
        ("8.8.0.0/16", "RFC 1918"),
        ("10.0.0.1/16", "not a CIDR block"),
        ("fd00::/48", "RFC 1918"),
    ],
)
def test_vpc_ranges(ip_range: str, fragment: str | None) -> None:
    msg = private_range(ip_range)
    assert (msg is None) if fragment is None else (fragment in (msg or ""))


def test_volume_attaches_to_one_droplet(registry: ProviderRegistry) -> None:
    many = {**DROPLET, "name": "many", "specifications": {**DROPLET["specifications"], "count": 2}}
    vol = {
        "type": "volume",
        "name": "v",
        "specifications": {"size_gigabytes": 5, "attach_to": "many"},
    }
    [(path, msg)] = check(registry, many, vol)
    assert path == "resources[2].specifications.attach_to"
    assert "count 2" in msg


def test_database_checks(registry: ProviderRegistry) -> None:
    db = {
        "type": "database",
        "name": "db",
        "specifications": {"engine": "redis", "size": "db-s-9vcpu", "num_nodes": 4},
    }
    assert [p for p, _ in check(registry, db)] == [
        "resources[1].specifications.engine",
        "resources[1].specifications.num_nodes",
        "resources[1].specifications.size",
    ]


def test_cloud_names_and_tags() -> None:
    assert cloud_name("app", "web") == "app-web"
    assert cloud_name("app", "web", 3) == "app-web-3"
    assert spec_tag("env", "prod") == "env:prod"


def test_descriptions_count_characters_user_data_counts_bytes(registry: ProviderRegistry) -> None:
    vpc = {"type": "vpc", "name": "net", "specifications": {"description": "é" * 255}}
    assert check(registry, vpc) == []
    vpc["specifications"] = {"description": "é" * 256}
    [(path, msg)] = check(registry, vpc)
    assert path == "resources[1].specifications.description"
    assert "256 characters" in msg
    big = {**DROPLET, "specifications": {**DROPLET["specifications"], "user_data": "é" * 40000}}
    [(path, msg)] = check(registry, {**big, "name": "big"})
    assert "80000 bytes" in msg


def test_only_tagged_kinds_need_tag_safe_names(registry: ProviderRegistry) -> None:
    assert check(registry, {"type": "vpc", "name": "net.v2"}) == []
    vol = {"type": "volume", "name": "data.v2", "specifications": {"size_gigabytes": 5}}
    [(path, _)] = check(registry, vol)
    assert path == "resources[1].name"


def test_firewall_level_tags_are_checked(registry: ProviderRegistry) -> None:
    [(path, msg)] = check(registry, fw(tags=["bad tag"]))
    assert path == "resources[1].specifications.tags[0]"
    assert "not a valid tag" in msg


def test_the_plugins_example_validates_for_creation(registry: ProviderRegistry) -> None:
    example = registry.get("digitalocean").example
    assert example is not None
    assert validate_spec(dict(example), registry=registry, purpose="create").resources
