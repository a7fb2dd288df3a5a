"""The handler of each DigitalOcean kind: wire format, create, poll, read, update, delete.

The provider (:class:`atlas_digitalocean.provider.DigitalOceanProvider`) is a
:class:`atlas.providers.HandlerProvider` made of these; the core owns adoption, batches,
polling rounds and waits.
"""

from __future__ import annotations

from atlas_digitalocean.ops.base import DigitalOceanHandler, OpsSettings
from atlas_digitalocean.ops.databases import DatabaseHandler
from atlas_digitalocean.ops.droplets import DropletHandler
from atlas_digitalocean.ops.firewalls import FirewallHandler
from atlas_digitalocean.ops.load_balancers import LoadBalancerHandler
from atlas_digitalocean.ops.volumes import VolumeHandler
from atlas_digitalocean.ops.vpcs import VpcHandler

__all__ = ["ALL_OPS", "DigitalOceanHandler", "OpsSettings"]

#: One handler class per kind the provider manages.
ALL_OPS: tuple[type[DigitalOceanHandler], ...] = (
    DropletHandler,
    VolumeHandler,
    DatabaseHandler,
    LoadBalancerHandler,
    FirewallHandler,
    VpcHandler,
)
