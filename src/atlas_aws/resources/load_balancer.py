"""ELBv2 load balancers (application or network) in front of instances of one VPC."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_aws.resources.common import between, kind, referenced

__all__ = [
    "ASSUMED_CAPACITY_UNITS",
    "KIND",
    "PROTOCOLS",
    "Listener",
    "LoadBalancerSpec",
    "capacity_sku",
    "hours_sku",
]

LbType = Literal["application", "network"]
Protocol = Literal["HTTP", "HTTPS", "TCP", "UDP", "TLS", "TCP_UDP"]
#: The listener protocols each type takes.
PROTOCOLS: Mapping[str, frozenset[str]] = {
    "application": frozenset({"HTTP", "HTTPS"}),
    "network": frozenset({"TCP", "UDP", "TLS", "TCP_UDP"}),
}
#: Listeners that terminate TLS: they need a certificate.
SECURE = frozenset({"HTTPS", "TLS"})
#: The capacity units an estimate assumes per hour: LCUs are metered by traffic (new and
#: active connections, bytes, rule evaluations), which a spec does not say; one is a small
#: site's load and shows the unit's price on its own line.
ASSUMED_CAPACITY_UNITS = 1
#: ELBv2's default quota of listeners per load balancer.
MAX_LISTENERS = 50
_CERTIFICATE = re.compile(
    r"^arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate|server-certificate)/"
)
_port = between(1, 65535)


def hours_sku(region: str, lb_type: str) -> str:
    return f"load_balancer:{region}:{lb_type}"


def capacity_sku(region: str, lb_type: str) -> str:
    return f"load_balancer-capacity:{region}:{lb_type}"


@attrs.frozen
class Listener:
    """Traffic arriving on ``port`` goes to ``target_port`` on every target."""

    port: int = spec_field(check=_port, doc="Port clients connect to, 1 to 65535.")
    protocol: Protocol = spec_field(
        doc="HTTP or HTTPS (application); TCP, UDP, TLS or TCP_UDP (network)."
    )
    target_port: int | None = spec_field(
        default=None, check=_port, doc="Port on the targets (else the listener's port)."
    )
    certificate_arn: str | None = spec_field(
        default=None, doc="ARN of the ACM (or IAM) certificate an HTTPS or TLS listener serves."
    )

    @property
    def to_port(self) -> int:
        return self.target_port or self.port


@attrs.frozen
class LoadBalancerSpec:
    """An Elastic Load Balancing v2 load balancer forwarding to instances."""

    type: LbType = spec_field(
        default="application", doc="`application` (HTTP/HTTPS) or `network` (TCP/UDP/TLS)."
    )
    subnets: tuple[str, ...] = spec_field(
        factory=tuple,
        ref="subnet",
        doc="Names of `subnet` resources of one VPC; an application one needs two zones.",
    )
    security_groups: tuple[str, ...] = spec_field(
        factory=tuple,
        ref="security_group",
        doc="Names of `security_group` resources (application only).",
    )
    listeners: tuple[Listener, ...] = spec_field(
        factory=tuple, doc="What it listens on: `port`, `protocol`, `target_port`."
    )
    targets: tuple[str, ...] = spec_field(
        factory=tuple,
        ref="instance",
        doc="Names of `instance` resources; a counted one adds all its instances.",
    )
    internal: bool = spec_field(
        default=False, doc="Reachable only from inside the VPC (else internet-facing)."
    )


def price(spec: LoadBalancerSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    region = lookup.region
    if spec.type == "application":
        what, unit = "Application Load Balancer", "LCU"
    else:
        what, unit = "Network Load Balancer", "NLCU"
    n = ASSUMED_CAPACITY_UNITS
    return [
        lookup.line(what, hours_sku(region, spec.type)),
        lookup.line(
            f"{what} capacity: {n} {unit} assumed (billed by traffic)",
            capacity_sku(region, spec.type),
            n,
        ),
    ]


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: LoadBalancerSpec = res.specifications
    yield from _subnet_problems(spec, ctx)
    if spec.security_groups and spec.type == "network":
        yield Problem("specifications.security_groups", "atlas gives groups to application ones")
    yield from _listener_problems(spec, ctx)
    yield from _vpc_problems(spec, ctx)


def _subnet_problems(spec: LoadBalancerSpec, ctx: CheckContext) -> Iterator[Problem]:
    path = "specifications.subnets"
    if not spec.subnets:
        if ctx.purpose == "create":
            yield Problem(path, "name at least one subnet")
        return
    if len(set(spec.subnets)) != len(spec.subnets):
        yield Problem(path, "names a subnet twice")
    zones: dict[str, str] = {}
    for i, name in enumerate(spec.subnets):
        subnet = referenced(ctx.spec, name, "subnet")
        zone = subnet.specifications.availability_zone if subnet is not None else None
        if zone is None:
            continue
        if zone in zones and zones[zone] != name:
            yield Problem(
                f"{path}[{i}]",
                f"{name!r} is in {zone}, as {zones[zone]!r} is: ELB takes one subnet per zone",
            )
        zones.setdefault(zone, name)
    if spec.type != "application":
        return
    if len(spec.subnets) < 2 or (
        len(zones) < 2
        and all(
            (s := referenced(ctx.spec, n, "subnet")) is not None
            and s.specifications.availability_zone
            for n in spec.subnets
        )
    ):
        yield Problem(path, "an application load balancer needs subnets in at least two zones")


def _listener_problems(spec: LoadBalancerSpec, ctx: CheckContext) -> Iterator[Problem]:
    path = "specifications.listeners"
    if not spec.listeners and ctx.purpose == "create":
        yield Problem(path, "name at least one listener")
    if len(spec.listeners) > MAX_LISTENERS:
        yield Problem(path, f"ELB allows {MAX_LISTENERS} listeners per load balancer")
    allowed = PROTOCOLS[spec.type]
    seen: dict[int, int] = {}
    for i, listener in enumerate(spec.listeners):
        where = f"{path}[{i}]"
        if listener.protocol not in allowed:
            yield Problem(
                f"{where}.protocol",
                f"a {spec.type} load balancer listens on {', '.join(sorted(allowed))}; "
                f"not {listener.protocol}",
            )
        if listener.port in seen:
            yield Problem(
                f"{where}.port",
                f"port {listener.port} is taken by listeners[{seen[listener.port]}]",
            )
        seen.setdefault(listener.port, i)
        yield from _certificate_problems(listener, where)


def _certificate_problems(listener: Listener, where: str) -> Iterator[Problem]:
    cert = listener.certificate_arn
    if listener.protocol in SECURE and cert is None:
        yield Problem(
            f"{where}.certificate_arn",
            f"a {listener.protocol} listener needs the ARN of a certificate (ACM or IAM)",
        )
    elif listener.protocol not in SECURE and cert is not None:
        yield Problem(f"{where}.certificate_arn", f"a {listener.protocol} listener takes none")
    elif cert is not None and not _CERTIFICATE.match(cert):
        yield Problem(
            f"{where}.certificate_arn",
            f"{cert!r} is not a certificate ARN (arn:aws:acm:<region>:<account>:certificate/...)",
        )


def _vpc_of_subnet(ctx: CheckContext, name: str | None) -> tuple[bool, str | None]:
    """(known, VPC name) of the subnet ``name`` (``None``: the default VPC)."""
    if name is None:
        return True, None
    subnet = referenced(ctx.spec, name, "subnet")
    return (False, None) if subnet is None else (True, subnet.specifications.vpc)


def _vpc_problems(spec: LoadBalancerSpec, ctx: CheckContext) -> Iterator[Problem]:
    """Subnets, groups and targets of one VPC (the first subnet's)."""
    vpc: str | None = None
    for i, name in enumerate(spec.subnets):
        known, theirs = _vpc_of_subnet(ctx, name)
        if not known:
            continue
        if i and vpc is not None and theirs != vpc:
            yield Problem(
                f"specifications.subnets[{i}]",
                f"{name!r} is in VPC {theirs!r}, {spec.subnets[0]!r} in {vpc!r}: "
                "a load balancer's subnets share one VPC",
            )
        vpc = vpc or theirs
    if vpc is None:
        return
    for i, name in enumerate(spec.security_groups):
        group = referenced(ctx.spec, name, "security_group")
        if group is not None and group.specifications.vpc != vpc:
            yield Problem(
                f"specifications.security_groups[{i}]",
                f"{name!r} is not in the load balancer's VPC {vpc!r}",
            )
    for i, name in enumerate(spec.targets):
        instance = referenced(ctx.spec, name, "instance")
        if instance is None:
            continue
        known, theirs = _vpc_of_subnet(ctx, instance.specifications.subnet)
        if known and theirs != vpc:
            where = f"VPC {theirs!r}" if theirs else "the default VPC"
            yield Problem(
                f"specifications.targets[{i}]",
                f"{name!r} is in {where}; a load balancer's targets are in its VPC {vpc!r}",
            )


KIND = kind(
    "load_balancer", LoadBalancerSpec,
    "An ELBv2 load balancer (application or network) in front of instances; priced per hour "
    "plus capacity units.",
    price=price, check=check, replace_on=("type", "subnets", "security_groups", "internal"),
    importable=True,
)  # fmt: skip
