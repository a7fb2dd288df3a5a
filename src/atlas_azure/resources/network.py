"""The Standard load balancer, priced by its rules."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.fields import spec_field
from atlas_azure.resources.common import between, kind

__all__ = ["INCLUDED_RULES", "KIND", "LoadBalancerSpec"]

#: The hourly charge of a Standard load balancer covers its first five rules.
INCLUDED_RULES = 5


@attrs.frozen
class LoadBalancerSpec:
    """A Standard SKU load balancer in front of virtual machines."""

    rules: int = spec_field(
        default=1,
        check=between(1, 1000),
        doc="Load-balancing, outbound and inbound NAT rules together, 1 to 1000.",
    )
    targets: tuple[str, ...] = spec_field(
        factory=tuple, ref="virtual_machine", doc="Names of the `virtual_machine` resources."
    )


def price(spec: LoadBalancerSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    """The per-GB data processing charge depends on traffic and is not estimated."""
    lines = [lookup.line("Standard load balancer (first 5 rules)", "lb-rules:standard:first-5")]
    more = spec.rules - INCLUDED_RULES
    if more > 0:
        lines.append(lookup.line(f"Rules beyond 5 x {more}", "lb-rules:standard:additional", more))
    return lines


KIND = kind(
    "load_balancer", LoadBalancerSpec, "A Standard load balancer, priced by its rules.",
    price=price,
)  # fmt: skip
