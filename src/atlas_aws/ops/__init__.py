"""One handler per AWS kind, on the core's crash-safety machinery."""

from __future__ import annotations

from atlas_aws.ops.base import Ec2Handler, Regions
from atlas_aws.ops.databases import DbInstanceHandler
from atlas_aws.ops.instances import InstanceHandler
from atlas_aws.ops.load_balancers import LoadBalancerHandler
from atlas_aws.ops.security_groups import SecurityGroupHandler
from atlas_aws.ops.volumes import VolumeHandler
from atlas_aws.ops.vpcs import SubnetHandler, VpcHandler

__all__ = ["ALL_OPS", "Ec2Handler", "Regions"]

ALL_OPS: tuple[type[Ec2Handler], ...] = (
    VpcHandler,
    SubnetHandler,
    SecurityGroupHandler,
    InstanceHandler,
    VolumeHandler,
    DbInstanceHandler,
    LoadBalancerHandler,
)
