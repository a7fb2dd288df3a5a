"""VPCs, subnets and security groups: free, and the frame instances are placed in."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext, Pricer
from atlas_aws.resources.common import (
    cidr_problem,
    kind,
    network,
    referenced,
    zone_problems,
)

__all__ = [
    "SG_KIND",
    "SUBNET_KIND",
    "VPC_KIND",
    "Rule",
    "SecurityGroupSpec",
    "SubnetSpec",
    "VpcSpec",
]

#: EC2's default quota of rules per direction per security group.
MAX_RULES = 60
Protocol = Literal["tcp", "udp", "icmp", "all"]


def _cidr(value: str) -> str | None:
    return cidr_problem(value)


def _cidr_list(values: tuple[str, ...]) -> str | None:
    bad = [why for v in values if (why := cidr_problem(v, sized=False))]
    return "; ".join(bad) or None


@attrs.frozen
class VpcSpec:
    """A VPC: a private network of its own in one region."""

    cidr_block: str = spec_field(check=_cidr, doc="IPv4 CIDR block, /16 to /28 (`10.0.0.0/16`).")


@attrs.frozen
class SubnetSpec:
    """A subnet of a VPC, in one availability zone."""

    vpc: str = spec_field(ref="vpc", doc="Name of the `vpc` resource it belongs to.")
    cidr_block: str = spec_field(
        check=_cidr, doc="IPv4 CIDR block inside the VPC's, /16 to /28 (`10.0.1.0/24`)."
    )
    availability_zone: str | None = spec_field(
        default=None, doc="Zone such as `eu-west-1a` (else EC2 picks one)."
    )
    map_public_ip_on_launch: bool = spec_field(
        default=False, doc="Give instances launched in it a public IPv4 address."
    )


@attrs.frozen
class Rule:
    """One security group rule: a protocol, a port range, and where traffic may come from (or
    go to)."""

    protocol: Protocol = spec_field(doc="tcp, udp, icmp or all.")
    from_port: int | None = spec_field(
        default=None, doc="First port (tcp/udp), or the ICMP type (-1: any)."
    )
    to_port: int | None = spec_field(
        default=None, doc="Last port (tcp/udp), or the ICMP code (-1: any)."
    )
    cidr_blocks: tuple[str, ...] = spec_field(
        factory=tuple, check=_cidr_list, doc="IPv4 CIDR blocks (`203.0.113.0/24`)."
    )
    security_groups: tuple[str, ...] = spec_field(
        factory=tuple,
        ref="security_group",
        weak=True,  # a group may admit itself, or two each other: rules come once both exist
        doc="Names of `security_group` resources (its own too) whose members are admitted.",
    )


@attrs.frozen
class SecurityGroupSpec:
    """A security group: stateful firewall rules for instances of one VPC."""

    vpc: str | None = spec_field(
        default=None, ref="vpc", doc="Name of its `vpc` resource (else the default VPC)."
    )
    description: str = spec_field(
        default="managed by atlas", doc="Free text, at most 255 characters; fixed at create."
    )
    ingress: tuple[Rule, ...] = spec_field(factory=tuple, doc="Inbound rules.")
    egress: tuple[Rule, ...] | None = spec_field(
        default=None,
        doc="Outbound rules; when absent, EC2's default (everything allowed) is kept.",
    )


def _free(label: str, sku: str) -> Pricer:
    def price(_spec: object, lookup: PriceLookup) -> Sequence[LineItem]:
        return [lookup.line(label, sku)]

    return price


# -- checks -----------------------------------------------------------------------------------


def check_subnet(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: SubnetSpec = res.specifications
    yield from zone_problems(ctx, spec.availability_zone, "specifications.availability_zone")
    mine = network(spec.cidr_block)
    vpc = referenced(ctx.spec, spec.vpc, "vpc")
    if mine is None or vpc is None:
        return
    outer = network(vpc.specifications.cidr_block)
    if outer is not None and not mine.subnet_of(outer):
        yield Problem(
            "specifications.cidr_block",
            f"{spec.cidr_block} is not inside {spec.vpc!r}'s block {outer}",
        )
    for other in ctx.spec.resources:
        if other.name == res.name or other.type != "subnet":
            continue
        if other.specifications.vpc != spec.vpc:
            continue
        theirs = network(other.specifications.cidr_block)
        # Reported once, on the later of the two.
        if theirs is not None and mine.overlaps(theirs) and _before(ctx, other, res):
            yield Problem(
                "specifications.cidr_block",
                f"{spec.cidr_block} overlaps subnet {other.name!r} ({theirs}) of the same VPC",
            )


def _before(ctx: CheckContext, a: ResourceSpec, b: ResourceSpec) -> bool:
    names = [r.name for r in ctx.spec.resources]
    return names.index(a.name) < names.index(b.name)


def check_security_group(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: SecurityGroupSpec = res.specifications
    if len(spec.description) > 255:
        yield Problem("specifications.description", "EC2 allows 255 characters")
    for field, rules in (("ingress", spec.ingress), ("egress", spec.egress or ())):
        if len(rules) > MAX_RULES:
            yield Problem(f"specifications.{field}", f"EC2 allows {MAX_RULES} rules per direction")
        for i, rule in enumerate(rules):
            yield from _rule_problems(rule, f"specifications.{field}[{i}]", spec, ctx)


def _rule_problems(
    rule: Rule, path: str, spec: SecurityGroupSpec, ctx: CheckContext
) -> Iterator[Problem]:
    if not rule.cidr_blocks and not rule.security_groups:
        yield Problem(path, "name at least one of cidr_blocks or security_groups")
    for j, name in enumerate(rule.security_groups):
        other = referenced(ctx.spec, name, "security_group")
        if other is not None and other.specifications.vpc != spec.vpc:
            yield Problem(
                f"{path}.security_groups[{j}]",
                f"{name!r} is in another VPC; rules name groups of their own VPC",
            )
    yield from _port_problems(rule, path)


def _port_problems(rule: Rule, path: str) -> Iterator[Problem]:
    ports = (rule.from_port, rule.to_port)
    if rule.protocol == "all":
        if ports != (None, None):
            yield Problem(path, "protocol all takes no ports")
        return
    if None in ports:
        field = "from_port" if rule.from_port is None else "to_port"
        yield Problem(f"{path}.{field}", f"{rule.protocol} rules need from_port and to_port")
        return
    low, high = ports
    assert low is not None
    assert high is not None
    if rule.protocol == "icmp":
        for field, value in (("from_port", low), ("to_port", high)):
            if not -1 <= value <= 255:
                yield Problem(f"{path}.{field}", f"an ICMP type or code is -1 to 255; got {value}")
        return
    for field, value in (("from_port", low), ("to_port", high)):
        if not 0 <= value <= 65535:
            yield Problem(f"{path}.{field}", f"a port is 0 to 65535; got {value}")
    if low > high:
        yield Problem(f"{path}.to_port", f"{high} is below from_port {low}")


VPC_KIND = kind(
    "vpc", VpcSpec, "A VPC: a private network; free.", price=_free("VPC", "vpc:vpc"),
    replace_on=("cidr_block",),
    importable=True,
)  # fmt: skip
SUBNET_KIND = kind(
    "subnet", SubnetSpec, "A subnet of a VPC in one zone; free.", check=check_subnet,
    price=_free("Subnet", "subnet:subnet"),
    replace_on=("vpc", "cidr_block", "availability_zone"),
    importable=True,
)  # fmt: skip
SG_KIND = kind(
    "security_group", SecurityGroupSpec, "A security group: firewall rules; free.",
    check=check_security_group, replace_on=("vpc", "description"),
    importable=True,
    price=_free("Security group", "security_group:security_group"),
)  # fmt: skip
