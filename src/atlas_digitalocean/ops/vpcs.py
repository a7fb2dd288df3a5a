"""VPCs: private networks, created synchronously, deleted once their members have left.

The first VPC made in a region becomes that region's default, and DigitalOcean never deletes
a default (vpcs_create / vpcs_delete: 403). The default can be moved to another VPC of the
region (PATCH ``default: true``; the old one's flag is cleared), which is how a recorded VPC
that is its region's default is still deleted; with no other VPC there it is kept, and said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import LeftInPlaceError, PermissionDeniedError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import get_or_none, logger
from atlas_digitalocean.ops.named import NamedHandler
from atlas_digitalocean.resources.vpc import VpcSpec

__all__ = ["VpcHandler", "default_vpc_name", "region_default"]


def default_vpc_name(region: str) -> str:
    """The name DigitalOcean gives the default VPC it makes in a region (``default-nyc3``)."""
    return f"default-{region}"


def region_default(vpcs: Sequence[Mapping[str, Any]], region: str) -> Mapping[str, Any] | None:
    """The region's default VPC among ``vpcs`` (as listed), if it has one."""
    return next((v for v in vpcs if v.get("region") == region and v.get("default")), None)


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

    async def discover(self, owner: Owner) -> list[ResourceState]:
        """The VPCs carrying ``owner``'s name, except a region's default: one a destroy kept
        (DigitalOcean never deletes it) belongs to the account now, not to an infrastructure,
        so ``reconcile`` neither reports nor tries to delete it."""
        found = await super().discover(owner)
        kept = []
        for state in found:
            objects = tuple(o for o in state.objects if not o.attributes.get("default"))
            if objects:
                kept.append(ResourceState(state.type, state.name, objects))
        return kept

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
        deleted a moment ago let go of it a little later. A region's default VPC is deleted
        after another VPC of the region is made the default; with none, it is kept
        (:class:`~atlas.exceptions.LeftInPlaceError`)."""
        deadline = self.timing.clock() + self.timing.action_timeout
        checked_default = False
        while True:
            try:
                await self.api.delete_vpc(object_id)
                return
            except PermissionDeniedError as exc:
                if not checked_default:
                    checked_default = True
                    if await self._hand_over_default(object_id):
                        continue  # the default has moved: delete again at once
                if self.timing.clock() > deadline:
                    raise ProviderOperationError(
                        f"VPC {object_id} could not be deleted in "
                        f"{self.timing.action_timeout:g}s: {exc.message}"
                        f"{await self._members_note(object_id)}"
                    ) from exc
                logger.info("VPC %s still has members; waiting to delete it", object_id)
            await self.timing.sleep(self.timing.poll_interval)

    async def _hand_over_default(self, object_id: str) -> bool:
        """When the VPC is its region's default, make another VPC of the region the default
        (DigitalOcean's own ``default-<region>`` first, else the oldest); ``True`` once done.
        With no other VPC there, the VPC is kept: it costs nothing."""
        d = await get_or_none(self.get(object_id))
        if d is None or not d.get("default"):
            return False
        region = str(d.get("region"))
        others = [
            v for v in await self.list_all() if v.get("region") == region and v["id"] != d["id"]
        ]
        if not others:
            raise LeftInPlaceError(
                f"kept VPC {d.get('name')}: it is {region}'s default, which DigitalOcean never "
                f"deletes; it costs nothing"
            )
        own = default_vpc_name(region)
        heir = min(others, key=lambda v: (v.get("name") != own, str(v.get("created_at") or "")))
        await self.api.update_vpc(str(heir["id"]), {"default": True})
        logger.warning(
            "VPC %s was the default of %s; made %s the default so that it could be deleted",
            d.get("name"),
            region,
            heir.get("name"),
        )
        return True

    async def _members_note(self, object_id: str) -> str:
        members = await self.api.vpc_members(object_id)
        names = ", ".join(str(m.get("name") or m.get("urn")) for m in members)
        return f" (members: {names})" if names else ""
