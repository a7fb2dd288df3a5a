"""VPCs: private networks, created synchronously, deleted once their members have left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atlas.exceptions import PermissionDeniedError, ProviderOperationError
from atlas.model.cloud import CloudObject, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import get_or_none, logger
from atlas_digitalocean.ops.named import NamedHandler
from atlas_digitalocean.resources.vpc import VpcSpec

__all__ = ["VpcHandler"]


def vpc_object(d: JSON) -> CloudObject:
    attributes: dict[str, Any] = {
        "region": d.get("region"),
        "ip_range": d.get("ip_range"),
        "description": d.get("description") or "",
        "default": bool(d.get("default")),
        "urn": d.get("urn"),
    }
    # A VPC has no status: the 201 of its create means it is there.
    return CloudObject(str(d["id"]), str(d["name"]), "active", attributes)


class VpcHandler(NamedHandler):
    type = "vpc"
    noun = "VPC"

    def obj(self, d: JSON) -> CloudObject:
        return vpc_object(d)

    async def list_all(self) -> list[JSON]:
        return await self.api.list_vpcs()

    async def get(self, object_id: str) -> JSON:
        return await self.api.get_vpc(object_id)

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        s: VpcSpec = ctx.resource.specifications  # a VPC refers to nothing: no deps
        body: JSON = {"name": names[0], "region": ctx.spec.region}
        if s.ip_range is not None:
            body["ip_range"] = s.ip_range
        if s.description is not None:
            body["description"] = s.description
        return [self.obj(await self.api.create_vpc(body))]

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        """The description and the IP range, where the spec gives them."""
        del spec
        s: VpcSpec = resource.specifications
        found = []
        for obj in state.objects:
            have = obj.attributes.get("description") or ""
            if s.description is not None and have != s.description:
                found.append(f"{obj.name} is described {have!r}, the spec says {s.description!r}")
            ip_range = obj.attributes.get("ip_range")
            if s.ip_range is not None and ip_range != s.ip_range:
                found.append(f"{obj.name} has IP range {ip_range}, the spec says {s.ip_range}")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Name and description by PATCH; a new region or IP range needs a new VPC."""
        s: VpcSpec = ctx.resource.specifications
        current = await self.get(self.only_object(state).id)
        self.replacement(ctx.name, "the region", current.get("region"), ctx.spec.region)
        self.replacement(ctx.name, "the IP range", current.get("ip_range"), s.ip_range)
        want = {"name": self.name(ctx.owner, ctx.name), "description": s.description or ""}
        if any((current.get(k) or "") != v for k, v in want.items()):
            current = await self.api.update_vpc(str(current["id"]), want)
        return ResourceState(self.type, ctx.name, (self.obj(current),))

    async def remove(self, object_id: str) -> None:
        """DELETE, waiting out the 403 DigitalOcean gives while the VPC has members: droplets
        deleted a moment ago let go of it a little later. A default VPC is never deleted."""
        deadline = self.timing.clock() + self.timing.action_timeout
        checked_default = False
        while True:
            try:
                await self.api.delete_vpc(object_id)
                return
            except PermissionDeniedError as exc:
                if not checked_default:
                    await self._refuse_default(object_id)
                    checked_default = True
                if self.timing.clock() > deadline:
                    raise ProviderOperationError(
                        f"VPC {object_id} could not be deleted in "
                        f"{self.timing.action_timeout:g}s: {exc.message}"
                        f"{await self._members_note(object_id)}"
                    ) from exc
                logger.info("VPC %s still has members; waiting to delete it", object_id)
            await self.timing.sleep(self.timing.poll_interval)

    async def _refuse_default(self, object_id: str) -> None:
        d = await get_or_none(self.get(object_id))
        if d is not None and d.get("default"):
            raise ProviderOperationError(
                f"VPC {d.get('name')} is the default VPC of {d.get('region')}, which "
                f"DigitalOcean never deletes; make another VPC there the default first"
            )

    async def _members_note(self, object_id: str) -> str:
        members = await self.api.vpc_members(object_id)
        names = ", ".join(str(m.get("name") or m.get("urn")) for m in members)
        return f" (members: {names})" if names else ""
