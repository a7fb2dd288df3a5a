"""Compute Engine instances and Persistent Disk volumes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_gcp.catalog import instance_sku, load_machine_types
from atlas_gcp.resources.common import at_least, between, kind, nearest, zone_problems

__all__ = ["DISK_KIND", "INSTANCE_KIND", "DiskSpec", "InstanceSpec", "disk_sku"]

DiskType = Literal["pd-balanced", "pd-ssd"]
#: Instances one resource may have.
MAX_COUNT = 1000


def disk_sku(region: str, disk_type: str) -> str:
    """The catalog's key for a GB-month of a disk type in a region."""
    return f"disk:{region}:{disk_type}"


@attrs.frozen
class InstanceSpec:
    """A Compute Engine VM (or ``count`` identical ones), named after the API's fields."""

    machine_type: str = spec_field(doc="Machine type such as `e2-standard-2`; sets the price.")
    zone: str | None = spec_field(
        default=None, doc="Zone such as `us-central1-a` (else one of the region's)."
    )
    image: str | None = spec_field(
        default=None, create_only=True, doc="Boot image, e.g. `debian-12` (needed to create)."
    )
    boot_disk_size_gb: int | None = spec_field(
        default=None,
        check=at_least(1),
        doc="Boot disk size in GB, priced as a disk of `boot_disk_type` (else the image's, "
        "not priced offline).",
    )
    boot_disk_type: DiskType = spec_field(
        default="pd-balanced", doc="pd-balanced (default) or pd-ssd."
    )
    count: int = spec_field(
        default=1, check=between(1, MAX_COUNT), doc=f"Identical instances, 1 to {MAX_COUNT}."
    )


@attrs.frozen
class DiskSpec:
    """A zonal Persistent Disk."""

    size_gb: int = spec_field(check=at_least(1), doc="Provisioned size in GB; sets the price.")
    type: DiskType = spec_field(default="pd-balanced", doc="pd-balanced (default) or pd-ssd.")
    zone: str | None = spec_field(default=None, doc="Its zone (else its instance's).")
    attach_to: str | None = spec_field(
        default=None, ref="instance", doc="Name of the `instance` resource to attach it to."
    )


def price_instance(spec: InstanceSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    times = f" x {spec.count}" if spec.count > 1 else ""
    sku = instance_sku(lookup.region, spec.machine_type)
    lines = [lookup.line(f"Compute Engine {spec.machine_type}{times}", sku, spec.count)]
    if spec.boot_disk_size_gb is not None:
        size = spec.boot_disk_size_gb
        lines.append(
            lookup.line(
                f"Boot disk {spec.boot_disk_type} {size} GB{times}",
                disk_sku(lookup.region, spec.boot_disk_type),
                size * spec.count,
            )
        )
    return lines


def price_disk(spec: DiskSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    sku = disk_sku(lookup.region, spec.type)
    return [lookup.line(f"Persistent Disk {spec.type} {spec.size_gb} GB", sku, spec.size_gb)]


def check_instance(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: InstanceSpec = res.specifications
    yield from _machine_type_problems(spec.machine_type, ctx)
    yield from zone_problems(ctx, spec.zone, "specifications.zone")


def _machine_type_problems(machine_type: str, ctx: CheckContext) -> Iterator[Problem]:
    types = load_machine_types()
    region = ctx.spec.region
    known = [name for name, t in types.items() if region in t.regions]
    if not known or machine_type in known:
        return  # a region atlas has no prices for is reported at the top
    where = "atlas's catalog" if machine_type not in types else region
    yield Problem(
        "specifications.machine_type",
        f"unknown machine type {machine_type!r} in {where}{nearest(machine_type, known)}",
    )


def check_disk(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: DiskSpec = res.specifications
    yield from zone_problems(ctx, spec.zone, "specifications.zone")
    if spec.attach_to is None and spec.zone is None:
        yield Problem("specifications.zone", "give a zone, or attach_to")
    instance = _instance(ctx, spec.attach_to)
    if instance is None:
        return
    theirs: InstanceSpec = instance.specifications
    if theirs.count > 1:
        yield Problem(
            "specifications.attach_to",
            f"{spec.attach_to!r} has {theirs.count} instances; a disk attaches to one",
        )
    if spec.zone and theirs.zone and spec.zone != theirs.zone:
        yield Problem(
            "specifications.zone",
            f"{spec.zone} is not {spec.attach_to!r}'s zone ({theirs.zone}): a zonal disk "
            "attaches only to an instance of its zone",
        )


def _instance(ctx: CheckContext, name: str | None) -> ResourceSpec | None:
    if name is None:
        return None
    try:
        res = ctx.spec.resource(name)
    except KeyError:
        return None
    return res if res.type == "instance" else None


def _shrinks(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    if int(new.get("size_gb") or 0) < int(old.get("size_gb") or 0):
        return "a Persistent Disk grows, never shrinks"
    return None


INSTANCE_KIND = kind(
    "instance", InstanceSpec, "Compute Engine VMs; `count` makes several identical ones.",
    price=price_instance, check=check_instance,
    replace_on=("zone", "image", "boot_disk_size_gb", "boot_disk_type"),
    create_only=frozenset({"image"}),
)  # fmt: skip
DISK_KIND = kind(
    "disk", DiskSpec, "A zonal Persistent Disk (pd-balanced or pd-ssd).",
    price=price_disk, check=check_disk, replace_on=("type", "zone"), replace_if=_shrinks,
    stateful=True,
)  # fmt: skip
