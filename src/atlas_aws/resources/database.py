"""RDS DB instances: a managed database in a subnet group of two or more zones of one VPC."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.fields import spec_field
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas_aws.resources.common import kind, nearest, referenced

__all__ = ["ENGINES", "KIND", "STORAGE_RANGE", "DbInstanceSpec", "db_sku", "storage_sku"]

Engine = Literal["postgres", "mysql", "mariadb"]
StorageType = Literal["gp3", "gp2"]
ENGINES: tuple[str, ...] = ("postgres", "mysql", "mariadb")
#: GiB each engine takes per storage type (CreateDBInstance's ``AllocatedStorage``).
STORAGE_RANGE: Mapping[tuple[str, str], tuple[int, int]] = {
    (engine, storage): (20, 65536) for engine in ENGINES for storage in ("gp2", "gp3")
}
#: A master user name: a letter, then letters, digits or ``_``; PostgreSQL takes 63 of them,
#: MySQL and MariaDB 16.
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_USERNAME_MAX = {"postgres": 63, "mysql": 16, "mariadb": 16}
#: The users RDS keeps for itself.
_RESERVED_USERS = frozenset({"rdsadmin", "rdsrepladmin"})


def db_sku(region: str, engine: str, instance_class: str) -> str:
    """The catalog's key for an instance class's hourly price (single-AZ, on demand)."""
    return f"db_instance:{region}:{engine}:{instance_class}"


def storage_sku(region: str, storage_type: str) -> str:
    return f"db_storage:{region}:{storage_type}"


def _username(value: str) -> str | None:
    if not _USERNAME.match(value):
        return "must be 1 to 63 letters, digits or '_', a letter first"
    if value.lower() in _RESERVED_USERS:
        return f"{value!r} is reserved by RDS or the engine"
    return None


@attrs.frozen
class DbInstanceSpec:
    """An RDS DB instance (single-AZ), its password kept by RDS in Secrets Manager."""

    engine: Engine = spec_field(doc="postgres, mysql or mariadb; sets the price.")
    instance_class: str = spec_field(doc="Instance class such as `db.t3.micro`; sets the price.")
    allocated_storage: int = spec_field(doc="Storage in GiB (20 to 65536); sets the price.")
    subnets: tuple[str, ...] = spec_field(
        ref="subnet", doc="Names of `subnet` resources: two or more zones of one VPC."
    )
    security_groups: tuple[str, ...] = spec_field(
        factory=tuple, ref="security_group", doc="Names of `security_group` resources."
    )
    engine_version: str | None = spec_field(
        default=None, doc="Such as `16.4` or `8.0` (else RDS's default for the engine)."
    )
    storage_type: StorageType = spec_field(default="gp3", doc="gp3 (default) or gp2.")
    master_username: str = spec_field(
        default="atlas", check=_username, doc="The master user; its password stays with RDS."
    )


def price(spec: DbInstanceSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    region = lookup.region
    return [
        lookup.line(
            f"RDS {spec.engine} {spec.instance_class}",
            db_sku(region, spec.engine, spec.instance_class),
        ),
        lookup.line(
            f"RDS {spec.storage_type} {spec.allocated_storage} GiB",
            storage_sku(region, spec.storage_type),
            spec.allocated_storage,
        ),
    ]


def check(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    spec: DbInstanceSpec = res.specifications
    yield from _class_problems(spec, ctx)
    low, high = STORAGE_RANGE[(spec.engine, spec.storage_type)]
    if not low <= spec.allocated_storage <= high:
        yield Problem(
            "specifications.allocated_storage",
            f"RDS for {spec.engine} on {spec.storage_type} takes {low} to {high} GiB; "
            f"got {spec.allocated_storage}",
        )
    limit = _USERNAME_MAX[spec.engine]
    if len(spec.master_username) > limit:
        yield Problem(
            "specifications.master_username", f"RDS for {spec.engine} takes {limit} characters"
        )
    yield from _subnet_problems(spec, ctx)
    yield from _group_problems(spec, ctx)


def _class_problems(spec: DbInstanceSpec, ctx: CheckContext) -> Iterator[Problem]:
    catalog, region = ctx.catalog, ctx.spec.region
    if catalog is None or catalog.price(db_sku(region, spec.engine, spec.instance_class)):
        return
    prefix = f"{region}:{spec.engine}:"
    known = [v[len(prefix) :] for v in catalog.variants("db_instance") if v.startswith(prefix)]
    if not known:
        return  # a region atlas has no prices for is reported at the top
    yield Problem(
        "specifications.instance_class",
        f"atlas knows no {spec.engine} instance class {spec.instance_class!r} in {region}"
        f"{nearest(spec.instance_class, known)}",
    )


def _subnet_problems(spec: DbInstanceSpec, ctx: CheckContext) -> Iterator[Problem]:
    if len(set(spec.subnets)) != len(spec.subnets):
        yield Problem("specifications.subnets", "names a subnet twice")
    found = [(i, referenced(ctx.spec, name, "subnet")) for i, name in enumerate(spec.subnets)]
    subnets = [(i, s) for i, s in found if s is not None]
    vpcs = {s.specifications.vpc for _, s in subnets}
    if len(vpcs) > 1:
        first = subnets[0][1].specifications.vpc
        for i, s in subnets:
            if s.specifications.vpc != first:
                yield Problem(
                    f"specifications.subnets[{i}]",
                    f"{s.name!r} is in VPC {s.specifications.vpc!r}, {subnets[0][1].name!r} in "
                    f"{first!r}: a DB subnet group's subnets are all of one VPC",
                )
    zones = {s.specifications.availability_zone for _, s in subnets}
    if len(subnets) == len(spec.subnets) and (len(zones) < 2 or None in zones):
        why = "name subnets with their availability_zone" if None in zones else "one zone"
        yield Problem(
            "specifications.subnets",
            f"RDS needs subnets in at least two availability zones ({why} here)",
        )


def _group_problems(spec: DbInstanceSpec, ctx: CheckContext) -> Iterator[Problem]:
    vpc = next(
        (
            s.specifications.vpc
            for name in spec.subnets
            if (s := referenced(ctx.spec, name, "subnet")) is not None
        ),
        None,
    )
    for i, name in enumerate(spec.security_groups):
        group = referenced(ctx.spec, name, "security_group")
        if group is not None and vpc is not None and group.specifications.vpc != vpc:
            yield Problem(
                f"specifications.security_groups[{i}]",
                f"{name!r} is not of the subnets' VPC {vpc!r}",
            )


def _shrinks(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    if int(new.get("allocated_storage") or 0) < int(old.get("allocated_storage") or 0):
        return "RDS storage grows, never shrinks"
    return None


KIND = kind(
    "db_instance", DbInstanceSpec, "An RDS DB instance (single-AZ) in subnets of two zones.",
    price=price, check=check, replace_on=("engine", "subnets", "master_username"),
    replace_if=_shrinks, stateful=True, importable=True,
)  # fmt: skip
