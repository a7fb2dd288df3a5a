"""Droplets: batched creates, tag-listed waits, resize, rename, verified deletes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import AtlasError
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.model.state import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.providers.contract import OnCreated
from atlas_digitalocean.api import JSON
from atlas_digitalocean.naming import owner_tag, resource_tag, spec_tag
from atlas_digitalocean.ops.base import KindOps, dep_id, grouped, refreshed, retag
from atlas_digitalocean.resources.droplet import DropletSpec

__all__ = ["BATCH", "CONCURRENT_CREATES", "DropletOps"]

#: DigitalOcean creates at most ten droplets per call (``names``).
BATCH = 10
#: Create calls of one resource in flight at once: 500 droplets take 50 calls, which one after
#: another would add up their round trips; four at a time stays far below the rate limit.
CONCURRENT_CREATES = 4


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


class DropletOps(KindOps):
    type = "droplet"
    statuses: Mapping[str, ResourceStatus] = {
        "new": "creating",
        "active": "active",
        "off": "updating",
        "archive": "error",
    }

    def obj(self, d: JSON) -> CloudObject:
        return to_object(d, self.status(d.get("status")))

    def names(self, owner: Owner, resource: str, count: int) -> list[str]:
        if count == 1:
            return [self.name(owner, resource)]
        return [self.name(owner, resource, i) for i in range(1, count + 1)]

    def body(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        res: ResourceSpec,
        deps: Mapping[str, ResourceState],
        names: Sequence[str],
    ) -> JSON:
        s: DropletSpec = res.specifications
        body: JSON = {
            "region": spec.region,
            "size": s.size,
            "image": s.image,
            "ssh_keys": list(s.ssh_keys),
            "backups": s.backup_plan is not None,
            "monitoring": s.monitoring,
            "ipv6": s.ipv6,
            "tags": self.tags(owner, spec, res.name),
        }
        body |= {"names": list(names)} if len(names) > 1 else {"name": names[0]}
        if s.backup_plan is not None:
            body["backup_policy"] = {"plan": s.backup_plan}
        if s.vpc is not None:
            body["vpc_uuid"] = dep_id(deps, s.vpc, f"droplet {res.name!r}")
        if s.user_data is not None:
            body["user_data"] = s.user_data
        return body

    async def listed(self, owner: Owner, resource: str) -> dict[str, JSON]:
        """The droplets of one resource, by name (one list call)."""
        found = await self.api.list_droplets(tag=resource_tag(owner.uid, resource))
        return {str(d["name"]): d for d in found}

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
        s: DropletSpec = resource.specifications
        names = self.names(owner, resource.name, s.count)
        made = await self.listed(owner, resource.name) if recover else {}
        if made and on_created is not None:
            await on_created(resource.name, [self.obj(d) for d in made.values()])
        await self._create_missing(
            owner, spec, resource, deps, names=names, made=made, on_created=on_created
        )
        return ResourceState(self.type, resource.name, tuple(self.obj(made[n]) for n in names))

    async def _create_missing(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        *,
        names: Sequence[str],
        made: dict[str, JSON],
        on_created: OnCreated | None,
    ) -> None:
        """POST the names not in ``made`` ten at a time, up to :data:`CONCURRENT_CREATES`
        calls at once, adding what each call made.

        A failed call stops further calls; the calls already in flight finish and what they
        made is reported through ``on_created`` before the first failure is raised, so nothing
        that was created goes unrecorded.
        """
        for _ in range(len(names) + 1):  # each round makes at least one droplet, or raises
            missing = [n for n in names if n not in made]
            if not missing:
                return
            await self._create_round(
                owner, spec, resource, deps, missing=missing, made=made, on_created=on_created
            )
        raise AtlasError(f"droplets of {resource.name!r} could not all be created")

    async def _create_round(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        *,
        missing: Sequence[str],
        made: dict[str, JSON],
        on_created: OnCreated | None,
    ) -> None:
        gate = asyncio.Semaphore(CONCURRENT_CREATES)
        failures: list[Exception] = []

        async def create(batch: list[str]) -> None:
            async with gate:
                if failures:
                    return
                try:
                    created = await self._create_batch(owner, spec, resource, deps, batch)
                    made.update((str(d["name"]), d) for d in created)
                    if on_created is not None:
                        await on_created(resource.name, [self.obj(d) for d in created])
                except Exception as exc:  # raised below, once the others are recorded
                    failures.append(exc)

        batches = [list(missing[i : i + BATCH]) for i in range(0, len(missing), BATCH)]
        await asyncio.gather(*(create(b) for b in batches))
        if failures:
            raise failures[0]

    async def _create_batch(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        batch: list[str],
    ) -> list[JSON]:
        """One create call for up to ten names; in doubt, what it made is looked up."""
        body = self.body(owner, spec, resource, deps, batch)

        async def post() -> list[JSON]:
            return await self.api.create_droplets(body)

        async def find() -> list[JSON] | None:
            listed = await self.listed(owner, resource.name)
            return [listed[n] for n in batch if n in listed] or None

        return await self.attempts.run(post, find, f"droplets {batch[0]}…")

    async def poll(self, owner: Owner, states: Sequence[ResourceState]) -> list[ResourceState]:
        listed = {str(d["id"]): d for d in await self.api.list_droplets(tag=owner_tag(owner.uid))}
        return refreshed(self, states, listed, self.obj)

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        listed = await self.listed(owner, state.name)
        if not listed:
            return None
        objects = sorted((self.obj(d) for d in listed.values()), key=_index_of)
        return ResourceState(self.type, state.name, tuple(objects))

    async def update(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        state: ResourceState,
        deps: Mapping[str, ResourceState],
    ) -> ResourceState:
        s: DropletSpec = resource.specifications
        names = self.names(owner, resource.name, s.count)
        by_name = {o.name: o for o in state.objects}
        await self._rename_strays(owner, resource.name, names, state, by_name)
        made = await self.listed(owner, resource.name)
        extra = [d for n, d in made.items() if n not in names]
        for d in extra:
            await self.api.delete_droplet(str(d["id"]))
        existing = set(made)
        await self._create_missing(
            owner, spec, resource, deps, names=names, made=made, on_created=None
        )
        for name in names:
            if name in existing:  # new ones were created as the spec says
                await self._converge(spec, s, self.obj(made[name]))
        fresh = await self.read(owner, state)
        if fresh is None:
            raise AtlasError(f"droplets of {resource.name!r} vanished during the update")
        await self._wait_gone(owner, resource.name, {str(d["id"]) for d in extra})
        return fresh

    async def _rename_strays(
        self,
        owner: Owner,
        resource: str,
        names: list[str],
        state: ResourceState,
        by_name: dict[str, CloudObject],
    ) -> None:
        """Objects recorded under another name (a count of 1 became 3, say) get the right one."""
        free = [n for n in names if n not in by_name]
        for obj in state.objects:
            if obj.name not in names and free:
                new = free.pop(0)
                action = await self.api.droplet_action(obj.id, {"type": "rename", "name": new})
                await self.wait_action(action, what=f"rename of droplet {obj.name}")
        del owner, resource

    async def _converge(self, spec: InfrastructureSpec, s: DropletSpec, obj: CloudObject) -> None:
        """Bring one droplet to the spec: size, backups, IPv6 and tags."""
        attrs_ = obj.attributes
        if attrs_.get("size") != s.size:
            await self.resize(obj, s.size)
        has_backups = "backups" in attrs_.get("features", [])
        if (s.backup_plan is not None) != has_backups:
            kind = "enable_backups" if s.backup_plan else "disable_backups"
            await self._act(obj, {"type": kind})
        if s.ipv6 and "ipv6" not in attrs_.get("features", []):
            await self._act(obj, {"type": "enable_ipv6"})
        await self._retag(spec, obj)

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
            if have != want:
                found.append(f"{obj.name} is tagged {sorted(have)}, the spec says {sorted(want)}")
        return found

    async def resize(self, obj: CloudObject, size: str) -> None:
        """Power off, resize (CPU and memory; the disk is kept so it can size down again),
        power on: the order DigitalOcean requires."""
        if obj.attributes.get("status") != "off":
            await self._act(obj, {"type": "power_off"})
        await self._act(obj, {"type": "resize", "size": size, "disk": False})
        await self._act(obj, {"type": "power_on"})

    async def _retag(self, spec: InfrastructureSpec, obj: CloudObject) -> None:
        want = [spec_tag(k, v) for k, v in spec.tags.items()]
        ref = {"resource_id": obj.id, "resource_type": "droplet"}
        await retag(self.api, ref, obj.attributes.get("tags", []), want)

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        """Delete by the resource's tag (one call for any count), then verify until gone."""
        tag = resource_tag(owner.uid, state.name)
        await self.api.delete_droplets_by_tag(tag)
        await self._wait_gone(owner, state.name, None)

    async def _wait_gone(self, owner: Owner, resource: str, ids: set[str] | None) -> None:
        """Until the droplets (all of the resource, or ``ids``) are gone; re-issue deletes
        now and then, since DigitalOcean may drop one."""
        if ids is not None and not ids:
            return
        deadline = self.settings.clock() + self.settings.action_timeout
        rounds = 0
        while True:
            listed = await self.listed(owner, resource)
            left = [d for d in listed.values() if ids is None or str(d["id"]) in ids]
            if not left:
                return
            if self.settings.clock() > deadline:
                raise AtlasError(
                    f"droplets {[d['name'] for d in left]} are still there after "
                    f"{self.settings.action_timeout:g}s"
                )
            rounds += 1
            if rounds % 5 == 0:
                for d in left:
                    await self.api.delete_droplet(str(d["id"]))
            await self.settings.sleep(self.settings.poll_interval)

    async def discover(self, owner: Owner) -> list[ResourceState]:
        found = grouped(
            self, owner, await self.api.list_droplets(tag=owner_tag(owner.uid)), self.obj
        )
        return [
            ResourceState(s.type, s.name, tuple(sorted(s.objects, key=_index_of))) for s in found
        ]


def _index_of(obj: CloudObject) -> tuple[int, str]:
    """Droplets of one resource in their index order (``web-2`` before ``web-10``)."""
    tail = obj.name.rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, obj.name)
