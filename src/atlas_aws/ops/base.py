"""What every EC2 kind handler shares: clients per region, tags, listings by mark, deletes.

The rules that keep creates and deletes safe (adoption, batches, polling rounds, the
visibility grace, waiting until gone) are the core's (:mod:`atlas.providers.handlers`); what
is here is how EC2 says things. Every object atlas records carries its ``region`` among its
attributes, so that the calls that get no spec (poll, read, delete) know where to go.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from atlas.exceptions import AtlasError, ConflictError, NotFoundError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import KindHandler, StepContext, Timing
from atlas_aws.client import JSON, Ec2
from atlas_aws.naming import (
    OWNER_TAG,
    RESOURCE_TAG,
    object_name,
    ownership_tags,
    resource_mark,
    resource_of,
    tag_dict,
)

__all__ = [
    "Ec2Handler",
    "Regions",
    "dep_id",
    "dep_ids",
    "imported",
    "logger",
    "region_of",
    "spec_tag_drift",
    "tag_list",
]

logger = logging.getLogger("atlas_aws")


class Regions:
    """One EC2 client per region, opened on first use, all on one credential; and, for the
    other services a kind needs (``"rds"``, ``"elbv2"``), one client per service and region."""

    def __init__(
        self,
        opener: Callable[[str], Awaitable[Ec2]],
        known: Sequence[str],
        services: Mapping[str, Callable[[str], Awaitable[Ec2]]] | None = None,
    ) -> None:
        self._opener = opener
        self._clients: dict[str, Ec2] = {}
        self._services = dict(services or {})
        self._others: dict[tuple[str, str], Ec2] = {}
        self._lock = asyncio.Lock()
        #: The regions :meth:`Ec2Handler.discover` looks in.
        self.known = tuple(known)

    async def of(self, service: str, region: str) -> Ec2:
        """The client of ``service`` in ``region``."""
        if not region:
            raise ProviderOperationError(f"no region to talk to {service.upper()} in")
        if service not in self._services:
            raise ProviderOperationError(f"atlas opens no {service} client")
        async with self._lock:
            if (service, region) not in self._others:
                self._others[(service, region)] = await self._services[service](region)
            return self._others[(service, region)]

    async def get(self, region: str) -> Ec2:
        if not region:
            raise ProviderOperationError("no region to talk to EC2 in")
        async with self._lock:
            if region not in self._clients:
                self._clients[region] = await self._opener(region)
            return self._clients[region]

    def calls(self) -> int:
        return sum(c.calls for c in (*self._clients.values(), *self._others.values()))

    async def aclose(self) -> None:
        for client in (*self._clients.values(), *self._others.values()):
            await client.aclose()
        self._clients.clear()
        self._others.clear()


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def region_of(state: ResourceState) -> str:
    for obj in state.objects:
        region = obj.attributes.get("region")
        if region:
            return str(region)
    raise ProviderOperationError(f"{state.type} {state.name!r} has no recorded region")


def spec_tag_drift(spec: InfrastructureSpec, obj: CloudObject) -> list[str]:
    """The spec's tags the object lacks or carries with another value."""
    have = obj.attributes.get("tags") or {}
    out = []
    for key, want in sorted(spec.tags.items()):
        if key not in have:
            out.append(f"{obj.name} lacks the tag {key}={want}")
        elif have[key] != want:
            out.append(f"{obj.name} has the tag {key}={have[key]}, the spec says {want}")
    return out


def imported(owner: Owner, state: ResourceState, obj: CloudObject) -> bool:
    """Whether ``obj`` of ``state`` was adopted by an import rather than made by atlas: it
    does not carry the resource's mark. Such an object is handled by its id only, keeps its
    own name and tags, and is never given atlas's."""
    tags = obj.attributes.get("tags") or {}
    return tags.get(RESOURCE_TAG) != resource_mark(owner.uid, state.name)


def dep_ids(deps: Mapping[str, ResourceState], names: Iterable[str], what: str) -> list[str]:
    """The provider ids of every object of the referenced resources."""
    ids: list[str] = []
    for name in names:
        state = deps.get(name)
        if state is None or not state.objects:
            raise AtlasError(f"{what} refers to {name!r}, which has not been created")
        ids.extend(state.ids)
    return ids


def dep_id(deps: Mapping[str, ResourceState], name: str | None, what: str) -> str | None:
    return None if name is None else dep_ids(deps, [name], what)[0]


class Ec2Handler(KindHandler):
    """One EC2 kind: how it is listed, rendered, tagged and deleted."""

    describe: str  #: ``DescribeVpcs``
    listed_as: str  #: ``Vpcs``
    resource_type: str  #: the ``ResourceType`` of its ``TagSpecifications``
    delete_call: str  #: ``DeleteVpc``
    delete_param: str  #: ``VpcId``
    id_filter: str  #: ``vpc-id``, the ``Describe*`` filter by id
    #: EC2 states mapped onto atlas's.
    statuses: Mapping[str, ResourceStatus] = {"pending": "creating", "available": "active"}

    def __init__(self, regions: Regions, timing: Timing) -> None:
        super().__init__(timing)
        self.regions = regions
        #: The region of each resource a create was asked for, so that the core's looks by
        #: mark (``find`` without a region) ask one region, not all of them.
        self._where: dict[tuple[Owner, str], str] = {}

    # -- rendering --------------------------------------------------------------------------

    @abc.abstractmethod
    def object_id(self, d: JSON) -> str: ...

    @abc.abstractmethod
    def details(self, d: JSON) -> dict[str, Any]:
        """The kind's own attributes of one object as EC2 renders it."""

    def state_of(self, d: JSON) -> str:
        return str(d.get("State") or "available")

    def obj(self, d: JSON, region: str) -> CloudObject:
        tags = tag_dict(d.get("Tags"))
        raw = self.state_of(d)
        status = self.statuses.get(raw, "error")
        attributes = {"region": region, "state": raw, "tags": tags, **self.details(d)}
        if status == "error":
            attributes["error"] = f"EC2 state {raw}"
        return CloudObject(self.object_id(d), self.display_name(d, tags), status, attributes)

    def render(self, d: JSON, region: str) -> CloudObject:
        """One object as a listing shows it (what an import records)."""
        return self.obj(d, region)

    def display_name(self, d: JSON, tags: Mapping[str, str]) -> str:
        del d
        return tags.get("Name", "")

    def live(self, d: JSON) -> bool:
        """Whether the object still exists (a terminated instance is listed for an hour)."""
        del d
        return True

    # -- naming and tags --------------------------------------------------------------------

    def object_names(self, ctx: StepContext) -> list[str]:
        self.remember(ctx)
        return [object_name(ctx.owner.infrastructure, ctx.name)]

    def remember(self, ctx: StepContext) -> None:
        """Note where ``ctx``'s resource lives (every create starts by asking its names)."""
        self._where[(ctx.owner, ctx.name)] = ctx.spec.region

    def tags(self, ctx: StepContext, **extra: str) -> dict[str, str]:
        own = ownership_tags(ctx.owner.uid, ctx.owner.infrastructure, ctx.name)
        return {**dict(sorted(ctx.spec.tags.items())), **own, **extra}

    def tag_specifications(self, ctx: StepContext, **extra: str) -> list[JSON]:
        return [{"ResourceType": self.resource_type, "Tags": tag_list(self.tags(ctx, **extra))}]

    # -- listing ----------------------------------------------------------------------------

    async def listing(self, region: str, filters: Sequence[JSON]) -> list[CloudObject]:
        ec2 = await self.regions.get(region)
        found = await ec2.pages(self.describe, self.listed_as, Filters=list(filters))
        return [self.obj(d, region) for d in found if self.live(d)]

    @staticmethod
    def owned_by(owner: Owner) -> list[JSON]:
        return [{"Name": f"tag:{OWNER_TAG}", "Values": [owner.uid]}]

    @staticmethod
    def marked(owner: Owner, resource: str) -> list[JSON]:
        return [{"Name": f"tag:{RESOURCE_TAG}", "Values": [resource_mark(owner.uid, resource)]}]

    def order(self, objects: list[CloudObject]) -> list[CloudObject]:
        """The oldest first (the core adopts the first when several carry one name)."""
        return objects

    async def find(
        self, owner: Owner, resource: str, region: str | None = None
    ) -> list[CloudObject]:
        region = region or self._where.get((owner, resource))
        regions = [region] if region else list(self.regions.known)
        found: list[CloudObject] = []
        for where in regions:
            found.extend(await self.listing(where, self.marked(owner, resource)))
        return self.order(found)

    async def find_in(self, ctx: StepContext) -> list[CloudObject]:
        return await self.find(ctx.owner, ctx.name, ctx.spec.region)

    async def by_id(self, region: str, objects: Sequence[CloudObject]) -> list[CloudObject]:
        """``objects`` as they are now, by id (one list; those gone are left out)."""
        if not objects:
            return []
        ids = [o.id for o in objects]
        return await self.listing(region, [{"Name": self.id_filter, "Values": ids}])

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """What carries the resource's marks, and its imported objects by id."""
        region = region_of(state)
        found = await self.find(owner, state.name, region)
        seen = {o.id for o in found}
        outside = [o for o in state.objects if o.id not in seen and imported(owner, state, o)]
        found += await self.by_id(region, outside)
        return ResourceState(self.type, state.name, tuple(found)) if found else None

    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        listed: dict[str, CloudObject] = {}
        for region in sorted({region_of(s) for s in states}):
            listed.update({o.id: o for o in await self.listing(region, self.owned_by(owner))})
        return await self._with_imported({owner: states}, listed)

    async def _with_imported(
        self, wanted: Mapping[Owner, Sequence[ResourceState]], listed: dict[str, CloudObject]
    ) -> dict[str, CloudObject]:
        """``listed`` plus the imported objects of ``wanted`` it lacks (they carry no owner
        tag, so no list by tag shows them), by id, one list per region."""
        outside: dict[str, list[CloudObject]] = {}
        for owner, states in wanted.items():
            for s in states:
                for o in s.objects:
                    if o.id not in listed and imported(owner, s, o):
                        outside.setdefault(region_of(s), []).append(o)
        for region, objects in sorted(outside.items()):
            listed.update({o.id: o for o in await self.by_id(region, objects)})
        return listed

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        """Every owner's objects of the kind in one list per region (by the owner tag's key)."""
        regions = sorted({region_of(s) for states in wanted.values() for s in states})
        listed: dict[str, CloudObject] = {}
        anyone = [{"Name": "tag-key", "Values": [OWNER_TAG]}]
        for region in regions:
            listed.update({o.id: o for o in await self.listing(region, anyone)})
        return await self._with_imported(wanted, listed)

    async def discover(self, owner: Owner) -> list[ResourceState]:
        lists = await asyncio.gather(
            *(self.listing(r, self.owned_by(owner)) for r in self.regions.known)
        )
        groups: dict[str, list[CloudObject]] = {}
        for obj in (o for found in lists for o in found):
            resource = resource_of(owner.uid, obj.attributes.get("tags") or {})
            if resource is not None:
                groups.setdefault(resource, []).append(obj)
        return [
            ResourceState(self.type, name, tuple(self.order(objects)))
            for name, objects in sorted(groups.items())
        ]

    # -- changing ---------------------------------------------------------------------------

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        del resource
        return [d for obj in state.objects for d in spec_tag_drift(spec, obj)]

    async def retag(self, ctx: StepContext, state: ResourceState) -> None:
        """Give the objects the spec's tags (one call for all of them); tags a spec no longer
        names stay, since atlas cannot tell them from tags someone else put there."""
        want = dict(ctx.spec.tags)
        stale = [o.id for o in state.objects if spec_tag_drift(ctx.spec, o)]
        if not stale or not want:
            return
        ec2 = await self.regions.get(region_of(state))
        await ec2.call("CreateTags", Resources=stale, Tags=tag_list(want))

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Delete each object; one already gone is not an error, and one EC2 still refuses
        to delete (``DependencyViolation``: its members are on their way out) is left for
        the next round of the wait until gone."""
        del owner
        ec2 = await self.regions.get(region_of(state))
        for obj in state.objects:
            if await self.in_use(ec2, obj):
                logger.info("%s %s is still in use; deleting it later", self.noun, obj.id)
                continue
            try:
                await ec2.call(self.delete_call, **{self.delete_param: obj.id})
            except NotFoundError:
                continue
            except ConflictError as exc:
                if exc.code != "DependencyViolation":
                    raise
                logger.info("%s %s still has dependents; deleting it later", self.noun, obj.id)
        return None

    async def in_use(self, ec2: Ec2, obj: CloudObject) -> bool:
        """Whether EC2 would refuse the delete now because something still uses ``obj``
        (checked by atlas where the emulator would let it through). By default, no."""
        del ec2, obj
        return False

    async def remaining(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        return await self.read(owner, state)

    async def adopt_duplicate(
        self,
        ctx: StepContext,
        names: Sequence[str],
        post: Callable[[], Awaitable[list[CloudObject]]],
    ) -> list[CloudObject]:
        """``post``; when EC2 answers that the name is taken, what holds it is adopted if it
        carries this resource's marks (an earlier attempt whose answer was lost)."""
        try:
            return await post()
        except ConflictError as exc:
            if not exc.code.endswith(".Duplicate"):
                raise
            found = [o for o in await self.find_in(ctx) if o.name in names]
            if not found:
                raise
            return found[:1]
