"""Managed databases: adopted creates, one tagged list per polling round, resize, verified
deletes.

A cluster's JSON carries its admin password and connection URIs. Attributes are built from
an allowlist, never copied, so that no secret reaches the state store, events or logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import BadRequestError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_digitalocean.api import JSON
from atlas_digitalocean.naming import resource_tag
from atlas_digitalocean.ops.base import TaggedHandler, dep_id, get_confirmed, get_or_none
from atlas_digitalocean.resources.database import DatabaseSpec

__all__ = ["DatabaseHandler"]


def to_object(d: JSON, status: ResourceStatus) -> CloudObject:
    public = d.get("connection") or {}
    private = d.get("private_connection") or {}
    attributes: dict[str, Any] = {
        "status": d.get("status"),
        "engine": d.get("engine"),
        "version": d.get("version"),
        "size": d.get("size"),
        "num_nodes": d.get("num_nodes"),
        "region": d.get("region"),
        "storage_size_mib": d.get("storage_size_mib"),
        "private_network_uuid": d.get("private_network_uuid"),
        "tags": list(d.get("tags") or []),
        # From the connection objects, only what locates the cluster; their password and
        # uri stay out.
        "host": public.get("host"),
        "port": public.get("port"),
        "private_host": private.get("host"),
        "database": public.get("database") or None,
        "user": public.get("user"),
    }
    return CloudObject(str(d["id"]), str(d["name"]), status, attributes)


def refusals(spec: InfrastructureSpec, s: DatabaseSpec, d: JSON, vpc: str | None) -> list[str]:
    """What the spec asks that cannot be done to an existing cluster (``None``: no wish)."""
    out = []
    if s.engine != d.get("engine"):
        out.append(f"change engine from {d.get('engine')} to {s.engine}")
    if s.version is not None and str(s.version) != str(d.get("version")):
        out.append(f"change version from {d.get('version')} to {s.version}")
    if vpc is not None and vpc != d.get("private_network_uuid"):
        out.append("move to another VPC")
    if spec.region != d.get("region"):
        out.append(f"move from {d.get('region')} to {spec.region}")
    return out


def resize_body(s: DatabaseSpec, d: JSON) -> JSON | None:
    """The resize request that brings ``d`` to the spec, or ``None`` when it is there."""
    body: JSON = {"size": s.size, "num_nodes": s.num_nodes}
    if s.storage_size_mib is not None:
        body["storage_size_mib"] = s.storage_size_mib
    return None if all(d.get(k) == v for k, v in body.items()) else body


class DatabaseHandler(TaggedHandler):
    type = "database"
    #: The database list is served whole (no pages): one call, however many clusters.
    page_size = None
    statuses: Mapping[str, ResourceStatus] = {
        "creating": "creating",
        "online": "active",
        "resizing": "updating",
        "migrating": "updating",
        "forking": "creating",
    }

    def obj(self, d: JSON) -> CloudObject:
        return to_object(d, self.status(d.get("status")))

    async def tagged(self, tag: str) -> list[JSON]:
        return await self.api.list_databases(tag=tag)

    async def get(self, object_id: str) -> JSON:
        return await self.api.get_database(object_id)

    async def listing(self, region: str | None) -> list[JSON]:
        return [d for d in await self.api.list_databases() if region in (None, d.get("region"))]

    @staticmethod
    def region(d: JSON) -> str | None:
        region = d.get("region")
        return str(region) if region is not None else None

    @staticmethod
    def found(objects: Sequence[JSON], names: Mapping[str, str]) -> JSON:
        """A cluster's specifications as DigitalOcean shows them; ``vpc`` only when its
        private network has a name in ``names`` (else it is the region's default)."""
        d = objects[0]
        specs: JSON = {
            "engine": d.get("engine"),
            "size": d.get("size"),
            "version": str(d["version"]) if d.get("version") is not None else None,
            "num_nodes": d.get("num_nodes"),
            # What the cluster has beyond its plan's own disk; none is no wish.
            "storage_size_mib": d.get("storage_size_mib") or None,
        }
        vpc = names.get(str(d.get("private_network_uuid")))
        if vpc is not None:
            specs["vpc"] = vpc
        return specs

    def body(self, ctx: StepContext, name: str) -> JSON:
        s: DatabaseSpec = ctx.resource.specifications
        body: JSON = {
            "name": name,
            "engine": s.engine,
            "size": s.size,
            "num_nodes": s.num_nodes,
            "region": ctx.spec.region,
            "tags": self.tags(ctx),
        }
        if s.version is not None:
            body["version"] = s.version
        if s.vpc is not None:
            body["private_network_uuid"] = dep_id(ctx.deps, s.vpc, f"database {ctx.name!r}")
        if s.storage_size_mib is not None:
            body["storage_size_mib"] = s.storage_size_mib
        return body

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: DatabaseSpec = resource.specifications
        found = []
        for obj in state.objects:
            for key, want in (("size", s.size), ("num_nodes", s.num_nodes)):
                have = obj.attributes.get(key)
                if have != want:
                    found.append(f"{obj.name} has {key} {have}, the spec says {want}")
        del spec
        return found

    async def lookup(self, owner: Owner, resource: str, obj: CloudObject) -> JSON | None:
        """The cluster now, or ``None``. DigitalOcean may 404 a fresh object by id, so a 404
        is confirmed by a list before it counts."""
        tag = resource_tag(owner.uid, resource)
        return await get_confirmed(
            self.api.get_database(obj.id), lambda: self.api.list_databases(tag=tag), obj.id
        )

    async def current(self, owner: Owner, state: ResourceState) -> JSON:
        found = await self.lookup(owner, state.name, state.objects[0]) if state.objects else None
        if found is None:
            raise ProviderOperationError(
                f"database {state.name!r} no longer exists; it has to be created again"
            )
        return found

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        body = self.body(ctx, names[0])  # a missing VPC fails before any POST
        return await self.post_or_adopt(ctx, names, lambda: self.api.create_database(body))

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        found = [await self.lookup(owner, state.name, o) for o in state.objects]
        objects = tuple(self.obj(d) for d in found if d is not None)
        return ResourceState(self.type, state.name, objects) if objects else None

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Retag and resize in place; the cluster is then ``updating`` (``resizing``) and the
        caller waits for it."""
        s: DatabaseSpec = ctx.resource.specifications
        d = await self.current(ctx.owner, state)
        vpc = dep_id(ctx.deps, s.vpc, f"database {ctx.name!r}")
        why = refusals(ctx.spec, s, d, vpc)
        if why:  # before any change, so nothing is half-applied
            raise ProviderOperationError(
                f"database {d['name']} cannot {'; '.join(why)} in place: that needs a "
                "replacement (a new cluster; its data is not copied)"
            )
        # A cluster keeps the tags it was created with: DigitalOcean's published schema for
        # POST/DELETE /v2/tags/{tag}/resources has no "database" resource type (its prose
        # says otherwise), and atlas sends nothing that breaks the published schema.
        layout = resize_body(s, d)
        if layout is not None:
            await self.resize(d, layout)
        return ResourceState(self.type, ctx.name, (self.obj(await self.current(ctx.owner, state)),))

    async def resize(self, d: JSON, body: JSON) -> None:
        try:
            await self.api.resize_database(str(d["id"]), body)
        except BadRequestError:
            # A PUT is sent again after a 5xx; if the first one took, the cluster is resizing
            # and refuses the second. That is success.
            now = await get_or_none(self.api.get_database(str(d["id"])))
            if now is None or now.get("status") != "resizing":
                raise

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        del owner
        for obj in state.objects:
            await self.api.delete_database(obj.id)
