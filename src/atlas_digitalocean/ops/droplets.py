"""Droplets: batched creates, tag-listed waits, resize, rename, verified deletes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import AtlasError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext, create_objects, until_gone
from atlas_digitalocean.api import JSON
from atlas_digitalocean.naming import resource_tag, spec_tag
from atlas_digitalocean.ops.base import TaggedHandler, add_tags, dep_id, imported, retag
from atlas_digitalocean.prices import load_offerings
from atlas_digitalocean.resources.droplet import DropletSpec

__all__ = ["BATCH", "CONCURRENT_CREATES", "DropletHandler"]

#: DigitalOcean creates at most ten droplets per call (``names``).
BATCH = 10
#: Create calls of one resource in flight at once: 500 droplets take 50 calls, which one after
#: another would add up their round trips; four at a time stays far below the rate limit.
CONCURRENT_CREATES = 4


def region_of(d: JSON) -> str | None:
    region = d.get("region")
    return region.get("slug") if isinstance(region, dict) else region


def unmarked(resource: str, obj: CloudObject) -> bool:
    """Whether ``obj`` carries no resource tag of atlas's for ``resource``: an imported
    droplet (drift has no owner to build the exact tag from)."""
    tags = obj.attributes.get("tags") or []
    return not any(t.startswith("atlas:") and t.endswith(f":{resource}") for t in tags)


def to_object(d: JSON, status: ResourceStatus) -> CloudObject:
    networks = d.get("networks") or {}
    v4 = {n.get("type"): n.get("ip_address") for n in networks.get("v4") or []}
    v6 = [n.get("ip_address") for n in networks.get("v6") or []]
    image = d.get("image") or {}
    attributes: dict[str, Any] = {
        "status": d.get("status"),
        "size": d.get("size_slug"),
        "region": (d.get("region") or {}).get("slug"),
        "image": image.get("slug") or image.get("id"),
        "vpc_uuid": d.get("vpc_uuid"),
        "public_ipv4": v4.get("public"),
        "private_ipv4": v4.get("private"),
        "public_ipv6": v6[0] if v6 else None,
        "tags": list(d.get("tags") or []),
        "features": list(d.get("features") or []),
        "volume_ids": list(d.get("volume_ids") or []),
    }
    return CloudObject(str(d["id"]), str(d["name"]), status, attributes)


class DropletHandler(TaggedHandler):
    type = "droplet"
    batch_size = BATCH
    concurrent_creates = CONCURRENT_CREATES
    statuses: Mapping[str, ResourceStatus] = {
        "new": "creating",
        "active": "active",
        "off": "updating",
        "archive": "error",
    }

    def obj(self, d: JSON) -> CloudObject:
        return to_object(d, self.status(d.get("status")))

    async def tagged(self, tag: str) -> list[JSON]:
        return await self.api.list_droplets(tag=tag)

    async def get(self, object_id: str) -> JSON:
        return await self.api.get_droplet(object_id)

    async def listing(self, region: str | None) -> list[JSON]:
        # The droplet list has no region filter.
        return [d for d in await self.api.list_droplets() if region in (None, region_of(d))]

    @staticmethod
    def region(d: JSON) -> str | None:
        return region_of(d)

    @staticmethod
    def found(objects: Sequence[JSON], names: Mapping[str, str]) -> JSON:
        """The specifications of droplets as DigitalOcean shows them (the first one's, with
        the count of them all). What cannot be read back is left out: ``ssh_keys`` and
        ``user_data`` (never returned), and the image unless it is a public one atlas knows
        by slug (else its numeric id: a snapshot, a custom image)."""
        d = objects[0]
        features = set(d.get("features") or [])
        image = d.get("image") or {}
        specs: JSON = {
            "size": d.get("size_slug"),
            # DigitalOcean's daily plan unless told otherwise; the weekly one is only in
            # GET .../backups/policy.
            "backups": "backups" in features,
            "monitoring": "monitoring" in features,
            "ipv6": "ipv6" in features,
            "count": len(objects),
        }
        if image.get("slug") in load_offerings().images:
            specs["image"] = image["slug"]
        elif image.get("id") is not None:
            specs["image"] = int(image["id"])
        vpc = names.get(str(d.get("vpc_uuid")))
        if vpc is not None:
            specs["vpc"] = vpc
        return specs

    def object_names(self, ctx: StepContext) -> list[str]:
        s: DropletSpec = ctx.resource.specifications
        if s.count == 1:
            return [self.name(ctx.owner, ctx.name)]
        return [self.name(ctx.owner, ctx.name, i) for i in range(1, s.count + 1)]

    def body(self, ctx: StepContext, names: Sequence[str]) -> JSON:
        s: DropletSpec = ctx.resource.specifications
        body: JSON = {
            "region": ctx.spec.region,
            "size": s.size,
            "image": s.image,
            "ssh_keys": list(s.ssh_keys),
            "backups": s.backup_plan is not None,
            "monitoring": s.monitoring,
            "ipv6": s.ipv6,
            "tags": self.tags(ctx),
        }
        body |= {"names": list(names)} if len(names) > 1 else {"name": names[0]}
        if s.backup_plan is not None:
            body["backup_policy"] = {"plan": s.backup_plan}
        if s.vpc is not None:
            body["vpc_uuid"] = dep_id(ctx.deps, s.vpc, f"droplet {ctx.name!r}")
        if s.user_data is not None:
            body["user_data"] = s.user_data
        return body

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        """One call for up to ten names (``names``; ``name`` for one)."""
        return [self.obj(d) for d in await self.api.create_droplets(self.body(ctx, names))]

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Rename to the spec's names, delete the extra droplets, create the missing ones
        (as a create does), then bring each existing one to the spec."""
        s: DropletSpec = ctx.resource.specifications
        if any(imported(ctx.owner, state, o) for o in state.objects):
            return await self._update_imported(ctx, state)
        names = self.object_names(ctx)
        await self._rename_strays(names, state)
        made = {o.name: o for o in await self.find(ctx.owner, ctx.name)}
        extra = [o for n, o in made.items() if n not in names]
        for obj in extra:
            await self.api.delete_droplet(obj.id)
        existing = set(made)
        await create_objects(self, ctx, names, made)
        for name in names:
            if name in existing:  # new ones were created as the spec says
                await self._converge(ctx.spec, s, made[name])
        fresh = await self.read(ctx.owner, state)
        if fresh is None:
            raise AtlasError(f"droplets of {ctx.name!r} vanished during the update")
        await self._until_gone(ctx.owner, ctx.name, extra)
        return fresh

    async def _update_imported(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Imported droplets keep their names and their own tags; each is brought to the
        spec by id. Their number is the import's: a count cannot change."""
        s: DropletSpec = ctx.resource.specifications
        if s.count != len(state.objects):
            raise ProviderOperationError(
                f"droplet {ctx.name!r} was imported as {len(state.objects)} droplets; its count "
                f"cannot become {s.count} (import or create the others as another resource)"
            )
        current = await self.by_id(state.objects)
        if len(current) != len(state.objects):
            gone = sorted({o.id for o in state.objects} - {o.id for o in current})
            raise ProviderOperationError(
                f"imported droplet(s) {', '.join(gone)} of {ctx.name!r} no longer exist"
            )
        for obj in current:
            await self._converge(ctx.spec, s, obj, own_tags=True)
        return ResourceState(self.type, ctx.name, tuple(await self.by_id(state.objects)))

    async def _rename_strays(self, names: list[str], state: ResourceState) -> None:
        """Objects recorded under another name (a count of 1 became 3, say) get the right one."""
        free = [n for n in names if n not in {o.name for o in state.objects}]
        for obj in state.objects:
            if obj.name not in names and free:
                new = free.pop(0)
                action = await self.api.droplet_action(obj.id, {"type": "rename", "name": new})
                await self.wait_action(action, what=f"rename of droplet {obj.name}")

    async def _until_gone(self, owner: Owner, resource: str, doomed: list[CloudObject]) -> None:
        """Until the droplets ``doomed`` are gone, as a delete waits (one tagged list a round)."""
        ids = {o.id for o in doomed}
        left: list[CloudObject] = []

        async def look() -> list[CloudObject] | None:
            nonlocal left
            left = [o for o in await self.find(owner, resource) if o.id in ids]
            return left or None

        async def again() -> None:
            for obj in left:
                await self.api.delete_droplet(obj.id)

        if ids:
            names = ", ".join(sorted(o.name for o in doomed))
            await until_gone(self.timing, f"droplets {names}", look, again)

    async def _converge(
        self, spec: InfrastructureSpec, s: DropletSpec, obj: CloudObject, *, own_tags: bool = False
    ) -> None:
        """Bring one droplet to the spec: size, backups, IPv6 and tags (with ``own_tags``,
        an imported droplet's, the spec's tags are added and none is taken away)."""
        attrs_ = obj.attributes
        if attrs_.get("size") != s.size:
            await self.resize(obj, s.size)
        has_backups = "backups" in attrs_.get("features", [])
        if (s.backup_plan is not None) != has_backups:
            kind = "enable_backups" if s.backup_plan else "disable_backups"
            await self._act(obj, {"type": kind})
        if s.ipv6 and "ipv6" not in attrs_.get("features", []):
            await self._act(obj, {"type": "enable_ipv6"})
        await self._retag(spec, obj, own_tags=own_tags)

    async def _act(self, obj: CloudObject, body: JSON) -> JSON:
        action = await self.api.droplet_action(obj.id, body)
        return await self.wait_action(action, what=f"{body['type']} of droplet {obj.name}")

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: DropletSpec = resource.specifications
        found = []
        if len(state.objects) != s.count:
            found.append(f"{len(state.objects)} droplets exist, the spec says {s.count}")
        want = {spec_tag(k, v) for k, v in spec.tags.items()}
        for obj in state.objects:
            size = obj.attributes.get("size")
            if size != s.size:
                found.append(f"{obj.name} is {size}, the spec says {s.size}")
            have = {t for t in obj.attributes.get("tags", []) if not t.startswith("atlas:")}
            # An imported droplet keeps tags of its own: only the spec's must be there.
            if have != want and not (unmarked(resource.name, obj) and want <= have):
                found.append(f"{obj.name} is tagged {sorted(have)}, the spec says {sorted(want)}")
        return found

    async def resize(self, obj: CloudObject, size: str) -> None:
        """Power off, resize (CPU and memory; the disk is kept so it can size down again),
        power on: the order DigitalOcean requires."""
        if obj.attributes.get("status") != "off":
            await self._act(obj, {"type": "power_off"})
        await self._act(obj, {"type": "resize", "size": size, "disk": False})
        await self._act(obj, {"type": "power_on"})

    async def _retag(self, spec: InfrastructureSpec, obj: CloudObject, *, own_tags: bool) -> None:
        want = [spec_tag(k, v) for k, v in spec.tags.items()]
        ref = {"resource_id": obj.id, "resource_type": "droplet"}
        change = add_tags if own_tags else retag
        await change(self.api, ref, obj.attributes.get("tags", []), want)

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        """By the resource's tag: one call for any count; imported droplets, which carry no
        tag of atlas's, by id (the core then waits until gone)."""
        outside = [o for o in state.objects if imported(owner, state, o)]
        if len(outside) < len(state.objects) or not state.objects:
            await self.api.delete_droplets_by_tag(resource_tag(owner.uid, state.name))
        for obj in outside:
            await self.api.delete_droplet(obj.id)
