"""Azure's offline catalog: prices (generated, sourced, dated) and VM sizes (generated).

Both files come from ``scripts/azure_prices.py``. A size's price in a region is the SKU
``virtual_machine:<region>:<size>``; its shape (vCPUs, memory, architecture) is in
``sizes.toml``; :func:`offerings` joins the two for a placement engine. The source table has
US regions only (eastus, westus2).
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
    "Offering",
    "VmSize",
    "load_price_catalog",
    "load_sizes",
    "offerings",
    "regions",
    "vm_sku",
]

_PACKAGE = "atlas_azure.data"
Architecture = Literal["x86_64", "arm64"]


def vm_sku(region: str, size: str) -> str:
    """The catalog's key for a VM size's price in a region."""
    return f"virtual_machine:{region}:{size}"


@attrs.frozen
class VmSize:
    """An Azure VM size; ``vcpus`` of a constrained size (``E16-4s_v5``) is its own (4)."""

    name: str
    vcpus: int
    memory_gib: Decimal
    arch: Architecture
    regions: tuple[str, ...]


@attrs.frozen
class Offering:
    """A VM size in one region with its price (currency and billing rule included)."""

    region: str
    size: VmSize
    price: Price


@functools.cache
def load_price_catalog() -> PriceCatalog:
    """The shipped catalog (``data/prices.toml``), parsed once per process."""
    return PriceCatalog.from_package(_PACKAGE, "prices.toml")


@functools.cache
def load_sizes() -> Mapping[str, VmSize]:
    """The shipped VM sizes (``data/sizes.toml``), parsed once per process."""
    text = resources.files(_PACKAGE).joinpath("sizes.toml").read_text(encoding="utf-8")
    return {
        name: VmSize(
            name,
            int(entry["vcpus"]),
            Decimal(entry["memory_gib"]),
            entry["arch"],
            tuple(entry["regions"]),
        )
        for name, entry in tomllib.loads(text)["sizes"].items()
    }


@functools.cache
def regions() -> tuple[str, ...]:
    """The regions (locations) atlas has VM prices for."""
    return tuple(sorted({r for s in load_sizes().values() for r in s.regions}))


def offerings(catalog: PriceCatalog | None = None) -> Iterator[Offering]:
    """Every (region, size) that has a price, in region then size order."""
    catalog = catalog or load_price_catalog()
    sizes = load_sizes()
    for region in regions():
        for name in sorted(sizes):
            price = catalog.price(vm_sku(region, name))
            if price is not None:
                yield Offering(region, sizes[name], price)
