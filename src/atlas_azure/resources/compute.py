"""Virtual machines and managed disks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_azure.catalog import load_sizes, vm_sku
from atlas_azure.resources.common import between, kind, nearest, referenced

__all__ = ["DISK_KIND", "MAX_DISK_GIB", "TIERS", "VM_KIND", "ManagedDiskSpec", "disk_tier"]

DiskSku = Literal["Premium_LRS", "StandardSSD_LRS"]
#: The letter of each SKU's size tiers: P10 is a 128 GiB Premium SSD, E30 a 1 TiB Standard SSD.
_TIER_LETTER = {"Premium_LRS": "P", "StandardSSD_LRS": "E"}
#: Tier number -> its size in GiB, as the pricing page lists them (P10 to P60). Smaller tiers
#: exist (down to 4 GiB) but their sizes and prices were not sourced.
TIERS: Mapping[int, int] = {10: 128, 15: 256, 20: 512, 30: 1024, 40: 2048, 50: 4096, 60: 8192}
#: The largest Premium SSD or Standard SSD managed disk (Azure managed disk types).
MAX_DISK_GIB = 32767
MAX_COUNT = 1000


def disk_tier(sku: str, size_gib: int) -> str:
    """The tier a disk of ``size_gib`` is billed as (the next size up): ``P10`` for 100 GiB
    of Premium_LRS; ``P-below-10`` or ``P-above-60`` where the size tiers were not sourced."""
    letter = _TIER_LETTER[sku]
    if size_gib <= TIERS[10] // 2:
        return f"{letter}-below-10"
    for number, gib in TIERS.items():
        if size_gib <= gib:
            return f"{letter}{number}"
    return f"{letter}-above-60"


def _disk_line(lookup: PriceLookup, label: str, sku: str, size_gib: int, count: int) -> LineItem:
    tier = disk_tier(sku, size_gib)
    return lookup.line(
        f"{label} {sku} {size_gib} GiB ({tier})", f"managed_disk:{sku}:{tier}", count
    )


@attrs.frozen
class VirtualMachineSpec:
    """An Azure VM (or ``count`` identical ones) in the spec's region (its location)."""

    size: str = spec_field(doc="VM size such as `Standard_B2s`; sets the price.")
    image: str | None = spec_field(
        default=None, create_only=True, doc="Image, e.g. `Ubuntu2404` (needed to create)."
    )
    os_disk_size_gb: int | None = spec_field(
        default=None,
        check=between(1, MAX_DISK_GIB),
        doc="OS disk size in GiB, priced at its size tier (else the image's, not priced).",
    )
    os_disk_type: DiskSku = spec_field(
        default="Premium_LRS", doc="Premium_LRS (default) or StandardSSD_LRS."
    )
    zone: Literal["1", "2", "3"] | None = spec_field(
        default=None, doc="Availability zone 1, 2 or 3 (else none)."
    )
    count: int = spec_field(
        default=1, check=between(1, MAX_COUNT), doc=f"Identical VMs, 1 to {MAX_COUNT}."
    )


@attrs.frozen
class ManagedDiskSpec:
    """A managed disk, billed as its size tier."""

    size_gb: int = spec_field(
        check=between(1, MAX_DISK_GIB), doc=f"Size in GiB, 1 to {MAX_DISK_GIB}; sets the tier."
    )
    sku: DiskSku = spec_field(
        default="Premium_LRS", doc="Premium_LRS (default) or StandardSSD_LRS."
    )
    zone: Literal["1", "2", "3"] | None = spec_field(default=None, doc="Availability zone.")
    attach_to: str | None = spec_field(
        default=None, ref="virtual_machine", doc="Name of the `virtual_machine` to attach it to."
    )


def price_vm(spec: VirtualMachineSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    times = f" x {spec.count}" if spec.count > 1 else ""
    sku = vm_sku(lookup.region, spec.size)
    lines = [lookup.line(f"VM {spec.size}{times}", sku, spec.count)]
    if spec.os_disk_size_gb is not None:
        lines.append(
            _disk_line(
                lookup, f"OS disk{times}", spec.os_disk_type, spec.os_disk_size_gb, spec.count
            )
        )
    return lines


def price_disk(spec: ManagedDiskSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [_disk_line(lookup, "Managed disk", spec.sku, spec.size_gb, 1)]


def check_vm(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: VirtualMachineSpec = res.specifications
    sizes = load_sizes()
    region = ctx.spec.region
    known = [name for name, s in sizes.items() if region in s.regions]
    if known and spec.size not in known:
        yield Problem(
            "specifications.size",
            f"unknown VM size {spec.size!r} in {region}{nearest(spec.size, known)}",
        )


def check_disk(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: ManagedDiskSpec = res.specifications
    vm = referenced(ctx.spec, spec.attach_to, "virtual_machine")
    if vm is None:
        return
    theirs: VirtualMachineSpec = vm.specifications
    if theirs.count > 1:
        yield Problem(
            "specifications.attach_to",
            f"{spec.attach_to!r} has {theirs.count} VMs; a disk attaches to one",
        )
    if spec.zone and theirs.zone and spec.zone != theirs.zone:
        yield Problem(
            "specifications.zone",
            f"zone {spec.zone} is not {spec.attach_to!r}'s zone ({theirs.zone})",
        )


def _shrinks(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    if int(new.get("size_gb") or 0) < int(old.get("size_gb") or 0):
        return "a managed disk grows, never shrinks"
    return None


VM_KIND = kind(
    "virtual_machine", VirtualMachineSpec, "Azure VMs; `count` makes several identical ones.",
    price=price_vm, check=check_vm,
    replace_on=("image", "zone", "os_disk_size_gb", "os_disk_type"),
    create_only=frozenset({"image"}),
)  # fmt: skip
DISK_KIND = kind(
    "managed_disk", ManagedDiskSpec, "A managed disk (Premium SSD or Standard SSD).",
    price=price_disk, check=check_disk, replace_on=("zone",), replace_if=_shrinks, stateful=True,
)  # fmt: skip
