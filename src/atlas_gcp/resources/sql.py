"""Cloud SQL instances (Enterprise edition, dedicated core): CPU, memory and storage."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_gcp.resources.common import at_least, kind

__all__ = ["KIND", "MAX_MEMORY_GB", "MAX_VCPUS", "SqlInstanceSpec", "shape"]

DatabaseVersion = Literal["POSTGRES_15", "MYSQL_8_0"]
#: Enterprise edition's largest dedicated-core instance (Cloud SQL pricing page).
MAX_VCPUS = 96
MAX_MEMORY_GB = 624
#: A dedicated-core tier names its vCPUs and memory in MB: ``db-custom-2-7680``.
_CUSTOM = re.compile(r"^db-custom-(\d+)-(\d+)$")


@attrs.frozen
class SqlInstanceSpec:
    """A Cloud SQL instance, sized by `tier` or by `vcpus` and `memory_gb`."""

    database_version: DatabaseVersion = spec_field(doc="POSTGRES_15 or MYSQL_8_0.")
    tier: str | None = spec_field(
        default=None, doc="A dedicated-core tier `db-custom-<vCPUs>-<memory MB>`."
    )
    vcpus: int | None = spec_field(default=None, doc="Or the vCPUs (with `memory_gb`).")
    memory_gb: Decimal | None = spec_field(default=None, doc="And the memory in GB.")
    storage_gb: int = spec_field(check=at_least(1), doc="Provisioned SSD storage in GB.")


def shape(spec: SqlInstanceSpec) -> tuple[int, Decimal] | None:
    """(vCPUs, memory GB) the spec asks for, or ``None`` when it does not say (a check
    reports it)."""
    if spec.tier is not None:
        match = _CUSTOM.match(spec.tier)
        if match is None:
            return None
        return int(match[1]), Decimal(match[2]) / 1024
    if spec.vcpus is None or spec.memory_gb is None:
        return None
    return spec.vcpus, spec.memory_gb


def price(spec: SqlInstanceSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    region = lookup.region
    lines = []
    sized = shape(spec)
    if sized is not None:
        vcpus, memory = sized
        lines += [
            lookup.line(f"Cloud SQL {vcpus} vCPU", f"sql-vcpu:{region}:enterprise", vcpus),
            lookup.line(
                f"Cloud SQL {memory.normalize()} GB memory",
                f"sql-memory:{region}:enterprise",
                memory,
            ),
        ]
    lines.append(
        lookup.line(
            f"Cloud SQL SSD storage {spec.storage_gb} GB",
            f"sql-storage:{region}:ssd",
            spec.storage_gb,
        )
    )
    return lines


def check(res: ResourceSpec, _ctx: CheckContext) -> Iterator[Problem]:
    spec: SqlInstanceSpec = res.specifications
    by_tier = spec.tier is not None
    by_shape = spec.vcpus is not None or spec.memory_gb is not None
    if by_tier == by_shape:
        yield Problem("specifications.tier", "give either tier, or vcpus and memory_gb")
        return
    if by_tier and shape(spec) is None:
        yield Problem(
            "specifications.tier",
            f"{spec.tier!r} is not a dedicated-core tier db-custom-<vCPUs>-<memory MB> "
            "(shared-core tiers are not priced offline)",
        )
        return
    if not by_tier and (spec.vcpus is None or spec.memory_gb is None):
        missing = "memory_gb" if spec.memory_gb is None else "vcpus"
        yield Problem(f"specifications.{missing}", "vcpus and memory_gb go together")
        return
    sized = shape(spec)
    assert sized is not None
    vcpus, memory = sized
    field = "tier" if by_tier else "vcpus"
    if not 1 <= vcpus <= MAX_VCPUS:
        yield Problem(f"specifications.{field}", f"Cloud SQL takes 1 to {MAX_VCPUS} vCPUs")
    if not 0 < memory <= MAX_MEMORY_GB:
        where = "tier" if by_tier else "memory_gb"
        yield Problem(f"specifications.{where}", f"Cloud SQL takes up to {MAX_MEMORY_GB} GB")


KIND = kind(
    "sql_instance", SqlInstanceSpec, "A Cloud SQL for PostgreSQL or MySQL instance.",
    price=price, check=check, replace_on=("database_version",), stateful=True,
)  # fmt: skip
