"""DigitalOcean's offline catalog: prices (sourced, dated) and offerings (regions, images)."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources

import attrs

from atlas.cost.catalog import PriceCatalog

__all__ = ["Offerings", "load_offerings", "load_price_catalog"]

_PACKAGE = "atlas_digitalocean.data"


@attrs.frozen
class Offerings:
    """Region and image slugs DigitalOcean accepts, and the disk (GiB) each managed database
    node size comes with."""

    regions: tuple[str, ...]
    images: tuple[str, ...]
    database_storage_gib: Mapping[str, int] = attrs.field(factory=dict)


@functools.cache
def load_price_catalog() -> PriceCatalog:
    """The shipped price catalog (``data/prices.toml``), parsed once per process."""
    return PriceCatalog.from_package(_PACKAGE, "prices.toml")


@functools.cache
def load_offerings() -> Offerings:
    text = resources.files(_PACKAGE).joinpath("offerings.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    included = data.get("databases", {}).get("included_storage_gib", {})
    return Offerings(
        tuple(data["regions"]["slugs"]),
        tuple(data["images"]["slugs"]),
        {size: gib for size, gib in included.items() if size != "source"},
    )
