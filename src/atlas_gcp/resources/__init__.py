"""The GCP resource kinds: their specifications, prices and checks."""

from __future__ import annotations

from atlas.providers.declarations import ResourceKind
from atlas_gcp.resources import compute, network, sql

__all__ = ["KINDS"]

KINDS: tuple[ResourceKind, ...] = (
    compute.INSTANCE_KIND,
    compute.DISK_KIND,
    sql.KIND,
    network.KIND,
)
