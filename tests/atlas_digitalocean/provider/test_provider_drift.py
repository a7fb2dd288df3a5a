"""Drift of the kinds found by name: what a read shows against what the spec says."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.model.cloud import CloudObject, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.spec import validate_spec
from atlas_digitalocean.ops.firewalls import FirewallHandler
from atlas_digitalocean.ops.load_balancers import LoadBalancerHandler
from atlas_digitalocean.ops.vpcs import VpcHandler

RULE = {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}
WEB = {"type": "droplet", "name": "web", "specifications": {"size": "s-1vcpu-1gb"}}


def _spec(registry: Any, *resources: dict[str, Any]) -> InfrastructureSpec:
    doc = {"name": "shop", "provider": "digitalocean", "region": "fra1", "resources": [*resources]}
    return validate_spec(doc, registry=registry, purpose="estimate")


def _state(kind: str, **attributes: Any) -> ResourceState:
    return ResourceState(kind, "x", (CloudObject("1", "shop-x-0000", "active", attributes),))


def _drift(handler_class: Any, spec: InfrastructureSpec, state: ResourceState) -> list[str]:
    handler = handler_class.__new__(handler_class)  # drift reads no API and no settings
    return list(handler.drift(spec, spec.resource("x"), state))


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"description": "mine", "ip_range": "10.0.0.0/20"}, []),
        ({"description": "theirs", "ip_range": "10.0.0.0/20"}, ["described 'theirs'"]),
        ({"description": "mine", "ip_range": "10.9.0.0/20"}, ["IP range 10.9.0.0/20"]),
    ],
)
def test_vpc_drift(registry: Any, attributes: dict[str, Any], expected: list[str]) -> None:
    vpc = {
        "type": "vpc",
        "name": "x",
        "specifications": {"description": "mine", "ip_range": "10.0.0.0/20"},
    }
    found = _drift(VpcHandler, _spec(registry, vpc), _state("vpc", **attributes))
    assert len(found) == len(expected)
    assert all(e in f for e, f in zip(expected, found, strict=True))


def test_load_balancer_drift_sees_rules_and_nodes(registry: Any) -> None:
    lb = {
        "type": "load_balancer",
        "name": "x",
        "specifications": {"droplets": ["web"], "forwarding_rules": [RULE]},
    }
    spec = _spec(registry, WEB, lb)
    same = _state(
        "load_balancer", size_unit=1, forwarding_rules=[{**RULE, "tls_passthrough": False}]
    )
    assert _drift(LoadBalancerHandler, spec, same) == []
    extra = {**RULE, "entry_port": 8443, "target_port": 8443}
    more = _state("load_balancer", size_unit=2, forwarding_rules=[RULE, extra])
    found = _drift(LoadBalancerHandler, spec, more)
    assert len(found) == 2
    assert "2 nodes" in found[0]
    assert "http:8443->http:8443" in found[1]


def test_firewall_drift_sees_rules_both_ways(registry: Any) -> None:
    rule = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.0/24"]}}
    fw = {
        "type": "firewall",
        "name": "x",
        "specifications": {"droplets": ["web"], "inbound_rules": [rule]},
    }
    spec = _spec(registry, WEB, fw)
    same = _state("firewall", inbound_rules=[rule], outbound_rules=[])
    assert _drift(FirewallHandler, spec, same) == []
    opened = {"protocol": "tcp", "ports": "8443", "sources": {"addresses": ["0.0.0.0/0"]}}
    egress = {"protocol": "icmp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0"]}}
    changed = _state("firewall", inbound_rules=[rule, opened], outbound_rules=[egress])
    found = _drift(FirewallHandler, spec, changed)
    assert [f.split(" has ")[1].split(" ")[0] for f in found] == ["inbound_rules", "outbound_rules"]
