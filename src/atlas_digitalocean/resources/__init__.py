"""One module per DigitalOcean resource kind: its specification, price and checks."""

from __future__ import annotations

from atlas.providers.declarations import ResourceKind
from atlas_digitalocean.resources import database, droplet, firewall, load_balancer, volume, vpc

__all__ = ["KINDS"]

KINDS: tuple[ResourceKind, ...] = (
    vpc.KIND,
    droplet.KIND,
    volume.KIND,
    database.KIND,
    load_balancer.KIND,
    firewall.KIND,
)
