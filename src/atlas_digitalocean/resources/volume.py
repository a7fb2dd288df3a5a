"""Block storage volumes, optionally attached to a droplet."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_digitalocean.resources.common import between, count_of, kind, max_chars

__all__ = ["KIND", "VolumeSpec"]


@attrs.frozen
class VolumeSpec:
    """A block storage volume."""

    size_gigabytes: int = spec_field(
        check=between(1, 16384), doc="Size in GiB, 1 to 16,384; sets the price."
    )
    filesystem_type: Literal["ext4", "xfs"] | None = spec_field(
        default=None, doc="Format the volume as `ext4` or `xfs` (else it is left raw)."
    )
    attach_to: str | None = spec_field(
        default=None, ref="droplet", doc="Name of the `droplet` resource to attach to."
    )
    description: str | None = spec_field(
        default=None, check=max_chars(255), doc="Free text shown in the control panel."
    )


def price(spec: VolumeSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [
        lookup.line(f"Block storage {spec.size_gigabytes} GiB", "volume:gib", spec.size_gigabytes)
    ]


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: VolumeSpec = res.specifications
    if spec.attach_to is None:
        return
    try:
        target = ctx.spec.resource(spec.attach_to)
    except KeyError:
        return  # reported with the other references
    count = count_of(target)
    if target.type == "droplet" and count > 1:
        yield Problem(
            "specifications.attach_to",
            f"droplet {spec.attach_to!r} has count {count}; a volume attaches to one droplet",
        )


def shrinks(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Volumes grow in place; a smaller size is a new volume (and its data is not copied)."""
    before, after = old.get("size_gigabytes", 0), new.get("size_gigabytes", 0)
    if after < before:
        return f"size_gigabytes shrinks from {before} to {after} (volumes only grow in place)"
    return None


KIND = kind(
    "volume", VolumeSpec, "Block storage, attachable to one droplet.",
    price=price, check=check, replace_on=("filesystem_type", "description"), replace_if=shrinks,
    # DigitalOcean shows the filesystem it made at the create, not what is on the disk now:
    # never a reason to replace an imported volume (and its data).
    importable=True, create_only=frozenset({"filesystem_type"}), stateful=True,
)  # fmt: skip
