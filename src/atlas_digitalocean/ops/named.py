"""What the kinds found by their name share: load balancers, firewalls and VPCs.

They cannot carry tags at DigitalOcean, so atlas finds them by their deterministic name
``<infrastructure>-<resource>-<uid>``: that is how an ambiguous create is adopted, how
``discover`` finds them, and how ``delete`` catches a copy nobody recorded.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Sequence

from atlas.exceptions import ConflictError, ProviderOperationError
from atlas.model.infrastructure import ResourceSpec
from atlas.model.state import CloudObject, Owner, ResourceState
from atlas.providers.contract import OnCreated
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import KindOps, get_or_none

__all__ = ["NamedKindOps", "int_ids"]


def int_ids(ids: Iterable[str]) -> list[int]:
    """Droplet ids as DigitalOcean's bodies want them (atlas records every id as a string)."""
    return [int(i) for i in ids]


class NamedKindOps(KindOps):
    """A kind with one object per resource, named ``<infrastructure>-<resource>-<uid>``."""

    #: What messages call one object ("load balancer").
    noun: str

    @abc.abstractmethod
    def obj(self, d: JSON) -> CloudObject:
        """The atlas view of one object as DigitalOcean renders it."""

    @abc.abstractmethod
    async def list_all(self) -> list[JSON]:
        """Every object of the kind in the account (these lists have no filters)."""

    @abc.abstractmethod
    async def get(self, object_id: str) -> JSON: ...

    @abc.abstractmethod
    async def post(self, body: JSON) -> JSON:
        """The create call itself."""

    @abc.abstractmethod
    async def remove(self, object_id: str) -> None:
        """Ask DigitalOcean to delete one object (``delete`` verifies it went)."""

    # -- finding by name ---------------------------------------------------------------------

    async def named(self, owner: Owner, resource: str) -> list[JSON]:
        """The objects carrying ``resource``'s name, oldest first (normally none or one)."""
        name = self.name(owner, resource)
        found = [d for d in await self.list_all() if d.get("name") == name]
        return sorted(found, key=lambda d: str(d.get("created_at") or ""))

    def resource_named(self, owner: Owner, name: str) -> str | None:
        """Which of ``owner``'s resources an object called ``name`` belongs to, if any."""
        prefix, suffix = f"{owner.infrastructure}-", f"-{owner.uid}"
        if not (name.startswith(prefix) and name.endswith(suffix)):
            return None
        resource = name[len(prefix) : -len(suffix)]
        # The uid alone tells owners apart; checking the rebuilt name keeps out near misses.
        return resource if resource and self.name(owner, resource) == name else None

    async def ensure_tags(self, tags: Iterable[str]) -> None:
        """Create the tags a body names: DigitalOcean refuses tags that do not exist yet in
        firewalls and load balancers (unlike droplet creates, which make them)."""
        for tag in dict.fromkeys(tags):
            with contextlib.suppress(ConflictError):  # it exists, which is all we need
                await self.api.create_tag(tag)

    # -- the operations ----------------------------------------------------------------------

    async def create_named(
        self,
        owner: Owner,
        resource: ResourceSpec,
        body: JSON,
        *,
        on_created: OnCreated | None,
        recover: bool,
    ) -> ResourceState:
        """POST ``body`` unless ``recover`` finds the object already; an attempt that ends in
        doubt is followed by a look for the name, never by a blind second POST."""

        async def find() -> JSON | None:
            found = await self.named(owner, resource.name)
            return found[0] if found else None

        made = await find() if recover else None
        if made is None:
            made = await self.attempts.run(
                lambda: self.post(body), find, f"{self.noun} {body['name']}"
            )
        obj = self.obj(made)
        if on_created is not None:
            await on_created(resource.name, [obj])
        return ResourceState(self.type, resource.name, (obj,))

    async def poll(self, owner: Owner, states: Sequence[ResourceState]) -> list[ResourceState]:
        del owner  # these kinds carry no owner tag to filter on: one list of them all
        listed = {str(d["id"]): d for d in await self.list_all()}
        out = []
        for state in states:
            objects = []
            for obj in state.objects:
                if obj.id in listed:
                    self.seen(obj.id)
                    objects.append(self.obj(listed[obj.id]))
                else:
                    objects.append(self.missing(state, obj))
            out.append(ResourceState(state.type, state.name, tuple(objects)))
        return out

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """By id (one call); by name when the id answers 404, since a fresh object may 404
        for a moment and one re-created outside atlas still carries the name."""
        objects = []
        for recorded in state.objects:
            d = await get_or_none(self.get(recorded.id))
            if d is not None:
                objects.append(self.obj(d))
        if not objects:
            objects = [self.obj(d) for d in await self.named(owner, state.name)]
        return ResourceState(self.type, state.name, tuple(objects)) if objects else None

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        """Delete the recorded objects and any other carrying the name, then verify."""
        by_name = [str(d["id"]) for d in await self.named(owner, state.name)]
        ids = list(dict.fromkeys([*state.ids, *by_name]))
        for object_id in ids:
            await self.remove(object_id)
        await self.wait_gone(ids)

    async def wait_gone(self, ids: Sequence[str]) -> None:
        """Until every id answers 404; deletes are sent again now and then, in case
        DigitalOcean accepted one and then dropped it."""
        deadline = self.settings.clock() + self.settings.action_timeout
        left = list(ids)
        rounds = 0
        while True:
            left = [i for i in left if await get_or_none(self.get(i)) is not None]
            if not left:
                return
            if self.settings.clock() > deadline:
                raise ProviderOperationError(
                    f"{self.noun} {', '.join(left)} still there "
                    f"{self.settings.action_timeout:g}s after its delete"
                )
            rounds += 1
            if rounds % 5 == 0:
                for object_id in left:
                    await self.remove(object_id)
            await self.settings.sleep(self.settings.poll_interval)

    async def discover(self, owner: Owner) -> list[ResourceState]:
        groups: dict[str, list[CloudObject]] = {}
        for d in await self.list_all():
            resource = self.resource_named(owner, str(d.get("name") or ""))
            if resource is not None:
                groups.setdefault(resource, []).append(self.obj(d))
        return [ResourceState(self.type, n, tuple(objs)) for n, objs in sorted(groups.items())]

    # -- helpers for update ------------------------------------------------------------------

    def only_object(self, state: ResourceState) -> CloudObject:
        if not state.objects:
            raise ProviderOperationError(f"{self.noun} {state.name!r} has no object to update")
        return state.objects[0]

    def replacement(self, resource: str, what: str, have: object, want: object) -> None:
        """Refuse a change DigitalOcean cannot make in place."""
        if want is not None and have != want:
            raise ProviderOperationError(
                f"{self.noun} {resource!r}: {what} cannot change in place ({have} -> {want}); "
                f"it needs a replacement (delete it, then create it again)"
            )


# -- VPCs -------------------------------------------------------------------------------------
