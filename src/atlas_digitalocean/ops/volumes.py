"""Volumes: adopted creates, attach, detach and growth by action, verified deletes.

A volume has no status of its own: once it exists (and is attached as asked) it is
``active``. Its name ``<infrastructure>-<resource>-<uid>`` is unique in its region, so a create
whose answer was lost is found again by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import ProviderOperationError
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.model.state import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.providers.contract import OnCreated
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import (
    KindOps,
    dep_id,
    get_confirmed,
    get_or_none,
    grouped,
    post_or_adopt,
    refreshed,
    retag,
    until_gone,
)
from atlas_digitalocean.resources.volume import VolumeSpec

__all__ = ["VolumeOps"]

# -- volumes ----------------------------------------------------------------------------------


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


def refusals(spec: InfrastructureSpec, s: VolumeSpec, v: JSON) -> list[str]:
    """What the spec asks that DigitalOcean cannot do to an existing volume. ``None`` fields
    express no wish (a filesystem type only matters when the volume is made)."""
    out = []
    if s.size_gigabytes < int(v["size_gigabytes"]):
        out.append(
            f"shrink from {v['size_gigabytes']} to {s.size_gigabytes} GiB (volumes only grow)"
        )
    if region_of(v) != spec.region:
        out.append(f"move from {region_of(v)} to {spec.region}")
    if s.filesystem_type is not None and s.filesystem_type != (v.get("filesystem_type") or None):
        out.append(f"be reformatted as {s.filesystem_type}")
    if s.description is not None and s.description != (v.get("description") or ""):
        out.append("change its description (DigitalOcean has no call for that)")
    return out


class VolumeOps(KindOps):
    type = "volume"

    def body(self, owner: Owner, spec: InfrastructureSpec, resource: ResourceSpec) -> JSON:
        s: VolumeSpec = resource.specifications
        body: JSON = {
            "name": self.name(owner, resource.name),
            "size_gigabytes": s.size_gigabytes,
            "region": spec.region,
            "tags": self.tags(owner, spec, resource.name),
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

    async def find(self, owner: Owner, resource: str, region: str | None) -> JSON | None:
        """The resource's volume, by the name no other resource or owner has (one call)."""
        name = self.name(owner, resource)
        listed = await self.api.list_volumes(name=name, region=region)
        return next((v for v in listed if v.get("name") == name), None)

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

    async def create(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        *,
        on_created: OnCreated | None,
        recover: bool,
    ) -> ResourceState:
        s: VolumeSpec = resource.specifications
        # Resolved first: a droplet that is not there must not leave a stray volume behind.
        droplet = dep_id(deps, s.attach_to, f"volume {resource.name!r}")
        volume = await self.find(owner, resource.name, spec.region) if recover else None
        if volume is None:
            volume = await self._post(owner, spec, resource)
        if on_created is not None:
            pending = droplet is not None and droplet not in droplets_of(volume)
            await on_created(
                resource.name, [to_object(volume, "creating" if pending else "active")]
            )
        if droplet is not None:
            volume = await self.place(volume, droplet)
        return ResourceState(self.type, resource.name, (to_object(volume),))

    async def _post(self, owner: Owner, spec: InfrastructureSpec, resource: ResourceSpec) -> JSON:
        body = self.body(owner, spec, resource)

        async def find() -> JSON | None:
            return await self.find(owner, resource.name, spec.region)

        async def post() -> JSON:
            return await post_or_adopt(lambda: self.api.create_volume(body), find)

        return await self.attempts.run(post, find, f"volume {body['name']}")

    async def place(self, volume: JSON, droplet: str | None) -> JSON:
        """Attach ``volume`` to ``droplet`` and nothing else (``None``: to nothing)."""
        have = droplets_of(volume)
        for other in have:
            if other != droplet:
                await self.act(volume, {"type": "detach", "droplet_id": int(other)})
        if droplet is not None and droplet not in have:
            await self.act(volume, {"type": "attach", "droplet_id": int(droplet)})
        return {**volume, "droplet_ids": [] if droplet is None else [int(droplet)]}

    async def act(self, volume: JSON, body: JSON) -> JSON:
        """One action, waited for. A request that ends in doubt is not sent again before
        looking whether it took (done already, or its action still running)."""
        vid, body = str(volume["id"]), {**body, "region": region_of(volume)}
        what = f"{body['type']} of volume {volume['name']}"

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

    async def poll(self, owner: Owner, states: Sequence[ResourceState]) -> list[ResourceState]:
        # Volume lists have no tag filter; one region (the usual case) keeps the list short.
        regions = {o.attributes.get("region") for s in states for o in s.objects}
        region = regions.pop() if len(regions) == 1 else None
        listed = {str(v["id"]): v for v in await self.api.list_volumes(region=region)}
        del owner
        return refreshed(self, states, listed, to_object)

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        found = [v for v in [await self.lookup(o) for o in state.objects] if v is not None]
        del owner
        return ResourceState(self.type, state.name, tuple(map(to_object, found))) if found else None

    async def update(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        state: ResourceState,
        deps: Mapping[str, ResourceState],
    ) -> ResourceState:
        s: VolumeSpec = resource.specifications
        volume = await self.current(state)
        droplet = dep_id(deps, s.attach_to, f"volume {resource.name!r}")
        why = refusals(spec, s, volume)
        if why:  # before any change, so nothing is half-applied
            raise ProviderOperationError(
                f"volume {volume['name']} cannot {'; '.join(why)} in place: that needs a "
                "replacement (a new volume; its data is not copied)"
            )
        if s.size_gigabytes > int(volume["size_gigabytes"]):
            await self.act(volume, {"type": "resize", "size_gigabytes": s.size_gigabytes})
        await self.place(volume, droplet)
        ref = {"resource_id": str(volume["id"]), "resource_type": "volume"}
        await retag(self.api, ref, volume.get("tags") or [], self.tags(owner, spec, resource.name))
        return ResourceState(self.type, resource.name, (to_object(await self.current(state)),))

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        for obj in state.objects:
            await self._delete(obj)
        del owner

    async def _delete(self, obj: CloudObject) -> None:
        volume = await self.lookup(obj)
        if volume is not None:
            await self.place(volume, None)  # DigitalOcean refuses to delete an attached volume

        async def issue() -> None:
            await self.api.delete_volume(obj.id)

        async def look() -> JSON | None:
            return await self.lookup(obj)

        await issue()
        await until_gone(self.settings, f"volume {obj.name}", look, issue)

    async def discover(self, owner: Owner) -> list[ResourceState]:
        return grouped(self, owner, await self.api.list_volumes(), to_object)
