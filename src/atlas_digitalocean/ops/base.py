"""What every DigitalOcean kind handler shares: the API, names and tags, statuses, actions.

The rules that keep creates and deletes safe (adoption, batches, polling rounds, the
visibility grace, waiting until gone) are the core's (:mod:`atlas.providers.handlers`); what
is here is how DigitalOcean says things.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from atlas.exceptions import AtlasError, NotFoundError, ProviderAPIError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.providers import CreateAttempts, KindHandler, StepContext
from atlas.providers import Timing as OpsSettings
from atlas_digitalocean.api import JSON, DigitalOceanAPI
from atlas_digitalocean.http import PAGINATION
from atlas_digitalocean.naming import object_name, owner_tag, resource_of, resource_tag, spec_tag

__all__ = [
    "RECOUNT",
    "DigitalOceanHandler",
    "OpsSettings",
    "TaggedHandler",
    "add_tags",
    "dep_id",
    "dep_ids",
    "get_confirmed",
    "get_or_none",
    "imported",
    "index_of",
    "pages",
    "retag",
]

logger = logging.getLogger("atlas_digitalocean")

#: Rounds polled with one tagged list per owner, because the whole list was longer, before
#: the whole list is tried again (about a minute at the usual interval).
RECOUNT = 60

T = TypeVar("T")


class DigitalOceanHandler(KindHandler):
    """One DigitalOcean kind: how its objects are named, tagged, rendered and acted on."""

    #: DigitalOcean statuses mapped onto atlas's.
    statuses: Mapping[str, ResourceStatus] = {}

    def __init__(self, api: DigitalOceanAPI, timing: OpsSettings) -> None:
        super().__init__(timing)
        self.api = api
        #: For the calls other than creates that must not be repeated blindly (actions).
        self.attempts = CreateAttempts(timing)

    @abc.abstractmethod
    def obj(self, d: JSON) -> CloudObject:
        """The atlas view of one object as DigitalOcean renders it."""

    def status(self, raw: str | None) -> ResourceStatus:
        return self.statuses.get(raw or "", "error")

    # -- naming and tags ---------------------------------------------------------------------

    def name(self, owner: Owner, resource: str, index: int | None = None) -> str:
        return object_name(self.type, owner.infrastructure, owner.uid, resource, index)

    def object_names(self, ctx: StepContext) -> list[str]:
        return [self.name(ctx.owner, ctx.name)]

    @staticmethod
    def tags(ctx: StepContext) -> list[str]:
        """The spec's tags plus the two ownership tags."""
        uid = ctx.owner.uid
        own = [owner_tag(uid), resource_tag(uid, ctx.name)]
        return own + DigitalOceanHandler.spec_tags(ctx)

    @staticmethod
    def spec_tags(ctx: StepContext) -> list[str]:
        """The spec's tags alone (what an imported object is given: never atlas's own)."""
        return [spec_tag(k, v) for k, v in sorted(ctx.spec.tags.items())]

    # -- calls -------------------------------------------------------------------------------

    async def post_or_adopt(
        self, ctx: StepContext, names: Sequence[str], post: Callable[[], Awaitable[JSON]]
    ) -> list[CloudObject]:
        """``post``; when DigitalOcean refuses it because the name is taken (409, or 422 for
        some kinds), the object holding the name is adopted if it carries this resource's
        marks. An earlier run whose answer was lost ends up here."""
        try:
            return [self.obj(await post())]
        except ProviderAPIError as exc:
            if exc.status not in (409, 422):
                raise
            found = [o for o in await self.find(ctx.owner, ctx.name) if o.name in names]
            if not found:
                raise
            return found[:1]

    async def wait_action(self, action: JSON, *, what: str) -> JSON:
        """Poll a DigitalOcean action until it completes; an errored action raises."""
        timing = self.timing
        deadline = timing.clock() + timing.action_timeout
        while action.get("status") == "in-progress":
            if timing.clock() > deadline:
                raise AtlasError(
                    f"{what}: action {action.get('id')} still in progress after "
                    f"{timing.action_timeout:g}s"
                )
            await timing.sleep(timing.poll_interval)
            action = await self.api.get_action(str(action["id"]))
        if action.get("status") != "completed":
            raise AtlasError(f"{what}: action {action.get('id')} ended {action.get('status')}")
        return action

    def only_object(self, state: ResourceState) -> CloudObject:
        if not state.objects:
            raise ProviderOperationError(f"{self.noun} {state.name!r} has no object to update")
        return state.objects[0]


class TaggedHandler(DigitalOceanHandler):
    """A kind that carries atlas's tags (droplets, volumes, databases): found, polled and
    discovered by them.

    An imported object (made outside atlas, adopted with ``import:``) carries none of them:
    it is read, polled and deleted by its recorded id instead (see :func:`imported`).
    """

    #: Objects one page of the kind's list holds; ``None`` for a list served whole.
    page_size: int | None = PAGINATION.page_size

    def __init__(self, api: DigitalOceanAPI, timing: OpsSettings) -> None:
        super().__init__(api, timing)
        #: Pages the whole list of the kind took last time (see :meth:`poll_owners`).
        self._account_pages = 1
        self._rounds_since_count = 0

    @abc.abstractmethod
    async def tagged(self, tag: str) -> list[JSON]:
        """Every object carrying ``tag`` (one list call)."""

    @abc.abstractmethod
    async def get(self, object_id: str) -> JSON:
        """One object by id (404: :class:`~atlas.exceptions.NotFoundError`)."""

    @abc.abstractmethod
    async def listing(self, region: str | None) -> list[JSON]:
        """Every object of the kind in the account (in ``region`` when given)."""

    @staticmethod
    @abc.abstractmethod
    def region(d: JSON) -> str | None:
        """The region slug of one object as DigitalOcean renders it."""

    @staticmethod
    @abc.abstractmethod
    def found(objects: Sequence[JSON], names: Mapping[str, str]) -> JSON:
        """The specifications document of one resource made of ``objects``, as far as
        DigitalOcean tells it; references by the names ``names`` gives provider ids."""

    async def find(self, owner: Owner, resource: str) -> list[CloudObject]:
        found = [self.obj(d) for d in await self.tagged(resource_tag(owner.uid, resource))]
        return sorted(found, key=index_of)

    async def by_id(self, objects: Iterable[CloudObject]) -> list[CloudObject]:
        """``objects`` as they are now, by id (one call each); those gone are left out."""
        found = [await get_or_none(self.get(o.id)) for o in objects]
        return [self.obj(d) for d in found if d is not None]

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Whatever carries the resource's marks, plus its imported objects by id."""
        found = await self.find(owner, state.name)
        seen = {o.id for o in found}
        outside = [o for o in state.objects if o.id not in seen and imported(owner, state, o)]
        objects = found + await self.by_id(outside)
        return ResourceState(self.type, state.name, tuple(objects)) if objects else None

    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        # One list of everything the owner has of this kind; imported objects carry no
        # owner tag, so they are looked up by id.
        listed = {str(d["id"]): self.obj(d) for d in await self.tagged(owner_tag(owner.uid))}
        outside = [
            o for s in states for o in s.objects if o.id not in listed and imported(owner, s, o)
        ]
        listed.update({o.id: o for o in await self.by_id(outside)})
        return listed

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        """Several infrastructures at once: one list of the kind without the tag filter
        shows every owner's objects (imported ones too, unless just gone from the list).

        That list costs one call per page of *every* object of the kind in the account, so
        it is made while that is no more calls than one tagged list per owner, as the last
        such list's length tells; otherwise one tagged list per owner, with another try of
        the whole list every ``RECOUNT`` rounds, since accounts shrink too."""
        if self._account_pages > len(wanted) and self._rounds_since_count < RECOUNT:
            self._rounds_since_count += 1
            return await super().poll_owners(wanted)
        everything = await self.listing(None)
        self._rounds_since_count = 0
        self._account_pages = pages(len(everything), self.page_size)
        listed = {str(d["id"]): self.obj(d) for d in everything}
        outside = [
            o
            for owner, states in wanted.items()
            for s in states
            for o in s.objects
            if o.id not in listed and imported(owner, s, o)
        ]
        listed.update({o.id: o for o in await self.by_id(outside)})
        return listed

    async def discover(self, owner: Owner) -> list[ResourceState]:
        groups: dict[str, list[CloudObject]] = {}
        for d in await self.tagged(owner_tag(owner.uid)):
            resource = resource_of(owner.uid, d.get("tags") or [])
            if resource is not None:
                groups.setdefault(resource, []).append(self.obj(d))
        return [
            ResourceState(self.type, name, tuple(sorted(objects, key=index_of)))
            for name, objects in sorted(groups.items())
        ]


def pages(items: int, page_size: int | None) -> int:
    """The calls a list of ``items`` takes (at least one, even when it is empty)."""
    if page_size is None:
        return 1
    return max(1, -(-items // page_size))


def imported(owner: Owner, state: ResourceState, obj: CloudObject) -> bool:
    """Whether ``obj`` of ``state`` was adopted by an import rather than made by atlas: it
    does not carry the resource's tag (as recorded). Such an object is only ever handled by
    its id, keeps its own name, and never gets atlas's ownership tags."""
    return resource_tag(owner.uid, state.name) not in (obj.attributes.get("tags") or [])


async def add_tags(
    api: DigitalOceanAPI, ref: JSON, have: Iterable[str], want: Iterable[str]
) -> None:
    """Give an imported object the spec's tags ``want`` it lacks; its own tags stay (atlas
    cannot tell them from tags a spec once had, so it removes none)."""
    for tag in sorted(set(want) - set(have)):
        await _tag(api, tag, ref)


def index_of(obj: CloudObject) -> tuple[int, str]:
    """Objects of one resource in their index order (``web-2`` before ``web-10``)."""
    tail = obj.name.rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, obj.name)


async def get_confirmed(
    fetch: Awaitable[JSON], listing: Callable[[], Awaitable[list[JSON]]], object_id: str
) -> JSON | None:
    """The object now, or ``None``. DigitalOcean may 404 a fresh object by id, so a 404 is
    confirmed by ``listing`` (one list call) before it counts."""
    try:
        return await fetch
    except NotFoundError:
        return next((d for d in await listing() if str(d["id"]) == object_id), None)


async def get_or_none(fetch: Awaitable[T]) -> T | None:
    """The fetched object, or ``None`` on a 404."""
    try:
        return await fetch
    except NotFoundError:
        return None


def dep_id(deps: Mapping[str, ResourceState], name: str | None, what: str) -> str | None:
    """The provider id of a referenced resource (its first object)."""
    if name is None:
        return None
    ids = dep_ids(deps, [name], what)
    return ids[0]


def dep_ids(deps: Mapping[str, ResourceState], names: Sequence[str], what: str) -> list[str]:
    """The provider ids of every object of the referenced resources."""
    ids: list[str] = []
    for name in names:
        state = deps.get(name)
        if state is None or not state.objects:
            raise AtlasError(f"{what} refers to {name!r}, which has not been created")
        ids.extend(state.ids)
    return ids


async def retag(api: DigitalOceanAPI, ref: JSON, have: Iterable[str], want: Iterable[str]) -> None:
    """Give one object the tags ``want``; ``atlas:`` tags not wanted are left alone (they
    are not the spec's to remove)."""
    have, want = set(have), set(want)
    for tag in sorted(want - have):
        await _tag(api, tag, ref)
    for tag in sorted(have - want):
        if not tag.startswith("atlas:"):
            await api.untag_resources(tag, [ref])


async def _tag(api: DigitalOceanAPI, tag: str, ref: JSON) -> None:
    try:
        await api.tag_resources(tag, [ref])
    except NotFoundError:
        # Only existing tags can be applied; a missing object 404s again just below.
        await api.create_tag(tag)
        await api.tag_resources(tag, [ref])
