"""Volumes: adopted creates, attach, detach and growth by action, verified deletes.

A volume has no status of its own: once it exists (and is attached as asked) it is
``active``. Its name ``<infrastructure>-<resource>-<uid>`` is unique in its region, so a create
whose answer was lost is found again by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import (
    TaggedHandler,
    add_tags,
    dep_id,
    get_confirmed,
    get_or_none,
    imported,
    retag,
)
from atlas_digitalocean.resources.volume import VolumeSpec

__all__ = ["VolumeHandler"]


def region_of(v: JSON) -> str | None:
    region = v.get("region")
    return region.get("slug") if isinstance(region, dict) else region


def droplets_of(v: JSON) -> list[str]:
    return [str(i) for i in v.get("droplet_ids") or []]


def to_object(v: JSON, status: ResourceStatus = "active") -> CloudObject:
    attributes: dict[str, Any] = {
        "size_gigabytes": v.get("size_gigabytes"),
        "region": region_of(v),
        "filesystem_type": v.get("filesystem_type") or None,
        "droplet_ids": droplets_of(v),
        "tags": list(v.get("tags") or []),
    }
    return CloudObject(str(v["id"]), str(v["name"]), status, attributes)


def applied(body: JSON, v: JSON) -> bool:
    """Whether the volume ``v`` already shows the effect of the action ``body``."""
    if body["type"] == "resize":
        return int(v.get("size_gigabytes") or 0) >= int(body["size_gigabytes"])
    attached = str(body["droplet_id"]) in droplets_of(v)
    return attached if body["type"] == "attach" else not attached


def refusals(
    spec: InfrastructureSpec, s: VolumeSpec, v: JSON, *, outside: bool = False
) -> list[str]:
    """What the spec asks that DigitalOcean cannot do to an existing volume. ``None`` fields
    express no wish (a filesystem type only matters when the volume is made, and is never
    held against an imported one, ``outside``: it is the kind's ``create_only``)."""
    out = []
    if s.size_gigabytes < int(v["size_gigabytes"]):
        out.append(
            f"shrink from {v['size_gigabytes']} to {s.size_gigabytes} GiB (volumes only grow)"
        )
    if region_of(v) != spec.region:
        out.append(f"move from {region_of(v)} to {spec.region}")
    fs = v.get("filesystem_type") or None
    if not outside and s.filesystem_type is not None and s.filesystem_type != fs:
        out.append(f"be reformatted as {s.filesystem_type}")
    if s.description is not None and s.description != (v.get("description") or ""):
        out.append("change its description (DigitalOcean has no call for that)")
    return out


class VolumeHandler(TaggedHandler):
    type = "volume"

    def obj(self, d: JSON) -> CloudObject:
        return to_object(d)

    async def tagged(self, tag: str) -> list[JSON]:
        # Volume lists have no tag filter: one list of them all, filtered here.
        return [v for v in await self.api.list_volumes() if tag in (v.get("tags") or [])]

    async def get(self, object_id: str) -> JSON:
        return await self.api.get_volume(object_id)

    async def listing(self, region: str | None) -> list[JSON]:
        return await self.api.list_volumes(region=region)

    @staticmethod
    def region(d: JSON) -> str | None:
        return region_of(d)

    @staticmethod
    def found(objects: Sequence[JSON], names: Mapping[str, str]) -> JSON:
        """A volume's specifications as DigitalOcean shows them; ``attach_to`` only when
        the droplet it is attached to has a name in ``names``."""
        v = objects[0]
        specs: JSON = {
            "size_gigabytes": v.get("size_gigabytes"),
            "filesystem_type": v.get("filesystem_type") or None,
            "description": v.get("description") or None,
        }
        attached = [names[i] for i in droplets_of(v) if i in names]
        if attached:
            specs["attach_to"] = attached[0]
        return specs

    def body(self, ctx: StepContext, name: str) -> JSON:
        s: VolumeSpec = ctx.resource.specifications
        body: JSON = {
            "name": name,
            "size_gigabytes": s.size_gigabytes,
            "region": ctx.spec.region,
            "tags": self.tags(ctx),
        }
        if s.description is not None:
            body["description"] = s.description
        if s.filesystem_type is not None:
            body["filesystem_type"] = s.filesystem_type
        return body

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: VolumeSpec = resource.specifications
        found = []
        for obj in state.objects:
            size = obj.attributes.get("size_gigabytes")
            if size != s.size_gigabytes:
                found.append(f"{obj.name} has {size} GiB, the spec says {s.size_gigabytes}")
            if s.attach_to is None and obj.attributes.get("droplet_ids"):
                found.append(f"{obj.name} is attached, the spec says it is not")
            if s.attach_to is not None and not obj.attributes.get("droplet_ids"):
                found.append(f"{obj.name} is detached, the spec attaches it to {s.attach_to}")
        del spec
        return found

    async def find(self, owner: Owner, resource: str) -> list[CloudObject]:
        """The resource's volume, by the name no other resource or owner has (one call)."""
        name = self.name(owner, resource)
        return [to_object(v) for v in await self.api.list_volumes(name=name) if v["name"] == name]

    async def lookup(self, obj: CloudObject) -> JSON | None:
        """The volume now, or ``None``. DigitalOcean may 404 a fresh object by id, so a 404
        is confirmed by a list before it counts."""
        region = obj.attributes.get("region")
        return await get_confirmed(
            self.api.get_volume(obj.id),
            lambda: self.api.list_volumes(name=obj.name, region=region),
            obj.id,
        )

    async def current(self, state: ResourceState) -> JSON:
        volume = await self.lookup(state.objects[0]) if state.objects else None
        if volume is None:
            raise ProviderOperationError(
                f"volume {state.name!r} no longer exists; it has to be created again"
            )
        return volume

    def droplet(self, ctx: StepContext) -> str | None:
        """The droplet the spec attaches the volume to, if any."""
        s: VolumeSpec = ctx.resource.specifications
        return dep_id(ctx.deps, s.attach_to, f"volume {ctx.name!r}")

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        # Resolved first: a droplet that is not there must not leave a stray volume behind.
        droplet = self.droplet(ctx)
        body = self.body(ctx, names[0])
        made = await self.post_or_adopt(ctx, names, lambda: self.api.create_volume(body))
        # Reported as creating until the attach that finish_create makes is done.
        pending = droplet is not None and droplet not in made[0].attributes["droplet_ids"]
        return [attrs.evolve(o, status="creating") for o in made] if pending else made

    async def finish_create(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        droplet = self.droplet(ctx)
        if droplet is None:
            return state
        placed = [await self.place(o, droplet) for o in state.objects]
        return ResourceState(self.type, state.name, tuple(placed))

    async def place(self, volume: CloudObject, droplet: str | None) -> CloudObject:
        """Attach ``volume`` to ``droplet`` and nothing else (``None``: to nothing)."""
        have = list(volume.attributes.get("droplet_ids") or [])
        for other in have:
            if other != droplet:
                await self.act(volume, {"type": "detach", "droplet_id": int(other)})
        if droplet is not None and droplet not in have:
            await self.act(volume, {"type": "attach", "droplet_id": int(droplet)})
        placed = {**volume.attributes, "droplet_ids": [] if droplet is None else [droplet]}
        return attrs.evolve(volume, status="active", attributes=placed)

    async def act(self, volume: CloudObject, body: JSON) -> JSON:
        """One action, waited for. A request that ends in doubt is not sent again before
        looking whether it took (done already, or its action still running)."""
        vid, body = volume.id, {**body, "region": volume.attributes.get("region")}
        what = f"{body['type']} of volume {volume.name}"

        async def post() -> JSON:
            return await self.api.volume_action(vid, body)

        async def find() -> JSON | None:
            now = await get_or_none(self.api.get_volume(vid))
            if now is not None and applied(body, now):
                return {"status": "completed"}
            kinds = (body["type"], f"{body['type']}_volume")
            running = [
                a
                for a in await self.api.list_volume_actions(vid)
                if a.get("status") == "in-progress" and a.get("type") in kinds
            ]
            return running[-1] if running else None

        return await self.wait_action(await self.attempts.run(post, find, what), what=what)

    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        # Volume lists have no tag filter; one region (the usual case) keeps the list short.
        regions = {o.attributes.get("region") for s in states for o in s.objects}
        region = regions.pop() if len(regions) == 1 else None
        del owner
        return {str(v["id"]): to_object(v) for v in await self.api.list_volumes(region=region)}

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        # The volume list has no owner filter anyway: one list for every owner's states.
        owner = next(iter(wanted))
        return await self.poll(owner, [s for states in wanted.values() for s in states])

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        found = [v for v in [await self.lookup(o) for o in state.objects] if v is not None]
        del owner
        return ResourceState(self.type, state.name, tuple(map(to_object, found))) if found else None

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        s: VolumeSpec = ctx.resource.specifications
        volume = await self.current(state)
        droplet = self.droplet(ctx)
        outside = any(imported(ctx.owner, state, o) for o in state.objects)
        why = refusals(ctx.spec, s, volume, outside=outside)
        if why:  # before any change, so nothing is half-applied
            raise ProviderOperationError(
                f"volume {volume['name']} cannot {'; '.join(why)} in place: that needs a "
                "replacement (a new volume; its data is not copied)"
            )
        obj = to_object(volume)
        if s.size_gigabytes > int(volume["size_gigabytes"]):
            await self.act(obj, {"type": "resize", "size_gigabytes": s.size_gigabytes})
        await self.place(obj, droplet)
        ref = {"resource_id": str(volume["id"]), "resource_type": "volume"}
        if outside:  # an imported volume gets the spec's tags, never atlas's ownership ones
            await add_tags(self.api, ref, volume.get("tags") or [], self.spec_tags(ctx))
        else:
            await retag(self.api, ref, volume.get("tags") or [], self.tags(ctx))
        return ResourceState(self.type, ctx.name, (to_object(await self.current(state)),))

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        del owner
        for obj in state.objects:
            volume = await self.lookup(obj)
            if volume is not None:  # DigitalOcean refuses to delete an attached volume
                await self.place(to_object(volume), None)
            await self.api.delete_volume(obj.id)
