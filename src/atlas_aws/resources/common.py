"""What the AWS resource kinds share: their declaration (the core's kind factory, bound to
"aws"), the core's small field checks, and EC2's CIDR and zone rules."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

from atlas.exceptions import Problem
from atlas.providers.declarations import CheckContext
from atlas.providers.kinds import between, kind_factory, nearest, referenced
from atlas.providers.kinds import max_bytes as _max_bytes

__all__ = [
    "between",
    "cidr_problem",
    "kind",
    "max_bytes",
    "nearest",
    "network",
    "referenced",
    "zone_problems",
]

#: The prefix lengths EC2 accepts for a VPC's or a subnet's IPv4 block.
PREFIX_RANGE = (16, 28)


#: Declares an AWS resource kind (see :func:`atlas.providers.kinds.kind_factory`).
kind = kind_factory("aws")


def max_bytes(limit: int) -> Callable[[str], str | None]:
    """At most ``limit`` bytes of UTF-8, as EC2 counts user data."""
    return _max_bytes(limit, who="EC2 allows")


def network(value: str) -> ipaddress.IPv4Network | None:
    """``value`` as an IPv4 network, or ``None`` when it is not one (see :func:`cidr_problem`)."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


def cidr_problem(value: str, *, sized: bool = True) -> str | None:
    """Why ``value`` is not an IPv4 CIDR block EC2 accepts (``sized``: for a VPC or subnet,
    /16 to /28), or ``None``."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"{value!r} is not a CIDR block ({exc})"
    if not isinstance(net, ipaddress.IPv4Network):
        return f"{value!r} is not an IPv4 CIDR block"
    low, high = PREFIX_RANGE
    if sized and not low <= net.prefixlen <= high:
        return f"EC2 takes a /{low} to /{high} block; {value!r} is a /{net.prefixlen}"
    return None


def zone_problems(ctx: CheckContext, zone: str | None, path: str) -> Iterator[Problem]:
    """``zone`` must be a zone of the spec's region."""
    from atlas_aws.prices import load_offerings  # noqa: PLC0415 - avoids an import cycle

    if zone is None:
        return
    zones = load_offerings().zones.get(ctx.spec.region)
    if zones is not None and zone not in zones:
        yield Problem(path, f"{zone!r} is not a zone of {ctx.spec.region}{nearest(zone, zones)}")
