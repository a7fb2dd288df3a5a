"""VPCs: private networks that droplets, databases and load balancers join."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.fields import spec_field
from atlas_digitalocean.resources.common import kind, max_chars

__all__ = ["KIND", "VpcSpec"]

_PRIVATE = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


def _is_private(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(p) for p in _PRIVATE)


def private_range(value: str) -> str | None:
    """An RFC 1918 network from /16 to /28, as DigitalOcean requires."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"{value!r} is not a CIDR block ({exc})"
    if not isinstance(net, ipaddress.IPv4Network) or not _is_private(net):
        return f"{value!r} is not a private (RFC 1918) IPv4 range"
    if not 16 <= net.prefixlen <= 28:
        return f"the prefix must be from /16 to /28; got /{net.prefixlen}"
    return None


@attrs.frozen
class VpcSpec:
    """A VPC network."""

    ip_range: str | None = spec_field(
        default=None,
        check=private_range,
        doc="RFC 1918 CIDR block, /16 to /28 (else DigitalOcean picks a /20).",
    )
    description: str | None = spec_field(
        default=None, check=max_chars(255), doc="Free text, at most 255 characters."
    )


def price(_spec: VpcSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line("VPC network", "vpc:vpc")]


KIND = kind(
    "vpc", VpcSpec, "A private network; free.",
    price=price, replace_on=("ip_range",), taggable=False,
)  # fmt: skip
