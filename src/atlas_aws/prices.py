"""AWS's offline catalog: instance prices (generated, sourced, dated) and offerings (regions,
zones, image aliases)."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.exceptions import PluginError

__all__ = [
    "Architecture",
    "ImageAlias",
    "Offerings",
    "PortableRegion",
    "architecture",
    "instance_sku",
    "load_offerings",
    "load_price_catalog",
]

_PACKAGE = "atlas_aws.data"

Architecture = Literal["x86_64", "arm64"]
#: Graviton (Arm) types have a ``g`` right after the generation digit: t4g, m7g, c7gn, r8g.
_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")


def architecture(instance_type: str) -> Architecture:
    """The CPU architecture of an instance type, by AWS's naming."""
    return "arm64" if _GRAVITON.match(instance_type) else "x86_64"


def instance_sku(region: str, instance_type: str) -> str:
    """The catalog's key for an instance type's price in a region."""
    return f"instance:{region}:{instance_type}"


@attrs.frozen
class ImageAlias:
    """A name such as ``ubuntu-24.04`` for the newest image of a publisher's series."""

    name: str
    owner: str
    pattern: str
    arch_names: Mapping[str, str]
    source: str

    def name_filter(self, arch: Architecture) -> str | None:
        """The DescribeImages name pattern for ``arch``, or ``None`` if not published for it."""
        label = self.arch_names.get(arch)
        return None if label is None else self.pattern.replace("{arch}", label)


@attrs.frozen
class PortableRegion:
    """Where a region is (a key of :data:`atlas.portable.REGION_GROUPS`) and its title."""

    name: str
    group: str
    title: str


@attrs.frozen
class Offerings:
    """Regions with their zones, and the image aliases; for portable specs, where each region
    is, the RDS engine versions (major version → the ``engine_version`` given to RDS), the
    vCPUs and GiB of each RDS instance class, and the root volume of a server without a
    ``disk_gb``."""

    zones: Mapping[str, tuple[str, ...]]
    images: Mapping[str, ImageAlias]
    portable_regions: tuple[PortableRegion, ...] = ()
    db_versions: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    db_classes: Mapping[str, tuple[int, Decimal]] = attrs.field(factory=dict)
    root_volume_gib: int = 8

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted(self.zones))


@functools.cache
def load_price_catalog() -> PriceCatalog:
    """The shipped catalog (``data/prices.toml``, made by ``scripts/aws_prices.py``)."""
    return PriceCatalog.from_package(_PACKAGE, "prices.toml")


@functools.cache
def load_offerings() -> Offerings:
    """The shipped offerings (``data/offerings.toml``), parsed once per process."""
    text = resources.files(_PACKAGE).joinpath("offerings.toml").read_text(encoding="utf-8")
    return parse_offerings(tomllib.loads(text), "offerings.toml")


def parse_offerings(data: Mapping[str, Any], origin: str) -> Offerings:
    sources = data.get("sources", {})
    zones = {
        region: tuple(f"{region}{letter}" for letter in entry["zones"])
        for region, entry in data.get("regions", {}).items()
    }
    images = {}
    for name, entry in data.get("images", {}).items():
        if entry.get("source") not in sources:
            raise PluginError(f"{origin}: image {name!r} names no source under [sources]")
        images[name] = ImageAlias(
            name, str(entry["owner"]), str(entry["name"]), dict(entry["arch"]), entry["source"]
        )
    if not zones or not images:
        raise PluginError(f"{origin}: needs [regions] and [images]")
    portable = data.get("portable", {})
    places = tuple(
        PortableRegion(name, str(entry["group"]), str(entry["title"]))
        for name, entry in portable.get("regions", {}).items()
    )
    unplaced = sorted(set(zones) - {place.name for place in places})
    if unplaced:
        raise PluginError(f"{origin}: [portable.regions] lacks {', '.join(unplaced)}")
    databases = data.get("databases", {})
    for table in ("versions", "classes"):
        if table in databases and databases[table].get("source") not in sources:
            raise PluginError(f"{origin}: [databases.{table}] names no source under [sources]")
    versions = {
        engine: {str(major): str(native) for major, native in table.items()}
        for engine, table in databases.get("versions", {}).items()
        if engine != "source"
    }
    classes = {
        name: (int(shape[0]), Decimal(str(shape[1])))
        for name, shape in databases.get("classes", {}).items()
        if name != "source"
    }
    root = int(portable.get("root_volume_gib", 8))
    return Offerings(zones, images, places, versions, classes, root)
