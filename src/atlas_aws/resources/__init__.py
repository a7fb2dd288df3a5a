"""The AWS resource kinds: their specifications, prices and checks."""

from __future__ import annotations

from atlas.providers.declarations import ResourceKind
from atlas_aws.resources import database, instance, load_balancer, network, volume

__all__ = ["KINDS"]

KINDS: tuple[ResourceKind, ...] = (
    network.VPC_KIND,
    network.SUBNET_KIND,
    network.SG_KIND,
    instance.KIND,
    volume.KIND,
    database.KIND,
    load_balancer.KIND,
)
