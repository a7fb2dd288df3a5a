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
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.credentials import CredentialChain
from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec

__all__ = [
    "AccountStep",
    "ActualCharges",
    "FoundResource",
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
    #: The id of the journaled operation this step belongs to (``""`` outside one; for a
    #: create a crash cut short, the operation that first journaled it): a provider whose
    #: cloud takes idempotency tokens derives them from it and the step, so that a retry
    #: within the operation, or the next apply or resume after a crash, sends the same token.
    operation: str = ""

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


@attrs.frozen
class FoundResource:
    """A resource that exists at the provider, whoever made it: what
    :meth:`Provider.inventory` lists and :meth:`Provider.read_import` reads for an import.

    ``name`` is a valid spec resource name derived from the cloud's own name for it;
    ``specifications`` the canonical specifications document as far as the cloud can tell it
    (a field it cannot read back, such as a server's ``user_data``, is absent), with references
    to other resources by their spec names. ``managed_by`` is the atlas infrastructure whose
    ownership marks the objects carry, if any (such a resource is not for import).
    """

    type: str
    name: str
    region: str
    objects: tuple[CloudObject, ...]
    specifications: Mapping[str, Any] = attrs.field(factory=dict)
    managed_by: Owner | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.objects)

    def state(self, name: str | None = None) -> ResourceState:
        """The objects as the state of the spec resource ``name`` (default: ``self.name``)."""
        return ResourceState(self.type, name or self.name, self.objects)


@attrs.frozen
class AccountStep:
    """Something the account needs before an infrastructure's resources are made, which
    belongs to no infrastructure: a region's default network, say, made first so that the
    infrastructure's own network never becomes the undeletable default. It is shown in the
    plan, carried out before the infrastructure's steps, and never destroyed.
    """

    #: What it makes, as a resource type of the provider (``"vpc"``), and the cloud's name.
    type: str
    name: str
    #: One line for the plan: why, and what it costs (``"free"``).
    reason: str
    region: str = ""
    #: Whatever the provider needs to carry it out (JSON-safe).
    details: Mapping[str, Any] = attrs.field(factory=dict)


#: Builds a live provider; the value of :attr:`ProviderInfo.factory <atlas.providers.ProviderInfo>`.
ProviderFactory = Callable[[ProviderConfig], "Provider"]


@attrs.frozen
class ActualCharges:
    """What the provider's own bill says the account has been charged for a calendar month.

    The whole account's usage, not one infrastructure's: other things in the account count
    too. ``final`` is true for an issued invoice, false for usage so far (the current month,
    or a month not yet invoiced). ``source`` names where the figure was read
    (``"GET /v2/customers/my/balance"``); ``generated_at`` is when the provider computed it,
    when it says.
    """

    year: int
    month: int
    amount: Decimal
    currency: str
    final: bool
    source: str
    generated_at: dt.datetime | None = None


class Provider(abc.ABC):
    """A cloud account that atlas can create, read, update and delete resources in."""

    name: str

    async def connect(self) -> None:  # noqa: B027 - optional hook, nothing to resolve by default
        """Resolve what every later call needs (the credential above all), without changing
        anything. The core calls it before an operation records anything, so that a missing
        or unusable credential is a :class:`~atlas.exceptions.CredentialsError` naming the
        sources tried, with the infrastructure's records untouched. By default nothing."""

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

    # -- what exists outside atlas: discover and import -----------------------------------

    async def inventory(self, *, region: str | None = None) -> list[FoundResource]:
        """Every resource of an importable kind (:attr:`ResourceKind.importable
        <atlas.providers.ResourceKind.importable>`) in the account, in ``region`` when given,
        managed by atlas or not (the core sets aside those an infrastructure owns), sorted by
        type, then name. By default nothing: a provider that lists nothing imports nothing."""
        del region
        return []

    async def read_import(
        self,
        resource: ResourceSpec,
        region: str,
        ids: Sequence[str],
        names: Mapping[str, str],
    ) -> FoundResource:
        """The objects ``ids`` as an import of ``resource`` (in ``region``) finds them.

        ``names`` maps provider ids of the spec's other resources (recorded or imported) to
        their spec names, for references in the specifications read back. Raises
        :class:`~atlas.exceptions.ProviderOperationError` naming the id when one does not
        exist, is not a ``resource.type``, or is in another region."""
        del region, ids, names
        raise ProviderOperationError(f"the {self.name} provider cannot import {resource.type}")

    # -- account-level steps ---------------------------------------------------------------

    async def account_steps(
        self, spec: InfrastructureSpec, creates: Sequence[ResourceSpec]
    ) -> list[AccountStep]:
        """What the account needs before ``creates`` (the resources the plan creates) are
        made; called while planning, it may read the cloud but must change nothing. By
        default nothing."""
        del spec, creates
        return []

    async def prepare(self, step: AccountStep) -> None:
        """Carry out an :class:`AccountStep` this provider asked for. It must be safe to
        repeat (a resumed operation does it again when the first try's outcome is unknown)."""
        raise ProviderOperationError(f"the {self.name} provider has no account step {step.type}")

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

    async def actual_charges(self, year: int, month: int) -> ActualCharges | None:
        """What the account's bill says for the calendar month ``year``-``month`` (UTC), read
        from the provider's billing API; ``None`` when the provider reports no charges (the
        default) or has none for that month. Read-only; it must change nothing."""
        del year, month
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""
