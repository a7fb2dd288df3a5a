"""The portable kinds: what a spec asks for without naming a cloud's own kinds.

``server``, ``volume``, ``database``, ``load_balancer``, ``firewall`` and ``network`` describe
*needs* (at least 2 vCPUs and 4 GB, PostgreSQL 15, a listener on port 80) rather than offerings
(``s-2vcpu-4gb``, ``t3.medium``). Each provider plugin translates them to its own kinds through
the ``atlas_portable_translator`` hook (:mod:`atlas.portable.contract`), choosing the cheapest
offering that meets every minimum.

They are declared as :class:`~atlas.providers.ResourceKind` s of the pseudo-provider ``any``
so that a portable spec is validated by the same validator as any other (field types, paths,
references, checks); they are never registered with a real registry, and nothing creates them
as such.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from atlas.exceptions import Problem
from atlas.model.fields import Label, spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext, ProviderInfo, ResourceKind

__all__ = [
    "ANY",
    "PORTABLE_INFO",
    "PORTABLE_KINDS",
    "PORTABLE_TYPES",
    "DatabaseNeeds",
    "FirewallNeeds",
    "FirewallRule",
    "Listener",
    "LoadBalancerNeeds",
    "NetworkNeeds",
    "ServerNeeds",
    "VolumeNeeds",
    "port_range",
]

#: The provider name of a spec that lets atlas place it.
ANY = "any"

Arch = Literal["x86_64", "arm64", "any"]
Engine = Literal["postgres", "mysql"]
ListenerProtocol = Literal["http", "https", "tcp"]
RuleProtocol = Literal["tcp", "udp", "icmp", "all"]

_PORTS = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def _at_least(low: int | Decimal) -> Any:
    def check(value: int | Decimal) -> str | None:
        return None if value >= low else f"must be at least {low}"

    return check


def _between(low: int, high: int) -> Any:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def _port(value: int | None) -> str | None:
    if value is None:
        return None
    return None if 1 <= value <= 65535 else "must be a port, 1 to 65535"


def port_range(text: str | None) -> tuple[int, int] | None:
    """``"22"`` → ``(22, 22)``, ``"8000-8100"`` → ``(8000, 8100)``; ``None`` (every port) →
    ``None``. Raises :class:`ValueError` for anything else."""
    if text is None:
        return None
    match = _PORTS.match(text)
    if match is None:
        raise ValueError("expected a port (22) or a range (8000-8100)")
    low = int(match[1])
    high = int(match[2] or low)
    if not 1 <= low <= high <= 65535:
        raise ValueError("ports run from 1 to 65535, the first of a range not above the last")
    return low, high


def _ports_problem(value: str | None) -> str | None:
    try:
        port_range(value)
    except ValueError as exc:
        return str(exc)
    return None


def _cidr_problem(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return f"{value!r} is not a CIDR block such as 10.0.0.0/16 (host bits must be zero)"
    return None


def _cidrs_problem(values: tuple[str, ...]) -> str | None:
    for i, value in enumerate(values):
        problem = _cidr_problem(value)
        if problem is not None:
            return f"[{i}]: {problem}"
    return None


def _private_range(value: str) -> str | None:
    problem = _cidr_problem(value)
    if problem is not None:
        return problem
    net = ipaddress.ip_network(value)
    if not isinstance(net, ipaddress.IPv4Network) or not net.is_private:
        return "must be a private IPv4 range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
    if not 16 <= net.prefixlen <= 24:
        return "must be a /16 to a /24 (what every provider accepts for a network)"
    return None


@attrs.frozen
class ServerNeeds:
    """A virtual machine: the smallest offering with at least these resources."""

    vcpus: int = spec_field(check=_between(1, 448), doc="Virtual CPUs, at least.")
    memory_gb: Decimal = spec_field(check=_at_least(Decimal("0.5")), doc="Memory in GB, at least.")
    arch: Arch = spec_field(
        default="x86_64", doc="CPU architecture: x86_64 (default), arm64, or any (cheapest wins)."
    )
    image: str = spec_field(
        default="ubuntu-24.04",
        doc="Operating system by name: ubuntu-24.04 (default), ubuntu-22.04, debian-12.",
    )
    disk_gb: int | None = spec_field(
        default=None, check=_between(1, 16384), doc="Boot disk in GB, at least."
    )
    count: int = spec_field(default=1, check=_between(1, 1000), doc="How many alike.")
    network: str | None = spec_field(
        default=None, ref="network", doc="Name of the `network` resource it joins."
    )


@attrs.frozen
class VolumeNeeds:
    """Block storage."""

    size_gb: int = spec_field(check=_between(1, 16384), doc="Size in GB.")
    attach_to: str | None = spec_field(
        default=None, ref="server", doc="Name of the `server` resource to attach it to."
    )


@attrs.frozen
class DatabaseNeeds:
    """A managed database cluster."""

    engine: Engine = spec_field(doc="postgres or mysql.")
    version: Label = spec_field(doc="Major version, such as 15 (PostgreSQL) or 8 (MySQL).")
    vcpus: int = spec_field(default=1, check=_between(1, 128), doc="vCPUs per node, at least.")
    memory_gb: Decimal = spec_field(
        default=Decimal(1), check=_at_least(Decimal("0.5")), doc="Memory per node in GB, at least."
    )
    storage_gb: int = spec_field(
        default=10, check=_between(10, 65536), doc="Storage in GB, at least."
    )
    nodes: int = spec_field(
        default=1, check=_between(1, 3), doc="Nodes: 1, or 2 to 3 for standbys."
    )
    network: str | None = spec_field(
        default=None, ref="network", doc="Name of the `network` resource it joins."
    )


@attrs.frozen
class Listener:
    """A port the load balancer listens on, and where it forwards."""

    port: int = spec_field(check=_port, doc="Port it listens on.")
    protocol: ListenerProtocol = spec_field(default="http", doc="http (default), https or tcp.")
    target_port: int | None = spec_field(
        default=None, check=_port, doc="Port on the servers (else the same)."
    )


@attrs.frozen
class LoadBalancerNeeds:
    """A load balancer in front of servers."""

    targets: tuple[str, ...] = spec_field(
        factory=tuple, ref="server", doc="Names of the `server` resources it forwards to."
    )
    listeners: tuple[Listener, ...] = spec_field(
        factory=lambda: (Listener(port=80),), doc="What it listens on (default: http on 80)."
    )
    network: str | None = spec_field(
        default=None, ref="network", doc="Name of the `network` resource it sits in."
    )


@attrs.frozen
class FirewallRule:
    """Traffic let through."""

    protocol: RuleProtocol = spec_field(default="tcp", doc="tcp (default), udp, icmp or all.")
    ports: Label | None = spec_field(
        default=None,
        check=_ports_problem,
        doc="A port (22) or a range (8000-8100); else all.",
    )
    cidrs: tuple[str, ...] = spec_field(
        factory=lambda: ("0.0.0.0/0",),
        check=_cidrs_problem,
        doc="Addresses it admits (inbound) or reaches (outbound); default everywhere.",
    )


@attrs.frozen
class FirewallNeeds:
    """Rules around servers; what they do not let through is dropped."""

    targets: tuple[str, ...] = spec_field(
        factory=tuple, ref="server", doc="Names of the `server` resources it guards."
    )
    inbound: tuple[FirewallRule, ...] = spec_field(factory=tuple, doc="Inbound rules.")
    outbound: tuple[FirewallRule, ...] | None = spec_field(
        default=None, doc="Outbound rules (else everything is let out)."
    )


@attrs.frozen
class NetworkNeeds:
    """A private network."""

    ip_range: str = spec_field(
        check=_private_range, doc="Private IPv4 range, /16 to /24 (10.10.0.0/16)."
    )


def _load_balancer_check(resource: ResourceSpec, _context: CheckContext) -> Iterator[Problem]:
    spec: LoadBalancerNeeds = resource.specifications
    if not spec.listeners:
        yield Problem("specifications.listeners", "a load balancer needs at least one listener")
    ports = [listener.port for listener in spec.listeners]
    for i, port in enumerate(ports):
        if port in ports[:i]:
            yield Problem(f"specifications.listeners[{i}].port", f"port {port} is used twice")


def _kind(type_: str, cls: type, summary: str, **kw: Any) -> ResourceKind:
    return ResourceKind(ANY, type_, cls, summary, **kw)


#: The portable kinds by type.
PORTABLE_KINDS: Mapping[str, ResourceKind] = {
    k.type: k
    for k in (
        _kind("server", ServerNeeds, "A virtual machine, by its minimum vCPUs and memory."),
        _kind("volume", VolumeNeeds, "Block storage, optionally attached to a server."),
        _kind("database", DatabaseNeeds, "A managed PostgreSQL or MySQL database."),
        _kind(
            "load_balancer",
            LoadBalancerNeeds,
            "A load balancer in front of servers.",
            check=_load_balancer_check,
        ),
        _kind("firewall", FirewallNeeds, "Inbound and outbound rules around servers."),
        _kind("network", NetworkNeeds, "A private network."),
    )
}
PORTABLE_TYPES = frozenset(PORTABLE_KINDS)

#: The pseudo-provider portable specs are validated as.
PORTABLE_INFO = ProviderInfo(name=ANY, title="any provider", package="atlas-infra")
