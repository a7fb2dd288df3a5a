"""Azure Database for PostgreSQL and for MySQL, flexible server.

Validated against the service tiers Microsoft documents (series letter and vCores per tier,
storage range; a PostgreSQL server's storage is one of the Premium SSD sizes). The catalog
prices a few PostgreSQL compute SKUs and the storage per GiB-month in eastus and westus2 (see
scripts/azure_prices.py); any other SKU, region or MySQL is an unpriced line, never an
invented figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import Label, spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext, KindCheck, Pricer
from atlas_azure.resources.common import kind

__all__ = [
    "MYSQL_KIND",
    "POSTGRES_KIND",
    "POSTGRES_STORAGE_SIZES",
    "FlexibleServerSpec",
    "Tier",
    "provisioned_size",
]


@attrs.frozen
class Tier:
    """A compute tier: the VM series letter of its SKUs and the vCores it offers."""

    series: str
    vcores: tuple[int, ...]


#: From "Compute and storage options in Azure Database for PostgreSQL - Flexible Server".
POSTGRES_TIERS: Mapping[str, Tier] = {
    "Burstable": Tier("B", (1, 2, 4, 8, 12, 16, 20)),
    "GeneralPurpose": Tier("D", (2, 4, 8, 16, 32, 48, 64, 96)),
    "MemoryOptimized": Tier("E", (2, 4, 8, 16, 20, 32, 48, 64, 96)),
}
POSTGRES_STORAGE_GB = (32, 32768)
#: The sizes (GiB) a PostgreSQL flexible server provisions on Premium SSD: 32 GiB, doubling
#: to 32 TiB, and 4 TiB also as 4,095 GiB ("Premium SSD storage option in Azure Database for
#: PostgreSQL": storage grows to the next size, always double; 4 TiB is shown as 4,095 GiB).
POSTGRES_STORAGE_SIZES: tuple[int, ...] = (
    32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32768,
)  # fmt: skip
#: From "Azure Database for MySQL - Flexible Server service tiers".
MYSQL_TIERS: Mapping[str, Tier] = {
    "Burstable": Tier("B", (1, 2, 4, 8, 12, 16, 20)),
    "GeneralPurpose": Tier("D", (2, 4, 8, 16, 32, 48, 64)),
    "BusinessCritical": Tier("E", (2, 4, 8, 16, 32, 48, 64, 80, 96)),
}
MYSQL_STORAGE_GB = (20, 16384)
#: ``Standard_B1ms``, ``Standard_D2ds_v4``: the series letter, then the vCores.
_SKU = re.compile(r"^Standard_(?P<series>[A-Z])(?P<vcores>\d+)[a-z]*(_v\d+)?$")


@attrs.frozen
class FlexibleServerSpec:
    """A flexible server: its compute SKU and tier, its engine version, its storage."""

    sku_name: str = spec_field(doc="Compute SKU such as `Standard_B1ms` or `Standard_D2ds_v4`.")
    tier: str = spec_field(doc="Compute tier: `Burstable`, `GeneralPurpose`, ... (per engine).")
    version: Label = spec_field(doc="Engine version, e.g. `15` or `8.0.21`.")
    storage_gb: int = spec_field(
        doc="Provisioned storage in GiB (PostgreSQL: a Premium SSD size, 32, 64, 128, ... GiB)."
    )


def _pricer(family: str, title: str) -> Pricer:
    def price(spec: FlexibleServerSpec, lookup: PriceLookup) -> Sequence[LineItem]:
        region = lookup.region
        return [
            lookup.line(f"{title} {spec.sku_name}", f"{family}:{region}:{spec.sku_name}"),
            lookup.line(
                f"{title} storage {spec.storage_gb} GiB",
                f"{family}_storage:{region}",
                spec.storage_gb,
            ),
        ]

    return price


def provisioned_size(wanted: int, sizes: Sequence[int]) -> int | None:
    """The smallest of ``sizes`` that holds ``wanted`` GiB, or None when none does."""
    return next((size for size in sizes if size >= wanted), None)


def _checker(
    tiers: Mapping[str, Tier],
    storage: tuple[int, int],
    title: str,
    sizes: Sequence[int] | None = None,
) -> KindCheck:
    def check(res: ResourceSpec, _ctx: CheckContext) -> Iterator[Problem]:
        spec: FlexibleServerSpec = res.specifications
        low, high = storage
        if not low <= spec.storage_gb <= high:
            yield Problem("specifications.storage_gb", f"{title} takes {low} to {high} GiB")
        elif sizes is not None and spec.storage_gb not in sizes:
            up = provisioned_size(spec.storage_gb, sizes)
            yield Problem(
                "specifications.storage_gb",
                f"{title} provisions {', '.join(map(str, sizes))} GiB, not {spec.storage_gb} "
                f"(the next size up is {up})",
            )
        tier = tiers.get(spec.tier)
        if tier is None:
            yield Problem(
                "specifications.tier", f"{spec.tier!r} is not a tier of {title}: {', '.join(tiers)}"
            )
            return
        yield from _sku_problems(spec.sku_name, spec.tier, tier)

    return check


def _sku_problems(sku: str, name: str, tier: Tier) -> Iterator[Problem]:
    match = _SKU.match(sku)
    if match is None:
        yield Problem("specifications.sku_name", f"{sku!r} is not a SKU name like Standard_B1ms")
        return
    if match["series"] != tier.series:
        yield Problem(
            "specifications.sku_name",
            f"{name} uses {tier.series}-series SKUs, and {sku} is {match['series']}-series",
        )
    elif int(match["vcores"]) not in tier.vcores:
        offered = ", ".join(map(str, tier.vcores))
        yield Problem(
            "specifications.sku_name", f"{name} offers {offered} vCores, not {match['vcores']}"
        )


POSTGRES_KIND = kind(
    "postgresql_flexible_server", FlexibleServerSpec,
    "Azure Database for PostgreSQL flexible server (compute and storage priced where sourced).",
    price=_pricer("postgresql_flexible", "PostgreSQL flexible server"),
    check=_checker(POSTGRES_TIERS, POSTGRES_STORAGE_GB, "PostgreSQL flexible server",
                   POSTGRES_STORAGE_SIZES),
    replace_on=("version",), stateful=True,
)  # fmt: skip
MYSQL_KIND = kind(
    "mysql_flexible_server", FlexibleServerSpec,
    "Azure Database for MySQL flexible server (validated; prices not sourced).",
    price=_pricer("mysql_flexible", "MySQL flexible server"),
    check=_checker(MYSQL_TIERS, MYSQL_STORAGE_GB, "MySQL flexible server"),
    replace_on=("version",), stateful=True,
)  # fmt: skip
