"""Regional load balancers in front of droplets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_digitalocean.naming import TAG_PATTERN
from atlas_digitalocean.resources.common import between, kind

__all__ = ["KIND", "ForwardingRule", "HealthCheck", "LoadBalancerSpec", "StickySessions"]

_port = between(1, 65535)


@attrs.frozen
class ForwardingRule:
    """Traffic arriving on ``entry_port`` goes to ``target_port`` on the droplets."""

    entry_protocol: Literal["http", "https", "http2", "http3", "tcp", "udp"] = spec_field(
        doc="Protocol clients speak: http, https, http2, http3, tcp or udp."
    )
    entry_port: int = spec_field(check=_port, doc="Port clients connect to.")
    target_protocol: Literal["http", "https", "http2", "tcp", "udp"] = spec_field(
        doc="Protocol spoken to the droplets."
    )
    target_port: int = spec_field(check=_port, doc="Port on the droplets.")
    certificate_id: str | None = spec_field(
        default=None, doc="Certificate for https/http2/http3 entry (unless TLS passes through)."
    )
    tls_passthrough: bool = spec_field(
        default=False, doc="Pass TLS through to the droplets instead of terminating it."
    )


@attrs.frozen
class HealthCheck:
    """How the load balancer decides a droplet is healthy."""

    protocol: Literal["http", "https", "tcp"] = spec_field(
        default="http", doc="http, https or tcp."
    )
    port: int = spec_field(default=80, check=_port, doc="Port to probe.")
    path: str = spec_field(default="/", doc="Path to request (http and https).")
    check_interval_seconds: int = spec_field(default=10, check=between(3, 300), doc="Interval.")
    response_timeout_seconds: int = spec_field(default=5, check=between(3, 300), doc="Timeout.")
    healthy_threshold: int = spec_field(default=3, check=between(2, 10), doc="Passes to be up.")
    unhealthy_threshold: int = spec_field(default=5, check=between(2, 10), doc="Fails to be down.")


@attrs.frozen
class StickySessions:
    """Whether a client keeps going to the same droplet."""

    type: Literal["none", "cookies"] = spec_field(default="none", doc="`none` or `cookies`.")
    cookie_name: str | None = spec_field(default=None, doc="Cookie name (with `cookies`).")
    cookie_ttl_seconds: int | None = spec_field(
        default=None, check=between(1, 2**31), doc="Cookie lifetime (with `cookies`)."
    )


_TLS_ENTRY = ("https", "http2", "http3")


@attrs.frozen
class LoadBalancerSpec:
    """A load balancer targeting droplets by name or by tag."""

    droplets: tuple[str, ...] = spec_field(
        factory=tuple, ref="droplet", doc="Names of `droplet` resources to balance over."
    )
    tag: str | None = spec_field(
        default=None, doc="Or: balance over every droplet with this tag (not with `droplets`)."
    )
    forwarding_rules: tuple[ForwardingRule, ...] | None = spec_field(
        default=None, create_only=True, doc="At least one rule (needed to create, not to price)."
    )
    health_check: HealthCheck | None = spec_field(default=None, doc="Health check settings.")
    sticky_sessions: StickySessions | None = spec_field(default=None, doc="Session affinity.")
    size_unit: int = spec_field(
        default=1, check=between(1, 100), doc="Nodes, 1 to 100; sets the price."
    )
    redirect_http_to_https: bool = spec_field(default=False, doc="Redirect port 80 to 443.")
    vpc: str | None = spec_field(default=None, ref="vpc", doc="Name of a `vpc` resource.")


def price(spec: LoadBalancerSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    nodes = f" x {spec.size_unit} nodes" if spec.size_unit > 1 else ""
    return [lookup.line(f"Load balancer{nodes}", "load_balancer:node", spec.size_unit)]


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: LoadBalancerSpec = res.specifications
    if spec.droplets and spec.tag is not None:
        yield Problem("specifications.tag", "give either droplets or tag, not both")
    if spec.tag is not None and not TAG_PATTERN.match(spec.tag):
        yield Problem("specifications.tag", f"{spec.tag!r} is not a valid DigitalOcean tag")
    if ctx.purpose == "create" and spec.forwarding_rules == ():
        yield Problem("specifications.forwarding_rules", "needs at least one forwarding rule")
    for i, rule in enumerate(spec.forwarding_rules or ()):
        if rule.entry_protocol in _TLS_ENTRY and not (rule.certificate_id or rule.tls_passthrough):
            yield Problem(
                f"specifications.forwarding_rules[{i}].certificate_id",
                f"{rule.entry_protocol} entry needs a certificate_id or tls_passthrough: true",
            )


KIND = kind(
    "load_balancer", LoadBalancerSpec, "A regional load balancer; priced per node.",
    price=price, check=check, replace_on=("vpc",), taggable=False,
)  # fmt: skip
