"""DigitalOcean's offline catalog: prices (sourced, dated) and offerings (regions, images)."""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.exceptions import PluginError

__all__ = [
    "DatabaseEngine",
    "Offerings",
    "PortableRegion",
    "PublicImage",
    "load_offerings",
    "load_price_catalog",
]

_PACKAGE = "atlas_digitalocean.data"


#: What a public image's ``status`` may be: offered now, or no longer offered.
IMAGE_STATUSES = ("current", "retired")


@attrs.frozen
class PublicImage:
    """A public distribution image as ``offerings.toml`` records it, with its source."""

    slug: str
    distribution: str
    name: str
    status: str
    source: str
    seen: dt.date


@attrs.frozen
class DatabaseEngine:
    """A managed database engine (DigitalOcean's name: ``pg``, ``mysql``), the major versions
    it runs and the regions that offer it (``offerings.toml``, with its source)."""

    name: str
    versions: tuple[str, ...]
    regions: frozenset[str]
    source: str


@attrs.frozen
class PortableRegion:
    """Where a region is (a key of :data:`atlas.portable.REGION_GROUPS`) and its title;
    ``closed`` for a legacy datacenter that still lists but takes no new resources (placement
    never chooses it)."""

    slug: str
    group: str
    title: str
    closed: bool = False


@attrs.frozen
class Offerings:
    """Region and image slugs DigitalOcean accepts, and the disk (GiB) each managed database
    node size comes with. ``images`` are the current public images' slugs, ``retired_images``
    the slugs DigitalOcean offered once and no longer does; ``public_images`` has both, with
    their sources."""

    regions: tuple[str, ...]
    images: tuple[str, ...]
    database_storage_gib: Mapping[str, int] = attrs.field(factory=dict)
    retired_images: tuple[str, ...] = ()
    public_images: tuple[PublicImage, ...] = ()
    database_engines: Mapping[str, DatabaseEngine] = attrs.field(factory=dict)
    droplet_disk_gb: Mapping[str, int] = attrs.field(factory=dict)
    portable_regions: tuple[PortableRegion, ...] = ()
    #: Features every region offers (the words of docs/digitalocean.md).
    features_everywhere: frozenset[str] = frozenset()


@functools.cache
def load_price_catalog() -> PriceCatalog:
    """The shipped price catalog (``data/prices.toml``), parsed once per process."""
    return PriceCatalog.from_package(_PACKAGE, "prices.toml")


@functools.cache
def load_offerings() -> Offerings:
    """The shipped offerings (``data/offerings.toml``), parsed once per process."""
    text = resources.files(_PACKAGE).joinpath("offerings.toml").read_text(encoding="utf-8")
    return parse_offerings(tomllib.loads(text), "offerings.toml")


def parse_offerings(data: Mapping[str, Any], origin: str) -> Offerings:
    """Offerings from parsed TOML; every image must name a known source, a status and the
    date it was seen, and be listed once (a :class:`PluginError` says which one does not)."""
    sources = data.get("sources", {})
    images = [_public_image(i, entry, sources, origin) for i, entry in enumerate(data["images"])]
    slugs = [image.slug for image in images]
    twice = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if twice:
        raise PluginError(f"{origin}: images listed twice: {', '.join(twice)}")
    included = data.get("databases", {}).get("included_storage_gib", {})
    regions = tuple(data["regions"]["slugs"])
    portable = data.get("portable", {})
    places = tuple(
        PortableRegion(
            slug, str(entry["group"]), str(entry["title"]), bool(entry.get("closed", False))
        )
        for slug, entry in portable.get("regions", {}).items()
    )
    unplaced = sorted(set(regions) - {place.slug for place in places})
    if unplaced:
        raise PluginError(f"{origin}: [portable.regions] lacks {', '.join(unplaced)}")
    return Offerings(
        regions,
        tuple(image.slug for image in images if image.status == "current"),
        {size: gib for size, gib in included.items() if size != "source"},
        tuple(image.slug for image in images if image.status == "retired"),
        tuple(images),
        _engines(data.get("databases", {}).get("engines", {}), sources, origin),
        {
            k: int(v)
            for k, v in data.get("droplets", {}).get("disk_gb", {}).items()
            if k != "source"
        },
        places,
        frozenset(portable.get("features", {}).get("everywhere", ())),
    )


def _engines(
    data: Mapping[str, Any], sources: Mapping[str, Any], origin: str
) -> dict[str, DatabaseEngine]:
    engines = {}
    for name, entry in data.items():
        if entry.get("source") not in sources:
            raise PluginError(f"{origin}: databases.engines.{name} names no source")
        engines[name] = DatabaseEngine(
            name,
            tuple(str(v) for v in entry["versions"]),
            frozenset(entry["regions"]),
            entry["source"],
        )
    return engines


def _public_image(
    index: int, entry: Mapping[str, Any], sources: Mapping[str, Any], origin: str
) -> PublicImage:
    where = f"{origin} images[{index}]"
    fields = {}
    for name in ("slug", "distribution", "name", "status", "source"):
        value = entry.get(name)
        if not isinstance(value, str) or not value:
            raise PluginError(f"{where}: {name} must be a non-empty string")
        fields[name] = value
    if fields["status"] not in IMAGE_STATUSES:
        raise PluginError(f"{where}: status must be one of {', '.join(IMAGE_STATUSES)}")
    if fields["source"] not in sources:
        raise PluginError(f"{where}: source {fields['source']!r} is not under [sources]")
    seen = entry.get("seen")
    if not isinstance(seen, dt.date):
        raise PluginError(f"{where}: seen must be a TOML date")
    return PublicImage(seen=seen, **fields)
