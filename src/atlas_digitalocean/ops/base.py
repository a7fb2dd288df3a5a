"""What every kind's live operations share: settings, naming, actions, and safe creates."""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from atlas.exceptions import (
    AtlasError,
    NotFoundError,
    ProviderAPIError,
)
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.model.state import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.providers.contract import OnCreated
from atlas.providers.handlers import CreateAttempts, until_gone
from atlas.providers.handlers import Timing as OpsSettings
from atlas_digitalocean.api import JSON, DigitalOceanAPI
from atlas_digitalocean.naming import object_name, owner_tag, resource_tag, spec_tag

__all__ = [
    "CreateAttempts",
    "KindOps",
    "OpsSettings",
    "dep_id",
    "dep_ids",
    "get_confirmed",
    "get_or_none",
    "grouped",
    "post_or_adopt",
    "refreshed",
    "retag",
    "until_gone",
]

logger = logging.getLogger("atlas_digitalocean")

T = TypeVar("T")


class KindOps(abc.ABC):
    """The live operations of one DigitalOcean kind."""

    type: str
    #: DigitalOcean statuses mapped onto atlas's.
    statuses: Mapping[str, ResourceStatus] = {}

    def __init__(self, api: DigitalOceanAPI, settings: OpsSettings) -> None:
        self.api = api
        self.settings = settings
        self.attempts = CreateAttempts(settings)
        self._missing_since: dict[str, float] = {}

    # -- naming and tags ---------------------------------------------------------------------

    def name(self, owner: Owner, resource: str, index: int | None = None) -> str:
        return object_name(self.type, owner.infrastructure, owner.uid, resource, index)

    @staticmethod
    def tags(owner: Owner, spec: InfrastructureSpec, resource: str) -> list[str]:
        """The spec's tags plus the two ownership tags."""
        own = [owner_tag(owner.uid), resource_tag(owner.uid, resource)]
        return own + [spec_tag(k, v) for k, v in sorted(spec.tags.items())]

    @staticmethod
    def resource_of(owner: Owner, tags: Sequence[str]) -> str | None:
        """Which resource of ``owner`` a tagged object belongs to, if any."""
        prefix = resource_tag(owner.uid, "")
        for tag in tags:
            if tag.startswith(prefix):
                return tag[len(prefix) :]
        return None

    def status(self, raw: str | None) -> ResourceStatus:
        return self.statuses.get(raw or "", "error")

    # -- waiting -----------------------------------------------------------------------------

    def missing(self, state: ResourceState, obj: CloudObject) -> CloudObject:
        """An object a list did not show: still appearing, or gone after the grace period.

        DigitalOcean may 404 an object just after creating it; only a long absence counts.
        """
        first = self._missing_since.setdefault(obj.id, self.settings.clock())
        if self.settings.clock() - first < self.settings.visibility_grace:
            return obj
        del state  # the object alone decides
        return attrs.evolve(
            obj, status="error", attributes={**obj.attributes, "error": "disappeared after create"}
        )

    def seen(self, object_id: str) -> None:
        self._missing_since.pop(object_id, None)

    async def wait_action(self, action: JSON, *, what: str) -> JSON:
        """Poll a DigitalOcean action until it completes; an errored action raises."""
        deadline = self.settings.clock() + self.settings.action_timeout
        while action.get("status") == "in-progress":
            if self.settings.clock() > deadline:
                raise AtlasError(
                    f"{what}: action {action.get('id')} still in progress after "
                    f"{self.settings.action_timeout:g}s"
                )
            await self.settings.sleep(self.settings.poll_interval)
            action = await self.api.get_action(str(action["id"]))
        if action.get("status") != "completed":
            raise AtlasError(f"{what}: action {action.get('id')} ended {action.get('status')}")
        return action

    # -- the operations ----------------------------------------------------------------------

    @abc.abstractmethod
    async def create(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        *,
        on_created: OnCreated | None,
        recover: bool,
    ) -> ResourceState: ...

    @abc.abstractmethod
    async def poll(self, owner: Owner, states: Sequence[ResourceState]) -> list[ResourceState]:
        """One round of status: the states as they are now (as few calls as possible)."""

    @abc.abstractmethod
    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None: ...

    @abc.abstractmethod
    async def update(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        state: ResourceState,
        deps: Mapping[str, ResourceState],
    ) -> ResourceState: ...

    @abc.abstractmethod
    async def delete(self, owner: Owner, state: ResourceState) -> None: ...

    @abc.abstractmethod
    async def discover(self, owner: Owner) -> list[ResourceState]: ...

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        """Differences between ``state`` as read and ``resource``, for the fields this kind
        reports back; each kind compares what it can."""
        del spec, resource, state
        return []


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
    state = deps.get(name)
    if state is None or not state.objects:
        raise AtlasError(f"{what} refers to {name!r}, which has not been created")
    return state.objects[0].id


def dep_ids(deps: Mapping[str, ResourceState], names: Sequence[str], what: str) -> list[str]:
    """The provider ids of every object of the referenced resources."""
    ids: list[str] = []
    for name in names:
        state = deps.get(name)
        if state is None or not state.objects:
            raise AtlasError(f"{what} refers to {name!r}, which has not been created")
        ids.extend(state.ids)
    return ids


def error_detail(exc: ProviderAPIError) -> dict[str, Any]:
    return {"status": exc.status, "code": exc.code, "message": exc.message}


# -- helpers for the kinds' operations ------------------------------------------------------

Find = Callable[[], Awaitable[JSON | None]]


async def post_or_adopt(post: Callable[[], Awaitable[JSON]], find: Find) -> JSON:
    """``post``; when DigitalOcean refuses it because the name is taken (409, or 422 for some
    kinds), the object holding the name is adopted if ``find`` (which only ever finds this
    resource's own object) finds it. An earlier run whose answer was lost ends up here."""
    try:
        return await post()
    except ProviderAPIError as exc:
        if exc.status not in (409, 422):
            raise
        found = await find()
        if found is None:
            raise
        return found


async def retag(api: DigitalOceanAPI, ref: JSON, have: Iterable[str], want: Iterable[str]) -> None:
    """Give one object the tags ``want``; ``atlas:`` tags not wanted are left alone (they
    are not the spec's to remove)."""
    have, want = set(have), set(want)
    for tag in sorted(want - have):
        try:
            await api.tag_resources(tag, [ref])
        except NotFoundError:
            # Only existing tags can be applied; a missing object 404s again just below.
            await api.create_tag(tag)
            await api.tag_resources(tag, [ref])
    for tag in sorted(have - want):
        if not tag.startswith("atlas:"):
            await api.untag_resources(tag, [ref])


def refreshed(
    ops: KindOps,
    states: Sequence[ResourceState],
    listed: Mapping[str, JSON],
    convert: Callable[[JSON], CloudObject],
) -> list[ResourceState]:
    """``states`` with each object as ``listed`` (by id) shows it; one a list does not show
    yet gets the grace period of :meth:`KindOps.missing`."""
    out = []
    for state in states:
        objects = []
        for obj in state.objects:
            if obj.id in listed:
                ops.seen(obj.id)
                objects.append(convert(listed[obj.id]))
            else:
                objects.append(ops.missing(state, obj))
        out.append(ResourceState(state.type, state.name, tuple(objects)))
    return out


def grouped(
    ops: KindOps, owner: Owner, items: Iterable[JSON], convert: Callable[[JSON], CloudObject]
) -> list[ResourceState]:
    """The items carrying ``owner``'s tag, one state per resource tag, sorted by name."""
    mine = owner_tag(owner.uid)
    groups: dict[str, list[CloudObject]] = {}
    for item in items:
        tags = list(item.get("tags") or [])
        name = ops.resource_of(owner, tags) if mine in tags else None
        if name is not None:
            groups.setdefault(name, []).append(convert(item))
    return [ResourceState(ops.type, n, tuple(objs)) for n, objs in sorted(groups.items())]
