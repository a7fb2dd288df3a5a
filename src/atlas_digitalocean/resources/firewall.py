"""Cloud firewalls: inbound and outbound rules applied to droplets."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import Label, spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_digitalocean.resources.common import check_tags, count_of, kind, valid_address

__all__ = ["KIND", "Endpoints", "FirewallSpec", "InboundRule", "OutboundRule"]

#: DigitalOcean's limits per firewall.
MAX_RULES, MAX_DROPLETS, MAX_TAGS = 50, 10, 5


_PORTS = re.compile(r"(\d+)(?:-(\d+))?|all")


def _ports_check(value: str) -> str | None:
    match = _PORTS.fullmatch(value)
    if match is None:
        return f"{value!r} is not a port, a range like '8000-9000', '0' or 'all'"
    low, high = match.group(1), match.group(2)
    if low is not None and (
        int(low) > 65535 or (high is not None and not int(low) < int(high) <= 65535)
    ):
        return f"{value!r} is not a valid port or ascending range up to 65535"
    return None


def _address_list(values: tuple[str, ...]) -> str | None:
    bad = [msg for v in values if (msg := valid_address(v))]
    return "; ".join(bad) or None


@attrs.frozen
class Endpoints:
    """Where traffic may come from (``sources``) or go to (``destinations``)."""

    addresses: tuple[str, ...] = spec_field(
        factory=tuple, check=_address_list, doc="IP addresses or CIDR blocks."
    )
    droplets: tuple[str, ...] = spec_field(
        factory=tuple, ref="droplet", doc="Names of `droplet` resources."
    )
    load_balancers: tuple[str, ...] = spec_field(
        factory=tuple, ref="load_balancer", doc="Names of `load_balancer` resources."
    )
    tags: tuple[str, ...] = spec_field(factory=tuple, doc="Droplet tags.")

    def empty(self) -> bool:
        return not (self.addresses or self.droplets or self.load_balancers or self.tags)


_PORTS_DOC = "A port, a range `8000-9000`, or `0` / `all` for every port (tcp and udp only)."


@attrs.frozen
class InboundRule:
    protocol: Literal["tcp", "udp", "icmp"] = spec_field(doc="tcp, udp or icmp.")
    ports: Label | None = spec_field(default=None, check=_ports_check, doc=_PORTS_DOC)
    sources: Endpoints = spec_field(doc="Where the traffic may come from.")


@attrs.frozen
class OutboundRule:
    protocol: Literal["tcp", "udp", "icmp"] = spec_field(doc="tcp, udp or icmp.")
    ports: Label | None = spec_field(default=None, check=_ports_check, doc=_PORTS_DOC)
    destinations: Endpoints = spec_field(doc="Where the traffic may go.")


@attrs.frozen
class FirewallSpec:
    """A cloud firewall."""

    inbound_rules: tuple[InboundRule, ...] = spec_field(factory=tuple, doc="Allowed inbound.")
    outbound_rules: tuple[OutboundRule, ...] = spec_field(factory=tuple, doc="Allowed outbound.")
    droplets: tuple[str, ...] = spec_field(
        factory=tuple, ref="droplet", doc="Names of `droplet` resources it protects."
    )
    tags: tuple[str, ...] = spec_field(factory=tuple, doc="Or: protect droplets with these tags.")


def price(_spec: FirewallSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line("Cloud firewall", "firewall:firewall")]


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: FirewallSpec = res.specifications
    if not spec.inbound_rules and not spec.outbound_rules:
        yield Problem("specifications", "a firewall needs at least one inbound or outbound rule")
    if len(spec.inbound_rules) + len(spec.outbound_rules) > MAX_RULES:
        yield Problem("specifications", f"DigitalOcean allows {MAX_RULES} rules per firewall")
    yield from _check_rules(spec)
    droplets = sum(_count(ctx, name) for name in spec.droplets)
    if droplets > MAX_DROPLETS:
        yield Problem(
            "specifications.droplets",
            f"targets {droplets} droplets; DigitalOcean allows {MAX_DROPLETS} (use tags instead)",
        )
    if len(spec.tags) > MAX_TAGS:
        yield Problem("specifications.tags", f"DigitalOcean allows {MAX_TAGS} tags per firewall")
    yield from check_tags(spec.tags, "specifications.tags")


def _check_rules(spec: FirewallSpec) -> Iterator[Problem]:
    rules = [
        ("inbound_rules", i, r.protocol, r.ports, r.sources, "sources")
        for i, r in enumerate(spec.inbound_rules)
    ]
    rules += [
        ("outbound_rules", i, r.protocol, r.ports, r.destinations, "destinations")
        for i, r in enumerate(spec.outbound_rules)
    ]
    for field, i, protocol, ports, ends, ends_name in rules:
        path = f"specifications.{field}[{i}]"
        if protocol == "icmp" and ports not in (None, "0", "all"):
            yield Problem(f"{path}.ports", "icmp rules take no ports")
        if protocol != "icmp" and ports is None:
            yield Problem(f"{path}.ports", f"{protocol} rules need ports ('0' or 'all' for all)")
        if ends.empty():
            yield Problem(f"{path}.{ends_name}", "name at least one address, droplet, LB or tag")
        yield from check_tags(ends.tags, f"{path}.{ends_name}.tags")


def _count(ctx: CheckContext, name: str) -> int:
    try:
        return count_of(ctx.spec.resource(name))
    except KeyError:
        return 1


KIND = kind(
    "firewall", FirewallSpec, "A cloud firewall for droplets; free.",
    price=price, check=check, taggable=False,
)  # fmt: skip
