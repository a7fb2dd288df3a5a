"""EC2 instances: one or ``count`` identical ones per resource, launched in one call."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_aws.prices import architecture, instance_sku, load_offerings
from atlas_aws.resources.common import between, kind, max_bytes, nearest, referenced
from atlas_aws.resources.volume import ebs_line

__all__ = ["AMI_ID", "KIND", "MAX_COUNT", "InstanceSpec"]

AMI_ID = re.compile(r"^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
#: Instances one resource may have (EC2 launches up to the account's vCPU quota per call).
MAX_COUNT = 1000
#: EC2 takes at most 16 KB of user data before base64.
USER_DATA_BYTES = 16 * 1024


def _ami(value: str) -> str | None:
    return None if AMI_ID.match(value) else f"{value!r} is not an AMI id (ami- and 8 or 17 hex)"


@attrs.frozen
class InstanceSpec:
    """An EC2 instance (or ``count`` identical ones)."""

    instance_type: str = spec_field(doc="Instance type such as `t3.micro`; sets the price.")
    image_id: str | None = spec_field(
        default=None, check=_ami, doc="An AMI id (`ami-0abc...`); or give `image`."
    )
    image: str | None = spec_field(
        default=None,
        doc="Or an image alias resolved in the region: `ubuntu-24.04`, `ubuntu-22.04`, "
        "`amazon-linux-2023`, `debian-12`.",
    )
    subnet: str | None = spec_field(
        default=None, ref="subnet", doc="Name of a `subnet` resource (else the default VPC's)."
    )
    security_groups: tuple[str, ...] = spec_field(
        factory=tuple, ref="security_group", doc="Names of `security_group` resources."
    )
    key_name: str | None = spec_field(default=None, doc="Name of an EC2 key pair for SSH.")
    user_data: str | None = spec_field(
        default=None, check=max_bytes(USER_DATA_BYTES), doc="Cloud-init user data, at most 16 KB."
    )
    count: int = spec_field(
        default=1,
        check=between(1, MAX_COUNT),
        doc=f"How many identical instances (1 to {MAX_COUNT}).",
    )
    root_volume_size: int | None = spec_field(
        default=None, check=between(1, 16384), doc="Root volume size in GiB (else the image's)."
    )


def price(spec: InstanceSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    """The instances, and their root volumes as gp3 storage of their own (EC2 bills a root
    volume as any EBS volume; atlas launches them as gp3)."""
    count = f" x {spec.count}" if spec.count > 1 else ""
    sku = instance_sku(lookup.region, spec.instance_type)
    lines = [lookup.line(f"EC2 {spec.instance_type}{count}", sku, spec.count)]
    size = f"{spec.root_volume_size} GiB" if spec.root_volume_size else "(the image's size)"
    label = f"EBS gp3 root volume {size}{count}"
    ebs = f"volume:{lookup.region}:gp3"
    if spec.root_volume_size is not None:
        lines.append(ebs_line(lookup, label, ebs, spec.root_volume_size * spec.count))
    else:
        why = (
            "the image's root volume size is not known offline (EC2 tells it at launch): "
            "give root_volume_size to price it"
        )
        places = lookup.hourly_places
        lines.append(LineItem(label, ebs, Decimal(0), "", None, None, None, why, places))
    return lines


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: InstanceSpec = res.specifications
    yield from _type_problems(spec, ctx)
    if ctx.purpose == "create" and (spec.image_id is None) == (spec.image is None):
        yield Problem("specifications.image", "give exactly one of image_id and image")
    if spec.image is not None:
        yield from _alias_problems(spec)
    yield from _placement_problems(spec, ctx)


def _type_problems(spec: InstanceSpec, ctx: CheckContext) -> Iterator[Problem]:
    catalog = ctx.catalog
    region = ctx.spec.region
    if catalog is None or catalog.price(instance_sku(region, spec.instance_type)) is not None:
        return
    known = [v.split(":", 1)[1] for v in catalog.variants("instance") if v.startswith(region + ":")]
    if not known:
        return  # a region atlas has no prices for is reported at the top
    hint = nearest(spec.instance_type, known)
    yield Problem(
        "specifications.instance_type",
        f"unknown instance type {spec.instance_type!r} in {region}{hint}",
    )


def _alias_problems(spec: InstanceSpec) -> Iterator[Problem]:
    assert spec.image is not None
    aliases = load_offerings().images
    alias = aliases.get(spec.image)
    if alias is None:
        yield Problem(
            "specifications.image",
            f"unknown image alias {spec.image!r}{nearest(spec.image, aliases)}; "
            "an AMI goes in image_id",
        )
        return
    arch = architecture(spec.instance_type)
    if alias.name_filter(arch) is None:
        yield Problem("specifications.image", f"{spec.image} is not published for {arch}")


def _placement_problems(spec: InstanceSpec, ctx: CheckContext) -> Iterator[Problem]:
    """The subnet and the security groups must be of one VPC."""
    subnet = referenced(ctx.spec, spec.subnet, "subnet")
    vpc = subnet.specifications.vpc if subnet is not None else None
    for i, name in enumerate(spec.security_groups):
        group = referenced(ctx.spec, name, "security_group")
        if group is None or group.specifications.vpc == vpc:
            continue
        theirs = group.specifications.vpc
        where = f"VPC {theirs!r}" if theirs else "the default VPC"
        mine = (
            f"subnet {spec.subnet!r} is in VPC {vpc!r}"
            if vpc
            else "the instance is in the default VPC"
        )
        yield Problem(
            f"specifications.security_groups[{i}]",
            f"{name!r} is in {where}, but {mine}: groups and subnet must share a VPC",
        )


KIND = kind(
    "instance", InstanceSpec, "EC2 instances; `count` makes several identical ones.",
    price=price, check=check,
    replace_on=("image_id", "image", "subnet", "key_name", "user_data", "root_volume_size"),
    create_only=frozenset({"image_id", "image", "user_data", "key_name", "root_volume_size"}),
    importable=True,
)  # fmt: skip
