"""Managed database clusters."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import Label, spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_digitalocean.prices import load_offerings
from atlas_digitalocean.resources.common import between, check_size, kind

__all__ = ["ENGINES", "KIND", "DatabaseSpec"]

#: Engines DigitalOcean creates today (Redis became Valkey; creates closed 2025-04-30).
ENGINES = ("kafka", "mongodb", "mysql", "opensearch", "pg", "valkey")
#: Names the callers also use.
ENGINE_ALIASES = {"postgresql": "pg", "postgres": "pg"}
#: The 1 GiB plan cannot have standby nodes (DigitalOcean's standby glossary entry).
_NO_STANDBY = ("db-s-1vcpu-1gb",)


def _engine(value: str) -> str:
    return ENGINE_ALIASES.get(value, value)


def _engine_check(value: str) -> str | None:
    if value in ENGINES:
        return None
    return f"unknown engine {value!r}; DigitalOcean offers {', '.join(ENGINES)} (or 'postgresql')"


_VERSION = re.compile(r"\d+(\.\d+)*")


def _version_check(value: str) -> str | None:
    return None if _VERSION.fullmatch(value) else f"{value!r} is not a version number"


@attrs.frozen
class DatabaseSpec:
    """A managed database cluster."""

    engine: str = attrs.field(
        converter=_engine,
        metadata={
            "atlas": {
                "doc": "`pg` (or `postgresql`), `mysql`, `valkey`, `mongodb`, "
                "`kafka` or `opensearch`.",
                "check": _engine_check,
            }
        },
        kw_only=True,
    )
    size: str = spec_field(doc="Node size slug such as `db-s-1vcpu-2gb`; sets the price.")
    version: Label | None = spec_field(
        default=None, check=_version_check, doc="Engine version, e.g. `15` (else the newest)."
    )
    num_nodes: int = spec_field(
        default=1, check=between(1, 3), doc="Nodes: 1, or 2 to 3 with standbys."
    )
    vpc: str | None = spec_field(default=None, ref="vpc", doc="Name of a `vpc` resource to join.")
    storage_size_mib: int | None = spec_field(
        default=None, check=between(1, 2**31), doc="Extra disk in MiB beyond the plan's own."
    )


#: The SKU of storage added to a cluster, per GiB-month. Not in the shipped catalog: no stored
#: source gives DigitalOcean's figure (see prices.toml), so the line is unpriced until one does.
STORAGE_SKU = "database:storage-gib"


def price(spec: DatabaseSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    nodes = f" x {spec.num_nodes} nodes" if spec.num_nodes > 1 else ""
    items = [lookup.line(f"Database {spec.size}{nodes}", f"database:{spec.size}", spec.num_nodes)]
    if spec.storage_size_mib:
        # DigitalOcean's schema: storage_size_mib is added to what the size includes, so all of
        # it is billed beyond the plan.
        gib = Decimal(spec.storage_size_mib) / 1024
        included = load_offerings().database_storage_gib.get(spec.size)
        beyond = f", beyond the {included} GiB {spec.size} includes" if included else ""
        items.append(
            lookup.line(f"Additional database storage {_gib(gib)} GiB{beyond}", STORAGE_SKU, gib)
        )
    return items


def _gib(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:.3f}"


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: DatabaseSpec = res.specifications
    yield from check_size(ctx, "database", spec.size)
    if spec.num_nodes > 1 and spec.size in _NO_STANDBY:
        yield Problem(
            "specifications.num_nodes",
            f"{spec.size} cannot have standby nodes; use db-s-1vcpu-2gb or larger",
        )


# DigitalOcean's published schema has no way to retag a cluster.
KIND = kind(
    "database", DatabaseSpec, "A managed database cluster of 1 to 3 nodes.",
    price=price, check=check, replace_on=("engine", "version", "vpc"), retaggable=False,
    importable=True, stateful=True,
)  # fmt: skip
