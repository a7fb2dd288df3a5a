"""The Azure resource kinds: their specifications, prices and checks."""

from __future__ import annotations

from atlas.providers.declarations import ResourceKind
from atlas_azure.resources import compute, database, network

__all__ = ["KINDS"]

KINDS: tuple[ResourceKind, ...] = (
    compute.VM_KIND,
    compute.DISK_KIND,
    database.POSTGRES_KIND,
    database.MYSQL_KIND,
    network.KIND,
)
