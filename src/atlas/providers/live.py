"""The live side of a provider: what the lifecycle asks of it to create, change and delete.

Every method takes whole resources, not single objects, so a provider can batch: DigitalOcean
creates up to ten identical droplets per call and learns the state of many with one list call.

Contract, for every implementation:

- ``create`` returns as soon as the provider has accepted the objects (ids known), and reports
  each batch of ids through ``on_created`` the moment it has them, so the caller can record
  them before anything else can go wrong.
- A create whose outcome is unknown (server error, timeout, dropped connection) is never
  blindly repeated: the provider first looks for what the attempt made (by ownership tag or
  deterministic name) and adopts it.
- ``delete`` returns only once the objects are gone; an object already gone counts as deleted.
- Nothing here ever logs or raises a credential.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence

from atlas.cost.catalog import PriceCatalog
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.model.state import CloudObject, Owner, ResourceState

__all__ = ["OnCreated", "Provider"]

#: Called with the objects of a resource as soon as their ids are known.
OnCreated = Callable[[str, Sequence[CloudObject]], Awaitable[None]]


class Provider(abc.ABC):
    """A cloud account that atlas can create, read, update and delete resources in."""

    name: str

    @abc.abstractmethod
    async def create(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        *,
        on_created: OnCreated | None = None,
        recover: bool = False,
    ) -> ResourceState:
        """Create ``resource``; ``deps`` holds the states of the resources it refers to.

        With ``recover`` (an earlier attempt may have made some of it: a resumed operation),
        what already exists is adopted first and only the rest is created.
        """

    @abc.abstractmethod
    async def wait(
        self, owner: Owner, states: Sequence[ResourceState], *, timeout: float
    ) -> list[ResourceState]:
        """Wait until every resource is ready (or failed); the states as they end up.

        Raises :class:`~atlas.exceptions.AtlasError` subclasses for failures of the wait itself;
        a resource that failed at the provider comes back with status ``error``.
        """

    @abc.abstractmethod
    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """The resource as it is now, or ``None`` when none of its objects exist any more."""

    @abc.abstractmethod
    async def update(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        state: ResourceState,
        deps: Mapping[str, ResourceState],
    ) -> ResourceState:
        """Change ``state`` in place to match ``resource``."""

    @abc.abstractmethod
    async def delete(self, owner: Owner, state: ResourceState) -> None:
        """Delete every object of ``state`` and return once they are gone."""

    @abc.abstractmethod
    async def discover(self, owner: Owner) -> list[ResourceState]:
        """Everything at the provider that carries ``owner``'s marks (tags or names)."""

    async def check_capacity(self, owner: Owner, additions: Mapping[str, int]) -> None:  # noqa: B027
        """Raise :class:`~atlas.exceptions.CapacityError` when adding ``additions`` (objects
        per resource type) would exceed the account's limits. By default nothing is checked."""

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        """How ``state``, as just read, differs from ``resource``: one sentence each
        (``"size is s-2vcpu-4gb, the spec says s-1vcpu-1gb"``). By default nothing is compared."""
        del spec, resource, state
        return []

    async def refresh_catalog(self, catalog: PriceCatalog) -> PriceCatalog:
        """``catalog`` with the prices the provider quotes now. By default, unchanged."""
        return catalog

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""
