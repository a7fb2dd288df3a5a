"""The live operations of each DigitalOcean kind: wire format, create, wait, update, delete."""

from __future__ import annotations

from atlas_digitalocean.ops.base import KindOps, OpsSettings
from atlas_digitalocean.ops.databases import DatabaseOps
from atlas_digitalocean.ops.droplets import DropletOps
from atlas_digitalocean.ops.firewalls import FirewallOps
from atlas_digitalocean.ops.load_balancers import LoadBalancerOps
from atlas_digitalocean.ops.volumes import VolumeOps
from atlas_digitalocean.ops.vpcs import VpcOps

__all__ = ["ALL_OPS", "KindOps", "OpsSettings"]

#: One class per kind the provider manages.
ALL_OPS: tuple[type[KindOps], ...] = (
    DropletOps,
    VolumeOps,
    DatabaseOps,
    LoadBalancerOps,
    FirewallOps,
    VpcOps,
)
