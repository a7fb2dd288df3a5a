"""One :class:`~atlas.providers.KindHandler` per memory cloud kind.

Naming and marks: every object is called ``<infrastructure>-<resource>-<uid>`` (servers add
``-<n>``, counting from 1) and carries the marks ``atlas:owner=<uid>`` and
``atlas:resource=<resource>`` beside the spec's tags. The name is how a create in doubt is
found again (a look-up by name is always current on the memory cloud); the owner mark is how
polls and ``discover`` find everything of one owner in one call (a poll for several owners
at once searches the whole kind instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.contract import StepContext
from atlas.providers.handlers import KindHandler, Timing
from atlas.testing.memory.api import MemoryAPI
from atlas.testing.memory.cloud import BATCH_LIMITS, MemoryObject, NewObject
from atlas.testing.memory.kinds import RESERVED_TAG_PREFIX, DiskSpec, NetworkSpec, ServerSpec

__all__ = ["HANDLERS", "DiskHandler", "MemoryHandler", "NetworkHandler", "ServerHandler"]

OWNER_MARK = f"{RESERVED_TAG_PREFIX}owner"
RESOURCE_MARK = f"{RESERVED_TAG_PREFIX}resource"
#: Who the owner is, in words, so that an inventory can say which infrastructure manages what.
WORKSPACE_MARK = f"{RESERVED_TAG_PREFIX}workspace"
INFRASTRUCTURE_MARK = f"{RESERVED_TAG_PREFIX}infrastructure"


def user_tags(marks: Mapping[str, str]) -> dict[str, str]:
    """The spec's tags among an object's marks (atlas's own left out)."""
    return {k: v for k, v in marks.items() if not k.startswith(RESERVED_TAG_PREFIX)}


def dep_id(ctx: StepContext, name: str | None) -> str | None:
    """The id of the (first) object of the resource ``name`` refers to."""
    if name is None:
        return None
    state = ctx.dep(name)
    if state is None or not state.objects:
        raise ProviderOperationError(f"{ctx.name!r} refers to {name!r}, which has no object yet")
    return state.objects[0].id


class MemoryHandler(KindHandler):
    """What the three kinds share; each adds its attributes, drift and update."""

    def __init__(self, api: MemoryAPI, timing: Timing) -> None:
        super().__init__(timing)
        self.api = api
        self.batch_size = BATCH_LIMITS[self.type]

    # -- naming and marks --------------------------------------------------------------------

    @staticmethod
    def base_name(owner: Owner, resource: str) -> str:
        return f"{owner.infrastructure}-{resource}-{owner.uid}"

    def object_names(self, ctx: StepContext) -> list[str]:
        return [self.base_name(ctx.owner, ctx.name)]

    @staticmethod
    def marks(ctx: StepContext) -> dict[str, str]:
        return {
            **ctx.spec.tags,
            OWNER_MARK: ctx.owner.uid,
            RESOURCE_MARK: ctx.name,
            WORKSPACE_MARK: ctx.owner.workspace,
            INFRASTRUCTURE_MARK: ctx.owner.infrastructure,
        }

    def obj(self, o: MemoryObject) -> CloudObject:
        attributes = {**o.attributes, "tags": user_tags(o.marks)}
        if OWNER_MARK not in o.marks:  # made outside atlas (an import): found by id only
            attributes["unmarked"] = True
        return CloudObject(o.id, o.name, o.status, attributes)

    def attributes(self, ctx: StepContext) -> dict[str, Any]:
        """The cloud attributes of a new object of ``ctx.resource``."""
        raise NotImplementedError

    # -- KindHandler -------------------------------------------------------------------------

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        attributes = {**self.attributes(ctx), "region": ctx.spec.region}
        items = [NewObject(n, self.marks(ctx), attributes) for n in names]
        return [self.obj(o) for o in await self.api.create(self.type, items)]

    async def find(self, owner: Owner, resource: str) -> list[CloudObject]:
        found = await self.api.list(
            self.type,
            marks={OWNER_MARK: owner.uid, RESOURCE_MARK: resource},
            name_prefix=self.base_name(owner, resource),
        )
        return [self.obj(o) for o in sorted(found, key=_by_index)]

    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        # One search, whatever the number of resources; it lags behind fresh creates, which
        # the core's visibility grace allows for. By the owner's mark, unless some object
        # is not atlas's own (an imported one carries no marks): then the whole kind.
        ids = {i for s in states for i in s.ids}
        marks = self._of(owner)
        listed = {o.id: o for o in await self.api.list(self.type, marks=marks)}
        unmarked = any(o.attributes.get("unmarked") for s in states for o in s.objects)
        if unmarked and ids - set(listed):
            listed = {o.id: o for o in await self.api.list(self.type)}
        return {i: self.obj(o) for i, o in listed.items()}

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        # Several infrastructures wait at once: one search of the whole kind (no owner
        # mark) shows all of theirs, imported objects included, in one call.
        del wanted
        return {o.id: self.obj(o) for o in await self.api.list(self.type)}

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """What carries the resource's marks; for an imported resource (none do), its
        objects by id."""
        found = await self.find(owner, state.name)
        if not found:
            got = [await self.api.get(self.type, i) for i in state.ids]
            found = [self.obj(o) for o in got if o is not None]
        return ResourceState(self.type, state.name, tuple(found)) if found else None

    def found_specifications(
        self, objects: Sequence[MemoryObject], names: Mapping[str, str]
    ) -> dict[str, Any]:
        """The specifications ``objects`` (one resource's) have, as far as the cloud tells;
        references by the spec names in ``names`` (provider id to name)."""
        raise NotImplementedError

    async def discover(self, owner: Owner) -> list[ResourceState]:
        groups: dict[str, list[CloudObject]] = {}
        for o in sorted(await self.api.list(self.type, marks=self._of(owner)), key=_by_index):
            groups.setdefault(o.marks[RESOURCE_MARK], []).append(self.obj(o))
        return [ResourceState(self.type, n, tuple(objs)) for n, objs in sorted(groups.items())]

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        found = []
        for obj in state.objects:
            have = obj.attributes.get("tags", {})
            if have != spec.tags:
                found.append(f"{obj.name} is tagged {have}, the spec says {spec.tags}")
            found.extend(self.object_drift(resource.specifications, obj))
        return found

    def object_drift(self, wanted: Any, obj: CloudObject) -> list[str]:
        """How one object differs from the specification ``wanted``, beyond its tags."""
        del wanted, obj
        return []

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        ids = dict.fromkeys([*state.ids, *(o.id for o in await self.find(owner, state.name))])
        for object_id in ids:
            await self.api.delete(self.type, object_id)

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        changed = [await self.converge(ctx, obj) for obj in state.objects]
        return ResourceState(self.type, ctx.name, tuple(changed))

    async def converge(self, ctx: StepContext, obj: CloudObject) -> CloudObject:
        """Change one object to match ``ctx.resource``: its tags, and what the kind adds."""
        changes = self.changes(ctx, obj)
        retag = obj.attributes.get("tags", {}) != ctx.spec.tags
        if not changes and not retag:
            return obj
        marks = self.marks(ctx) if retag else None
        return self.obj(await self.api.update(self.type, obj.id, attributes=changes, marks=marks))

    def changes(self, ctx: StepContext, obj: CloudObject) -> dict[str, Any]:
        """The attributes of ``obj`` to change so it matches ``ctx.resource``. By default none:
        what else could differ cannot change in place (``replace_on`` sees to it)."""
        del ctx, obj
        return {}

    @staticmethod
    def _of(owner: Owner) -> dict[str, str]:
        return {OWNER_MARK: owner.uid}


class NetworkHandler(MemoryHandler):
    type = "network"

    def found_specifications(
        self, objects: Sequence[MemoryObject], names: Mapping[str, str]
    ) -> dict[str, Any]:
        del names  # a network refers to nothing
        return {"ip_range": objects[0].attributes.get("ip_range")}

    def attributes(self, ctx: StepContext) -> dict[str, Any]:
        spec: NetworkSpec = ctx.resource.specifications
        return {"ip_range": spec.ip_range}

    def object_drift(self, wanted: NetworkSpec, obj: CloudObject) -> list[str]:
        have = obj.attributes.get("ip_range")
        if have != wanted.ip_range:
            return [f"{obj.name} has ip_range {have}, the spec says {wanted.ip_range}"]
        return []


class ServerHandler(MemoryHandler):
    type = "server"
    #: Batches of a large count go out two at a time.
    concurrent_creates = 2

    def object_names(self, ctx: StepContext) -> list[str]:
        spec: ServerSpec = ctx.resource.specifications
        base = self.base_name(ctx.owner, ctx.name)
        return [f"{base}-{i}" for i in range(1, spec.count + 1)]

    async def find(self, owner: Owner, resource: str) -> list[CloudObject]:
        # The trailing '-' keeps resource "app" from matching the servers of "app-2".
        found = await self.api.list(
            self.type,
            marks={OWNER_MARK: owner.uid, RESOURCE_MARK: resource},
            name_prefix=self.base_name(owner, resource) + "-",
        )
        return [self.obj(o) for o in sorted(found, key=_by_index)]

    def attributes(self, ctx: StepContext) -> dict[str, Any]:
        spec: ServerSpec = ctx.resource.specifications
        return {"size": spec.size, "image": spec.image, "network_id": dep_id(ctx, spec.network)}

    def found_specifications(
        self, objects: Sequence[MemoryObject], names: Mapping[str, str]
    ) -> dict[str, Any]:
        first = objects[0].attributes
        network = first.get("network_id")
        return {
            "size": first.get("size"),
            "count": len(objects),
            "network": None if network is None else names.get(network, network),
        }

    def changes(self, ctx: StepContext, obj: CloudObject) -> dict[str, Any]:
        spec: ServerSpec = ctx.resource.specifications
        return {"size": spec.size} if obj.attributes.get("size") != spec.size else {}

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        found = super().drift(spec, resource, state)
        count = resource.specifications.count
        if len(state.objects) != count:
            found.append(f"{len(state.objects)} servers exist, the spec says {count}")
        return found

    def object_drift(self, wanted: ServerSpec, obj: CloudObject) -> list[str]:
        have = obj.attributes.get("size")
        return [f"{obj.name} is {have}, the spec says {wanted.size}"] if have != wanted.size else []

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Resize and retag in place; a changed ``count`` deletes the servers past it and
        creates the missing ones (found by name first, so a repeated update adds none)."""
        names = self.object_names(ctx)
        current = {o.name: o for o in await self.find(ctx.owner, ctx.name)}
        if not current and state.objects and not any(o.name in names for o in state.objects):
            # Imported: the servers have names of their own; each is changed in place.
            changed = [await self.converge(ctx, o) for o in state.objects]
            return ResourceState(self.type, ctx.name, tuple(changed))
        # Otherwise what exists is looked up by name: the record may predate a failed update.
        for name, obj in current.items():
            if name not in names:
                await self.api.delete(self.type, obj.id)
        missing = [n for n in names if n not in current]
        for i in range(0, len(missing), self.batch_size):
            for obj in await self.create(ctx, missing[i : i + self.batch_size]):
                current[obj.name] = obj
        changed = [await self.converge(ctx, current[n]) for n in names]
        return ResourceState(self.type, ctx.name, tuple(changed))


class DiskHandler(MemoryHandler):
    type = "disk"

    def attributes(self, ctx: StepContext) -> dict[str, Any]:
        spec: DiskSpec = ctx.resource.specifications
        return {"size_gb": spec.size_gb, "server_id": dep_id(ctx, spec.attach_to)}

    def changes(self, ctx: StepContext, obj: CloudObject) -> dict[str, Any]:
        want = self.attributes(ctx)
        return {k: v for k, v in want.items() if obj.attributes.get(k) != v}

    def found_specifications(
        self, objects: Sequence[MemoryObject], names: Mapping[str, str]
    ) -> dict[str, Any]:
        first = objects[0].attributes
        server = first.get("server_id")
        return {
            "size_gb": first.get("size_gb"),
            "attach_to": None if server is None else names.get(server, server),
        }

    def object_drift(self, wanted: DiskSpec, obj: CloudObject) -> list[str]:
        found = []
        size = obj.attributes.get("size_gb")
        if size != wanted.size_gb:
            found.append(f"{obj.name} has {size} GB, the spec says {wanted.size_gb}")
        attached = obj.attributes.get("server_id") is not None
        if attached != (wanted.attach_to is not None):
            have = "attached" if attached else "detached"
            found.append(f"{obj.name} is {have}, the spec says attach_to {wanted.attach_to}")
        return found


#: Every handler class, one per kind.
HANDLERS: tuple[type[MemoryHandler], ...] = (NetworkHandler, ServerHandler, DiskHandler)


def _index(name: str) -> int:
    """A server's number (``...-3`` is 3); other kinds' single object counts as 0."""
    tail = name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def _by_index(o: MemoryObject) -> tuple[str, int]:
    return o.marks.get(RESOURCE_MARK, ""), _index(o.name)
