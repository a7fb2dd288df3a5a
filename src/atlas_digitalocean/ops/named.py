"""What the kinds found by their name share: load balancers, firewalls and VPCs.

They cannot carry tags at DigitalOcean, so atlas finds them by their deterministic name
``<infrastructure>-<resource>-<uid>``: that is how an ambiguous create is adopted, how
``discover`` finds them, and how ``delete`` catches a copy nobody recorded.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Mapping, Sequence

from atlas.exceptions import ConflictError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas_digitalocean.api import JSON
from atlas_digitalocean.naming import resource_named
from atlas_digitalocean.ops.base import DigitalOceanHandler, get_or_none

__all__ = ["NamedHandler", "int_ids"]


def int_ids(ids: Iterable[str]) -> list[int]:
    """Droplet ids as DigitalOcean's bodies want them (atlas records every id as a string)."""
    return [int(i) for i in ids]


class NamedHandler(DigitalOceanHandler):
    """A kind with one object per resource, named ``<infrastructure>-<resource>-<uid>``."""

    @abc.abstractmethod
    async def list_all(self) -> list[JSON]:
        """Every object of the kind in the account (these lists have no filters)."""

    @abc.abstractmethod
    async def get(self, object_id: str) -> JSON: ...

    @abc.abstractmethod
    async def remove(self, object_id: str) -> None:
        """Ask DigitalOcean to delete one object (the core verifies it went)."""

    async def find(self, owner: Owner, resource: str) -> list[CloudObject]:
        """The objects carrying ``resource``'s name, oldest first (normally none or one)."""
        name = self.name(owner, resource)
        found = [d for d in await self.list_all() if d.get("name") == name]
        return [self.obj(d) for d in sorted(found, key=lambda d: str(d.get("created_at") or ""))]

    async def ensure_tags(self, tags: Iterable[str]) -> None:
        """Create the tags a body names: DigitalOcean refuses tags that do not exist yet in
        firewalls and load balancers (unlike droplet creates, which make them)."""
        for tag in dict.fromkeys(tags):
            with contextlib.suppress(ConflictError):  # it exists, which is all we need
                await self.api.create_tag(tag)

    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        del owner, states  # these kinds carry no owner tag to filter on: one list of them all
        return {str(d["id"]): self.obj(d) for d in await self.list_all()}

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        del wanted  # the one list of them all shows every owner's
        return {str(d["id"]): self.obj(d) for d in await self.list_all()}

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """By id (one call); by name when the id answers 404, since a fresh object may 404
        for a moment and one re-created outside atlas still carries the name."""
        objects = await self._by_id(state)
        if not objects:
            objects = await self.find(owner, state.name)
        return ResourceState(self.type, state.name, tuple(objects)) if objects else None

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState:
        """Delete the recorded objects and any other carrying the name: what the wait until
        gone then looks for."""
        found = {o.id: o for o in [*state.objects, *await self.find(owner, state.name)]}
        for object_id in found:
            await self.remove(object_id)
        return ResourceState(self.type, state.name, tuple(found.values()))

    async def remaining(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """By id alone: the delete has just looked for the name."""
        del owner
        objects = await self._by_id(state)
        return ResourceState(self.type, state.name, tuple(objects)) if objects else None

    async def _by_id(self, state: ResourceState) -> list[CloudObject]:
        found = [await get_or_none(self.get(o.id)) for o in state.objects]
        return [self.obj(d) for d in found if d is not None]

    async def discover(self, owner: Owner) -> list[ResourceState]:
        groups: dict[str, list[CloudObject]] = {}
        for d in await self.list_all():
            resource = resource_named(owner.infrastructure, owner.uid, str(d.get("name") or ""))
            if resource is not None:
                groups.setdefault(resource, []).append(self.obj(d))
        return [ResourceState(self.type, n, tuple(objs)) for n, objs in sorted(groups.items())]

    def replacement(self, resource: str, what: str, have: object, want: object) -> None:
        """Refuse a change DigitalOcean cannot make in place."""
        if want is not None and have != want:
            raise ProviderOperationError(
                f"{self.noun} {resource!r}: {what} cannot change in place ({have} -> {want}); "
                f"it needs a replacement (delete it, then create it again)"
            )
