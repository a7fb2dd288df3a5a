"""EBS volumes: created with a ``ClientToken``, then attached to their instance.

EC2 attaches a volume only to an instance of its own zone; moto attaches across zones, so
atlas checks first. A volume is deleted once detached (``VolumeInUse`` until then).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import ConflictError, NotFoundError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_aws.client import JSON, Ec2
from atlas_aws.ops.base import Ec2Handler, logger, region_of
from atlas_aws.resources.volume import VolumeSpec

__all__ = ["DEVICES", "VolumeHandler"]

#: Device names atlas attaches data volumes as, the first free one.
DEVICES = tuple(f"/dev/sd{letter}" for letter in "fghijklmnop")


def volume_token(ctx: StepContext) -> str:
    """The ``ClientToken`` of a volume's create: the same for every try within an operation."""
    basis = f"{ctx.operation or 'no-operation'}/{ctx.owner.uid}/{ctx.name}"
    return "atlas-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


class VolumeHandler(Ec2Handler):
    type = "volume"
    describe, listed_as, resource_type = "DescribeVolumes", "Volumes", "volume"
    delete_call, delete_param = "DeleteVolume", "VolumeId"
    id_filter = "volume-id"
    statuses: Mapping[str, ResourceStatus] = {
        "creating": "creating",
        "available": "active",
        "in-use": "active",
        "deleting": "deleting",
        "deleted": "deleted",
    }

    def object_id(self, d: JSON) -> str:
        return str(d["VolumeId"])

    def live(self, d: JSON) -> bool:
        return self.state_of(d) != "deleted"

    def details(self, d: JSON) -> dict[str, Any]:
        attached = [
            a for a in d.get("Attachments") or [] if a.get("State") in ("attaching", "attached")
        ]
        return {
            "size": d.get("Size"),
            "volume_type": d.get("VolumeType"),
            "iops": d.get("Iops"),
            "availability_zone": d.get("AvailabilityZone"),
            "attached_to": attached[0].get("InstanceId") if attached else None,
            "device": attached[0].get("Device") if attached else None,
        }

    # -- creating ---------------------------------------------------------------------------

    def _zone(self, ctx: StepContext) -> str:
        s: VolumeSpec = ctx.resource.specifications
        if s.availability_zone:
            return s.availability_zone
        instance = ctx.deps.get(s.attach_to or "")
        zone = instance.attribute("availability_zone") if instance and instance.objects else None
        if not zone:
            raise ProviderOperationError(
                f"volume {ctx.name!r}: no zone (give availability_zone, or attach_to an "
                "instance that has been created)"
            )
        return str(zone)

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        del names
        s: VolumeSpec = ctx.resource.specifications
        ec2 = await self.regions.get(ctx.spec.region)
        params: JSON = {
            "AvailabilityZone": self._zone(ctx),
            "Size": s.size,
            "VolumeType": s.volume_type,
            "TagSpecifications": self.tag_specifications(ctx),
            "ClientToken": volume_token(ctx),
        }
        if s.iops is not None:
            params["Iops"] = s.iops
        made = await ec2.call("CreateVolume", **params)
        return [self.obj(made, ctx.spec.region)]

    async def finish_create(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Attach to ``attach_to`` once available (safe to repeat: an attached volume is
        left as it is)."""
        return await self._attach(ctx, state)

    async def _attach(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        s: VolumeSpec = ctx.resource.specifications
        if s.attach_to is None:
            return state
        target = ctx.deps.get(s.attach_to)
        if target is None or not target.objects:
            raise ProviderOperationError(f"volume {ctx.name!r}: {s.attach_to!r} is not created")
        instance = target.objects[0]
        ec2 = await self.regions.get(region_of(state))
        for obj in state.objects:
            current = await self._until_settled(ec2, obj.id)
            if current.attributes.get("attached_to") == instance.id:
                continue
            if current.attributes.get("attached_to"):
                await self._detach(ec2, current)
                current = await self._until_settled(ec2, obj.id)
            zone = instance.attributes.get("availability_zone")
            if zone and zone != current.attributes.get("availability_zone"):
                raise ProviderOperationError(
                    f"volume {ctx.name!r} is in {current.attributes.get('availability_zone')}, "
                    f"instance {s.attach_to!r} in {zone}: EC2 attaches only within a zone"
                )
            device = await self._free_device(ec2, instance.id)
            await ec2.call("AttachVolume", VolumeId=obj.id, InstanceId=instance.id, Device=device)
        return await self.read(ctx.owner, state) or state

    async def _until_settled(self, ec2: Ec2, volume_id: str) -> CloudObject:
        """The volume once it is neither being created nor detached."""
        deadline = self.timing.clock() + self.timing.action_timeout
        while True:
            [d] = await ec2.pages(self.describe, self.listed_as, VolumeIds=[volume_id])
            obj = self.obj(d, ec2.region)
            moving = any(
                a.get("State") in ("attaching", "detaching") for a in d.get("Attachments") or []
            )
            if obj.attributes.get("state") != "creating" and not moving:
                return obj
            if self.timing.clock() > deadline:
                raise ProviderOperationError(f"volume {volume_id} did not settle in time")
            await self.timing.sleep(self.timing.poll_interval)

    async def _free_device(self, ec2: Ec2, instance_id: str) -> str:
        reservations = await ec2.pages(
            "DescribeInstances", "Reservations", InstanceIds=[instance_id]
        )
        used = {
            m.get("DeviceName")
            for r in reservations
            for i in r.get("Instances") or []
            for m in i.get("BlockDeviceMappings") or []
        }
        free = [d for d in DEVICES if d not in used]
        if not free:
            raise ProviderOperationError(f"instance {instance_id} has no free device name left")
        return free[0]

    async def _detach(self, ec2: Ec2, obj: CloudObject) -> None:
        params = {"VolumeId": obj.id}
        if obj.attributes.get("attached_to"):  # EC2 takes the volume alone; moto needs both
            params["InstanceId"] = str(obj.attributes["attached_to"])
        try:
            await ec2.call("DetachVolume", **params)
        except (NotFoundError, ConflictError) as exc:
            logger.info("volume %s: detach answered %s", obj.id, exc.code)

    # -- reading and changing ---------------------------------------------------------------

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: VolumeSpec = resource.specifications
        found = super().drift(spec, resource, state)
        for obj in state.objects:
            a = obj.attributes
            if a.get("size") != s.size:
                found.append(f"{obj.name} is {a.get('size')} GiB, the spec says {s.size}")
            if a.get("volume_type") != s.volume_type:
                found.append(f"{obj.name} is {a.get('volume_type')}, the spec says {s.volume_type}")
            if s.iops is not None and a.get("iops") != s.iops:
                found.append(f"{obj.name} has {a.get('iops')} IOPS, the spec says {s.iops}")
            if bool(s.attach_to) != bool(a.get("attached_to")):
                where = "attached" if a.get("attached_to") else "not attached"
                found.append(f"{obj.name} is {where}, the spec says attach_to {s.attach_to}")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Size, type and IOPS by ``ModifyVolume``; another instance by detach and attach."""
        s: VolumeSpec = ctx.resource.specifications
        await self.retag(ctx, state)
        ec2 = await self.regions.get(region_of(state))
        for obj in state.objects:
            a = obj.attributes
            change: JSON = {}
            if a.get("size") != s.size:
                change["Size"] = s.size
            if a.get("volume_type") != s.volume_type:
                change["VolumeType"] = s.volume_type
            if s.iops is not None and a.get("iops") != s.iops:
                change["Iops"] = s.iops
            if change:
                await ec2.call("ModifyVolume", VolumeId=obj.id, **change)
            if s.attach_to is None and a.get("attached_to"):
                await self._detach(ec2, obj)
        fresh = await self.read(ctx.owner, state) or state
        return await self._attach(ctx, fresh)

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Detach, then delete; EC2 answers ``VolumeInUse`` until the detach is done, and the
        next round of the wait until gone tries again."""
        del owner
        ec2 = await self.regions.get(region_of(state))
        for obj in state.objects:
            if obj.attributes.get("attached_to"):
                await self._detach(ec2, obj)
            try:
                await ec2.call("DeleteVolume", VolumeId=obj.id)
            except NotFoundError:
                continue
            except ConflictError as exc:
                if exc.code not in ("VolumeInUse", "IncorrectState"):
                    raise
                logger.info("volume %s is still attached; deleting it later", obj.id)
        return None
