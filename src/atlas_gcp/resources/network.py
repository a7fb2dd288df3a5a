"""Load balancers, priced by their forwarding rules."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.fields import spec_field
from atlas_gcp.resources.common import between, kind

__all__ = ["INCLUDED_RULES", "KIND", "LoadBalancerSpec"]

#: The first five forwarding rules cost one rate, each further one another.
INCLUDED_RULES = 5


@attrs.frozen
class LoadBalancerSpec:
    """An external Application Load Balancer in front of instances."""

    forwarding_rules: int = spec_field(
        default=1, check=between(1, 100), doc="Forwarding rules (frontends), 1 to 100."
    )
    targets: tuple[str, ...] = spec_field(
        factory=tuple, ref="instance", doc="Names of the `instance` resources it serves."
    )


def price(spec: LoadBalancerSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    """Each load balancer is priced as if its rules were the project's first ones; the
    per-GB data processing charge depends on traffic and is not estimated."""
    first = min(spec.forwarding_rules, INCLUDED_RULES)
    lines = [lookup.line(f"Forwarding rules x {first}", "forwarding-rule:first-5", first)]
    more = spec.forwarding_rules - first
    if more:
        lines.append(
            lookup.line(f"Forwarding rules beyond 5 x {more}", "forwarding-rule:additional", more)
        )
    return lines


KIND = kind(
    "load_balancer", LoadBalancerSpec, "A load balancer, priced by its forwarding rules.",
    price=price,
)  # fmt: skip
