"""The live side of a provider: what the lifecycle asks of it to create, change and delete.

Every method takes whole resources, not single objects, so a provider can batch (a cloud that
creates ten identical servers per call, and learns the state of many with one list call).

Contract, for every implementation (the conformance kit, :mod:`atlas.testing`, checks it):

- ``create`` returns as soon as the provider has accepted the objects (ids known), and reports
  each batch of ids through ``on_created`` the moment it has them, so the caller can record
  them before anything else can go wrong.
- A create whose outcome is unknown (server error, timeout, dropped connection) is never
  blindly repeated: the provider first looks for what the attempt made (by ownership mark or
  deterministic name) and adopts it.
- ``delete`` returns only once the objects are gone; an object already gone counts as deleted.
- Nothing here ever logs or raises a credential.

Most providers do not implement :class:`Provider` directly: they subclass
:class:`atlas.providers.HandlerProvider` and write one :class:`atlas.providers.KindHandler` per
kind, leaving the crash-safety rules above to the core.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.credentials import CredentialChain
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec

__all__ = [
    "OnCreated",
    "Provider",
    "ProviderConfig",
    "ProviderFactory",
    "StepContext",
]

#: Called with the objects of a resource as soon as their ids are known.
OnCreated = Callable[[str, Sequence[CloudObject]], Awaitable[None]]


@attrs.frozen
class StepContext:
    """One resource of one infrastructure, as a step of an operation sees it.

    ``deps`` holds the recorded states of the resources ``resource`` refers to (and, in
    practice, of every recorded resource of the infrastructure), so a create can put their
    provider ids into its request.
    """

    owner: Owner
    spec: InfrastructureSpec
    resource: ResourceSpec
    deps: Mapping[str, ResourceState] = attrs.field(factory=dict)

    @property
    def name(self) -> str:
        """The resource's name in the spec."""
        return self.resource.name

    def dep(self, name: str) -> ResourceState | None:
        """The recorded state of the resource called ``name``, if it has one."""
        return self.deps.get(name)


@attrs.frozen
class ProviderConfig:
    """What the core hands a provider's factory: where its credential comes from and the
    environment to read settings from (never ``os.environ`` behind the caller's back).

    ``credentials`` is built by the core from the provider's declared
    :class:`~atlas.credentials.CredentialSpec` (environment, then the Context Manager with the
    caller's JWT); the provider resolves it the first time it needs the cloud, not before.
    """

    credentials: CredentialChain
    env: Mapping[str, str] = attrs.field(factory=dict, repr=False)


#: Builds a live provider; the value of :attr:`ProviderInfo.factory <atlas.providers.ProviderInfo>`.
ProviderFactory = Callable[[ProviderConfig], "Provider"]


class Provider(abc.ABC):
    """A cloud account that atlas can create, read, update and delete resources in."""

    name: str

    @abc.abstractmethod
    async def create(
        self,
        ctx: StepContext,
        *,
        on_created: OnCreated | None = None,
        recover: bool = False,
    ) -> ResourceState:
        """Create ``ctx.resource``.

        With ``recover`` (an earlier attempt may have made some of it: a resumed operation),
        what already exists is adopted first and only the rest is created.
        """

    @abc.abstractmethod
    async def wait(
        self, owner: Owner, states: Sequence[ResourceState], *, timeout: float
    ) -> list[ResourceState]:
        """Wait until every resource is ready (or failed); the states as they end up.

        Raises :class:`~atlas.exceptions.AtlasError` subclasses for failures of the wait itself
        (:class:`~atlas.exceptions.WaitTimeoutError` when ``timeout`` seconds pass); a resource
        that failed at the provider comes back with status ``error``.
        """

    @abc.abstractmethod
    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """The resource as it is now, or ``None`` when none of its objects exist any more."""

    @abc.abstractmethod
    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Change ``state`` in place to match ``ctx.resource``."""

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
        (``"size is large, the spec says small"``). By default nothing is compared."""
        del spec, resource, state
        return []

    async def refresh_catalog(self, catalog: PriceCatalog) -> PriceCatalog:
        """``catalog`` with the prices the provider quotes now. By default, unchanged."""
        return catalog

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""
