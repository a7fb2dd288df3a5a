"""EBS volumes: block storage in one zone, attached to one instance of the same zone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_aws.resources.common import between, kind, referenced, zone_problems

__all__ = ["GP3_INCLUDED_IOPS", "IOPS_RANGE", "KIND", "SIZE_RANGE", "VolumeSpec", "ebs_line"]

VolumeType = Literal["gp3", "gp2", "io1", "io2", "st1", "sc1"]
#: GiB each type may have (EBS's limits).
SIZE_RANGE: Mapping[str, tuple[int, int]] = {
    "gp3": (1, 16384), "gp2": (1, 16384), "io1": (4, 16384), "io2": (4, 65536),
    "st1": (125, 16384), "sc1": (125, 16384),
}  # fmt: skip
#: Provisioned IOPS each type takes (none for gp2, st1, sc1).
IOPS_RANGE: Mapping[str, tuple[int, int]] = {
    "gp3": (3000, 16000), "io1": (100, 64000), "io2": (100, 256000),
}  # fmt: skip
#: gp3 comes with 3,000 IOPS; only those above are charged.
GP3_INCLUDED_IOPS = 3000


@attrs.frozen
class VolumeSpec:
    """An EBS volume."""

    size: int = spec_field(check=between(1, 65536), doc="Size in GiB; sets the price.")
    volume_type: VolumeType = spec_field(
        default="gp3", doc="gp3 (default), gp2, io1, io2, st1 or sc1; sets the price."
    )
    iops: int | None = spec_field(
        default=None, doc="Provisioned IOPS: gp3 3000 to 16000, io1/io2 (required) from 100."
    )
    attach_to: str | None = spec_field(
        default=None, ref="instance", doc="Name of the `instance` resource to attach it to."
    )
    availability_zone: str | None = spec_field(
        default=None, doc="Its zone (else its instance's); must be the instance's."
    )


def ebs_line(lookup: PriceLookup, description: str, sku: str, quantity: int) -> LineItem:
    """``quantity`` units of an EBS price, or a line saying plainly that the price is unknown:
    atlas ships only EBS prices it has a source for (``scripts/aws-ebs-prices.csv``)."""
    if lookup.catalog is None or lookup.price(sku) is not None:
        return lookup.line(description, sku, quantity)
    what = sku.split(":")
    unit = "provisioned IOPS-month" if what[0] == "volume-iops" else "GB-month"
    why = (
        f"the EBS {what[-1]} price per {unit} in {lookup.region} is unknown: atlas has no "
        "sourced figure for it"
    )
    return LineItem(
        description, sku, Decimal(quantity), "", None, None, None, why, lookup.hourly_places
    )


def price(spec: VolumeSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    kind_ = spec.volume_type
    sku = f"volume:{lookup.region}:{kind_}"
    lines = [ebs_line(lookup, f"EBS {kind_} {spec.size} GiB", sku, spec.size)]
    charged = _charged_iops(spec)
    if charged:
        sku = f"volume-iops:{lookup.region}:{kind_}"
        lines.append(ebs_line(lookup, f"EBS {kind_} {charged} provisioned IOPS", sku, charged))
    return lines


def _charged_iops(spec: VolumeSpec) -> int:
    if spec.iops is None:
        return 0
    if spec.volume_type == "gp3":
        return max(0, spec.iops - GP3_INCLUDED_IOPS)
    return spec.iops


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: VolumeSpec = res.specifications
    low, high = SIZE_RANGE[spec.volume_type]
    if not low <= spec.size <= high:
        yield Problem("specifications.size", f"a {spec.volume_type} volume is {low} to {high} GiB")
    yield from _iops_problems(spec)
    yield from zone_problems(ctx, spec.availability_zone, "specifications.availability_zone")
    yield from _placement_problems(spec, ctx)


def _iops_problems(spec: VolumeSpec) -> Iterator[Problem]:
    bounds = IOPS_RANGE.get(spec.volume_type)
    if bounds is None:
        if spec.iops is not None:
            yield Problem("specifications.iops", f"{spec.volume_type} takes no provisioned IOPS")
        return
    if spec.iops is None:
        if spec.volume_type in ("io1", "io2"):
            yield Problem("specifications.iops", f"{spec.volume_type} volumes need iops")
        return
    low, high = bounds
    if not low <= spec.iops <= high:
        yield Problem("specifications.iops", f"{spec.volume_type} takes {low} to {high} IOPS")


def _placement_problems(spec: VolumeSpec, ctx: CheckContext) -> Iterator[Problem]:
    """The volume and its instance share a zone (EC2 attaches nothing across zones)."""
    instance = referenced(ctx.spec, spec.attach_to, "instance")
    if spec.attach_to is None:
        if spec.availability_zone is None:
            yield Problem("specifications.availability_zone", "give a zone, or attach_to")
        return
    if instance is None:
        return
    if instance.specifications.count > 1:
        yield Problem(
            "specifications.attach_to",
            f"{spec.attach_to!r} has {instance.specifications.count} instances; a volume "
            "attaches to one",
        )
    subnet = referenced(ctx.spec, instance.specifications.subnet, "subnet")
    zone = subnet.specifications.availability_zone if subnet is not None else None
    if spec.availability_zone and zone and zone != spec.availability_zone:
        yield Problem(
            "specifications.availability_zone",
            f"{spec.availability_zone} is not {spec.attach_to!r}'s zone ({zone}): EC2 attaches "
            "a volume only to an instance of its own zone",
        )


def _shrinks(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    if int(new.get("size") or 0) < int(old.get("size") or 0):
        return "EBS volumes grow, never shrink"
    return None


KIND = kind(
    "volume", VolumeSpec, "An EBS volume, attached to an instance of its zone.",
    price=price, check=check, replace_on=("availability_zone",), replace_if=_shrinks,
    stateful=True, importable=True,
)  # fmt: skip
