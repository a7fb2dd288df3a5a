"""The memory cloud's resource kinds: what each specification holds, what it costs, and what
the memory cloud would refuse, checked offline."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.declarations import CheckContext, ResourceKind

__all__ = [
    "DISK",
    "KINDS",
    "NETWORK",
    "REGIONS",
    "SERVER",
    "DiskSpec",
    "NetworkSpec",
    "ServerSpec",
    "check_spec",
]

#: Regions of the memory cloud.
REGIONS = ("mem-1", "mem-2")
#: Tag keys atlas keeps for its own marks.
RESERVED_TAG_PREFIX = "atlas:"


def _between(low: int, high: int) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be from {low} to {high}; got {value}"

    return check


def _cidr(value: str) -> str | None:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        return f"{value!r} is not a CIDR block (like 10.20.0.0/16)"
    return None


@attrs.frozen
class NetworkSpec:
    """A private network."""

    ip_range: str = spec_field(
        check=_cidr, doc="Address range in CIDR form, e.g. `10.20.0.0/16`; cannot change."
    )


@attrs.frozen
class ServerSpec:
    """One server, or `count` identical ones."""

    size: str = spec_field(doc="`small`, `medium` or `large`; sets the price.")
    image: str | None = spec_field(
        default=None, create_only=True, doc="Image to boot, e.g. `debian-12`."
    )
    count: int = spec_field(default=1, check=_between(1, 50), doc="Identical servers, 1 to 50.")
    network: str | None = spec_field(
        default=None, ref="network", doc="Name of a `network` resource to join."
    )


@attrs.frozen
class DiskSpec:
    """A disk, attachable to one server."""

    size_gb: int = spec_field(
        check=_between(1, 4096), doc="Size in GB, 1 to 4096; sets the price; only grows."
    )
    attach_to: str | None = spec_field(
        default=None, ref="server", doc="Name of the `server` resource to attach to."
    )


def price_network(_spec: NetworkSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line("Private network", "network:network")]


def price_server(spec: ServerSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    times = f" x {spec.count}" if spec.count > 1 else ""
    return [lookup.line(f"Server {spec.size}{times}", f"server:{spec.size}", spec.count)]


def price_disk(spec: DiskSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line(f"Disk {spec.size_gb} GB", "disk:gb", spec.size_gb)]


def check_server(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: ServerSpec = res.specifications
    # The priced sizes are the offered ones: a size that validates always has a price.
    sizes = ctx.catalog.variants("server") if ctx.catalog is not None else ()
    if sizes and spec.size not in sizes:
        yield Problem(
            "specifications.size",
            f"unknown size {spec.size!r}; the memory cloud has " + ", ".join(sizes),
        )


def check_disk(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: DiskSpec = res.specifications
    try:  # (by the spec's index: a scan of every resource for every disk is quadratic)
        target = ctx.spec.resource(spec.attach_to) if spec.attach_to is not None else None
    except KeyError:
        target = None
    # A missing or mistyped target is reported with the other references.
    server = target.specifications if target is not None else None
    if isinstance(server, ServerSpec) and server.count != 1:
        yield Problem(
            "specifications.attach_to",
            f"{spec.attach_to!r} is {server.count} servers; a disk attaches to one",
        )


def _grows_only(field: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]:
    """A ``replace_if``: the field can grow in place; a smaller value means a new object."""

    def shrinks(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
        before, after = old.get(field, 0), new.get(field, 0)
        return f"{field} shrinks from {before} to {after}" if after < before else None

    return shrinks


def check_spec(spec: InfrastructureSpec, ctx: CheckContext) -> Iterator[Problem]:
    """What the memory cloud refuses in a spec as a whole: unknown regions, atlas's marks."""
    del ctx
    if spec.region not in REGIONS:
        yield Problem(
            "region", f"unknown region {spec.region!r}; the memory cloud has {', '.join(REGIONS)}"
        )
    for key in spec.tags:
        if key.startswith(RESERVED_TAG_PREFIX):
            yield Problem(f"tags.{key}", f"tags starting {RESERVED_TAG_PREFIX!r} are atlas's own")


NETWORK = ResourceKind(
    provider="memory",
    type="network",
    spec_class=NetworkSpec,
    summary="A private network; free; found by its name.",
    price=price_network,
    replace_on=frozenset({"ip_range"}),
    importable=True,
)
SERVER = ResourceKind(
    provider="memory",
    type="server",
    spec_class=ServerSpec,
    summary="A server; `count` makes several, created 5 per call; resized in place.",
    price=price_server,
    check=check_server,
    replace_on=frozenset({"image", "network"}),
    importable=True,
    # The memory cloud does not say which image a server booted from.
    create_only=frozenset({"image"}),
)
DISK = ResourceKind(
    provider="memory",
    type="disk",
    spec_class=DiskSpec,
    summary="A disk attachable to one server; grows in place, a shrink replaces it.",
    price=price_disk,
    check=check_disk,
    replace_if=_grows_only("size_gb"),
    importable=True,
    stateful=True,
)
KINDS: tuple[ResourceKind, ...] = (NETWORK, SERVER, DISK)
