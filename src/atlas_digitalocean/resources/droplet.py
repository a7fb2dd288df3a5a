"""Droplets: virtual machines, one or many identical ones per resource."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_digitalocean.prices import load_offerings
from atlas_digitalocean.resources.common import (
    between,
    check_size,
    kind,
    max_bytes,
    nearest,
)

__all__ = ["KIND", "DropletSpec"]

BackupPlan = bool | Literal["daily", "weekly"]


@attrs.frozen
class DropletSpec:
    """A droplet (or ``count`` identical droplets)."""

    size: str = spec_field(doc="Size slug such as `s-1vcpu-1gb`; sets the price.")
    image: str | int | None = spec_field(
        default=None,
        create_only=True,
        doc="Image slug (`ubuntu-24-04-x64`) or the numeric id of a custom image or snapshot.",
    )
    ssh_keys: tuple[str | int, ...] = spec_field(
        factory=tuple, doc="SSH keys to install: fingerprints or numeric key ids."
    )
    backups: BackupPlan = spec_field(
        default=False,
        doc='`false`, `true` (DigitalOcean\'s daily plan), `"daily"` (+30 %) or `"weekly"` '
        "(+20 %).",
    )
    monitoring: bool = spec_field(default=False, doc="Install the metrics agent.")
    ipv6: bool = spec_field(default=False, doc="Give the droplet a public IPv6 address.")
    vpc: str | None = spec_field(
        default=None, ref="vpc", doc="Name of a `vpc` resource to join (else the default VPC)."
    )
    user_data: str | None = spec_field(
        default=None, check=max_bytes(64 * 1024), doc="Cloud-init user data, at most 64 KiB."
    )
    count: int = spec_field(
        default=1, check=between(1, 1000), doc="How many identical droplets (1 to 1000)."
    )

    @property
    def backup_plan(self) -> Literal["daily", "weekly"] | None:
        """The backup plan DigitalOcean will apply (``True`` means its default, daily)."""
        if self.backups is True:
            return "daily"
        return self.backups or None


def price(spec: DropletSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    count = f" x {spec.count}" if spec.count > 1 else ""
    base = lookup.line(f"Droplet {spec.size}{count}", f"droplet:{spec.size}", spec.count)
    plan = spec.backup_plan
    if plan is None:
        return [base]
    rate = "30 %" if plan == "daily" else "20 %"
    backups = lookup.surcharge(f"{plan.title()} backups ({rate})", f"droplet-backups:{plan}", base)
    return [base, backups]


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: DropletSpec = res.specifications
    yield from check_size(ctx, "droplet", spec.size)
    if isinstance(spec.image, str):
        yield from check_image_slug(spec.image)
    elif isinstance(spec.image, int) and spec.image <= 0:
        yield Problem("specifications.image", "an image id must be a positive number")


def check_image_slug(slug: str) -> Iterator[Problem]:
    """``slug`` must be a public image in the offline list (``offerings.toml``). Any positive
    numeric id passes without one: snapshots and custom images are the account's own, and
    only DigitalOcean knows them."""
    offer = load_offerings()
    if slug in offer.images:
        return
    if slug in offer.retired_images:
        why = f"{slug!r} is an image DigitalOcean no longer offers (by atlas's offline list)"
    else:
        count = len(offer.images)
        why = f"unknown image {slug!r}: not among the {count} public images atlas lists offline"
    hint = nearest(slug, offer.images)
    yield Problem(
        "specifications.image",
        f"{why}{hint}; a snapshot or custom image is given by its numeric id",
    )


KIND = kind(
    "droplet", DropletSpec, "A virtual machine; `count` makes several identical ones.",
    price=price, check=check, replace_on=("image", "vpc", "user_data", "ssh_keys", "monitoring"),
    # DigitalOcean never returns ssh_keys or user_data, and shows the image a droplet was
    # built from (or rebuilt with) only as an id once its slug moves on.
    importable=True, create_only=frozenset({"image", "ssh_keys", "user_data"}),
)  # fmt: skip
