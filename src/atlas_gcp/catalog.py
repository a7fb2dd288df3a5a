"""GCP's offline catalog: prices (generated, sourced, dated) and machine types (generated).

Both files come from ``scripts/gcp_prices.py``. A machine type's price in a region is the SKU
``instance:<region>:<type>``; the type's shape (vCPUs, memory, architecture) is in
``machine_types.toml``, so a placement engine can join the two: :func:`offerings` does.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterator, Mapping
from decimal import Decimal
from importlib import resources
from typing import Literal

import attrs

from atlas.cost.catalog import Price, PriceCatalog

__all__ = [
    "MachineType",
    "Offering",
    "instance_sku",
    "load_machine_types",
    "load_price_catalog",
    "offerings",
    "regions",
]

_PACKAGE = "atlas_gcp.data"
Architecture = Literal["x86_64", "arm64"]


def instance_sku(region: str, machine_type: str) -> str:
    """The catalog's key for a machine type's price in a region."""
    return f"instance:{region}:{machine_type}"


@attrs.frozen
class MachineType:
    """A Compute Engine machine type. ``vcpus`` is what the VM sees; a shared-core type is
    billed for ``billed_vcpus`` (a fraction) and bursts to ``vcpus``."""

    name: str
    vcpus: int
    memory_gib: Decimal
    arch: Architecture
    regions: tuple[str, ...]
    billed_vcpus: Decimal | None = None

    @property
    def shared_core(self) -> bool:
        return self.billed_vcpus is not None


@attrs.frozen
class Offering:
    """A machine type in one region with its price (currency and billing rule included)."""

    region: str
    machine_type: MachineType
    price: Price


@functools.cache
def load_price_catalog() -> PriceCatalog:
    """The shipped catalog (``data/prices.toml``), parsed once per process."""
    return PriceCatalog.from_package(_PACKAGE, "prices.toml")


@functools.cache
def load_machine_types() -> Mapping[str, MachineType]:
    """The shipped machine types (``data/machine_types.toml``), parsed once per process."""
    text = resources.files(_PACKAGE).joinpath("machine_types.toml").read_text(encoding="utf-8")
    out = {}
    for name, entry in tomllib.loads(text)["machine_types"].items():
        billed = entry.get("billed_vcpus")
        out[name] = MachineType(
            name,
            int(entry["vcpus"]),
            Decimal(entry["memory_gib"]),
            entry["arch"],
            tuple(entry["regions"]),
            Decimal(billed) if billed is not None else None,
        )
    return out


@functools.cache
def regions() -> tuple[str, ...]:
    """The regions atlas has machine prices for."""
    return tuple(sorted({r for t in load_machine_types().values() for r in t.regions}))


def offerings(catalog: PriceCatalog | None = None) -> Iterator[Offering]:
    """Every (region, machine type) that has a price, in region then type order."""
    catalog = catalog or load_price_catalog()
    types = load_machine_types()
    for region in regions():
        for name in sorted(types):
            price = catalog.price(instance_sku(region, name))
            if price is not None:
                yield Offering(region, types[name], price)
