"""VPCs and subnets: created at once (``pending`` briefly), deleted once their members left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atlas.model.cloud import CloudObject, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_aws.client import JSON, Ec2
from atlas_aws.ops.base import Ec2Handler, dep_id, region_of
from atlas_aws.resources.network import SubnetSpec, VpcSpec

__all__ = ["SubnetHandler", "VpcHandler"]

#: Instance states that still hold a subnet (or a security group).
HOLDING = ["pending", "running", "stopping", "stopped", "shutting-down"]


class VpcHandler(Ec2Handler):
    type = "vpc"
    noun = "VPC"
    describe, listed_as, resource_type = "DescribeVpcs", "Vpcs", "vpc"
    delete_call, delete_param = "DeleteVpc", "VpcId"
    id_filter = "vpc-id"

    def object_id(self, d: JSON) -> str:
        return str(d["VpcId"])

    def details(self, d: JSON) -> dict[str, Any]:
        return {"cidr_block": d.get("CidrBlock"), "default": bool(d.get("IsDefault"))}

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        del names  # the Name tag carries it
        s: VpcSpec = ctx.resource.specifications
        ec2 = await self.regions.get(ctx.spec.region)
        made = await ec2.call(
            "CreateVpc", CidrBlock=s.cidr_block, TagSpecifications=self.tag_specifications(ctx)
        )
        return [self.obj(made["Vpc"], ctx.spec.region)]

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: VpcSpec = resource.specifications
        found = super().drift(spec, resource, state)
        for obj in state.objects:
            if obj.attributes.get("cidr_block") != s.cidr_block:
                have = obj.attributes.get("cidr_block")
                found.append(f"{obj.name} has block {have}, the spec says {s.cidr_block}")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        await self.retag(ctx, state)
        return await self.read(ctx.owner, state) or state


class SubnetHandler(Ec2Handler):
    type = "subnet"
    describe, listed_as, resource_type = "DescribeSubnets", "Subnets", "subnet"
    delete_call, delete_param = "DeleteSubnet", "SubnetId"
    id_filter = "subnet-id"

    def object_id(self, d: JSON) -> str:
        return str(d["SubnetId"])

    def details(self, d: JSON) -> dict[str, Any]:
        return {
            "vpc_id": d.get("VpcId"),
            "cidr_block": d.get("CidrBlock"),
            "availability_zone": d.get("AvailabilityZone"),
            "map_public_ip_on_launch": bool(d.get("MapPublicIpOnLaunch")),
        }

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        del names
        s: SubnetSpec = ctx.resource.specifications
        ec2 = await self.regions.get(ctx.spec.region)
        params: JSON = {
            "VpcId": dep_id(ctx.deps, s.vpc, f"subnet {ctx.name!r}"),
            "CidrBlock": s.cidr_block,
            "TagSpecifications": self.tag_specifications(ctx),
        }
        if s.availability_zone:
            params["AvailabilityZone"] = s.availability_zone
        made = await ec2.call("CreateSubnet", **params)
        return [self.obj(made["Subnet"], ctx.spec.region)]

    async def finish_create(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """The public-address setting is its own call (safe to repeat)."""
        return await self._public_ip(ctx, state)

    async def _public_ip(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        want = bool(ctx.resource.specifications.map_public_ip_on_launch)
        stale = [o for o in state.objects if o.attributes.get("map_public_ip_on_launch") != want]
        if not stale:
            return state
        ec2 = await self.regions.get(region_of(state))
        for obj in stale:
            await ec2.call(
                "ModifySubnetAttribute", SubnetId=obj.id, MapPublicIpOnLaunch={"Value": want}
            )
        return await self.read(ctx.owner, state) or state

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: SubnetSpec = resource.specifications
        found = super().drift(spec, resource, state)
        for obj in state.objects:
            a = obj.attributes
            if a.get("cidr_block") != s.cidr_block:
                found.append(
                    f"{obj.name} has block {a.get('cidr_block')}, the spec says {s.cidr_block}"
                )
            zone = s.availability_zone
            if zone and a.get("availability_zone") != zone:
                found.append(f"{obj.name} is in {a.get('availability_zone')}, the spec says {zone}")
            if a.get("map_public_ip_on_launch") != s.map_public_ip_on_launch:
                found.append(
                    f"{obj.name} has map_public_ip_on_launch {a.get('map_public_ip_on_launch')}, "
                    f"the spec says {s.map_public_ip_on_launch}"
                )
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        await self.retag(ctx, state)
        return await self._public_ip(ctx, await self.read(ctx.owner, state) or state)

    async def in_use(self, ec2: Ec2, obj: CloudObject) -> bool:
        """Instances still in the subnet (EC2 refuses the delete; moto would not)."""
        filters = [
            {"Name": "subnet-id", "Values": [obj.id]},
            {"Name": "instance-state-name", "Values": HOLDING},
        ]
        reservations = await ec2.pages("DescribeInstances", "Reservations", Filters=filters)
        return any(r.get("Instances") for r in reservations)
