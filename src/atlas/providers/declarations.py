"""What a provider plugin declares: the provider itself, its resource kinds, its sandbox.

These are descriptions, cheap to build and free of I/O: validation and estimates use them with no
credentials and no network. The live side of a provider (creating things) comes from
:attr:`ProviderInfo.factory`, called with a :class:`~atlas.providers.ProviderConfig`.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.cost.estimate import LineItem, PriceLookup
from atlas.credentials import CredentialSpec
from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.contract import ProviderFactory

if TYPE_CHECKING:
    from atlas.providers.contract import Provider

__all__ = [
    "CheckContext",
    "CliCommand",
    "Faults",
    "KindCheck",
    "KindSample",
    "Pricer",
    "ProviderInfo",
    "Purpose",
    "ResourceKind",
    "Sandbox",
    "SpecCheck",
]

#: What a spec is validated for: an estimate needs only what prices depend on.
Purpose = Literal["estimate", "create"]


@attrs.frozen
class CheckContext:
    """What provider checks may consult: the whole spec, the purpose, the offline catalog."""

    spec: InfrastructureSpec
    purpose: Purpose
    catalog: PriceCatalog | None


#: Prices one resource's specification: returns its line items.
Pricer = Callable[[Any, PriceLookup], Sequence[LineItem]]
#: Checks one resource; problem paths are relative to the resource (``"specifications.size"``).
KindCheck = Callable[[ResourceSpec, CheckContext], Iterable[Problem]]
#: Checks a whole spec; problem paths are absolute (``"region"``, ``"tags.env"``).
SpecCheck = Callable[[InfrastructureSpec, CheckContext], Iterable[Problem]]


@attrs.frozen
class ResourceKind:
    """A kind of resource a provider can manage, e.g. a cloud's ``server`` or ``volume``.

    ``spec_class`` is a frozen attrs class whose fields are declared with
    :func:`atlas.model.spec_field`; it is what ``specifications`` in a spec turns into.
    """

    provider: str
    type: str
    spec_class: builtins.type[Any]
    summary: str
    price: Pricer | None = None
    check: KindCheck | None = None
    #: Top-level specification fields whose change the provider cannot make in place: the
    #: plan replaces the resource instead.
    replace_on: frozenset[str] = frozenset()
    #: A change the provider cannot make in place that depends on the values (a volume can
    #: grow, not shrink): ``replace_if(old, new)`` on the canonical specifications gives the
    #: reason, or ``None``.
    replace_if: Callable[[Mapping[str, Any], Mapping[str, Any]], str | None] | None = None
    #: Whether a change of the spec's tags can be applied to existing objects.
    retaggable: bool = True
    #: Whether the provider tags this kind at all (else tag changes mean nothing to it).
    taggable: bool = True
    #: Whether resources of this kind that exist outside atlas can be listed
    #: (:meth:`Provider.inventory <atlas.providers.Provider.inventory>`) and adopted with
    #: ``import:`` in a spec.
    importable: bool = False
    #: Top-level specification fields the cloud cannot read back (a server's image,
    #: ``ssh_keys``, ``user_data``): an import never compares them and never replaces for them.
    create_only: frozenset[str] = frozenset()
    #: Whether its objects keep data a user put there (a database, a volume) that deleting
    #: them destroys: a plan that replaces or deletes one is marked
    #: (:attr:`PlannedChange.destroys_data <atlas.lifecycle.plan.PlannedChange.destroys_data>`)
    #: and is applied only with ``allow_data_loss``. ``atlas destroy`` is explicit already.
    stateful: bool = False


@attrs.frozen
class ProviderInfo:
    """A provider as a plugin registers it.

    ``package`` is the distribution to install for it (named in errors); ``check`` validates
    what the provider would refuse (regions, names, tags); ``factory`` builds the live provider
    from a :class:`~atlas.providers.ProviderConfig`, whose credential chain the core builds
    from ``credentials``. A provider with no factory can estimate and validate, not create.
    """

    name: str
    title: str
    package: str
    check: SpecCheck | None = None
    factory: ProviderFactory | None = None
    aliases: Sequence[str] = ()
    #: Where the provider's credential comes from (environment names, Context Manager key).
    credentials: CredentialSpec | None = None
    #: Other environment variables the live provider reads, each with what it sets:
    #: ``atlas COMMAND --help`` lists them (and the credential's) for the commands that reach
    #: the cloud, so the core never has to name them.
    environment: Mapping[str, str] = attrs.field(factory=dict)
    #: Seconds a resource of each kind may take to become ready before its step times out.
    ready_timeouts: Mapping[str, float] = attrs.field(factory=dict)
    #: For kinds not in ``ready_timeouts``.
    default_ready_timeout: float = 600.0
    #: The currency the provider bills in (its catalog's prices are in it too).
    currency: str = "USD"
    #: A small spec that validates for creation: the HTTP API document's example for it.
    example: Mapping[str, Any] | None = None

    def ready_timeout(self, kind: str) -> float:
        """How long a resource of ``kind`` may take to become ready."""
        return self.ready_timeouts.get(kind, self.default_ready_timeout)


@attrs.frozen
class CliCommand:
    """A subcommand a plugin adds to ``atlas``: ``main(argv)`` returns the exit status."""

    name: str
    help: str
    main: Callable[[Sequence[str]], int]


@attrs.frozen
class Sandbox:
    """A provider wired to an in-process fake of its cloud, for ``--sandbox`` runs and for the
    conformance kit (:mod:`atlas.testing`).

    ``is_empty()`` says whether the fake holds nothing atlas made; ``requests()`` how many API
    calls it answered; ``faults`` (when the fake can misbehave on purpose) injects the
    provider-neutral faults the kit needs; ``secret`` is the credential the provider presents
    to the fake, so the kit can check it never shows in a log, an error or a stored row.
    """

    provider: Provider
    is_empty: Callable[[], bool]
    requests: Callable[[], int]
    description: str
    faults: Faults | None = None
    #: A region the samples are valid in, and one sample per kind the provider manages.
    region: str = ""
    samples: Sequence[KindSample] = ()
    secret: str | None = attrs.field(default=None, repr=False)
    #: Conformance tests the provider is known to fail today, by test name
    #: (``"test_drift_after_change_outside[vpc]"``), with the reason: the kit runs them as
    #: strict expected failures, so each gap shows in every run and one that gets fixed
    #: fails the run until it is taken off the list.
    known_gaps: Mapping[str, str] = attrs.field(factory=dict)
    #: ``await unmanaged(type, name)`` makes a resource of kind ``type`` called ``name``
    #: with the kind's sample specifications (references to other resources left out)
    #: directly through the fake cloud, as a person would by hand: no atlas marks. It
    #: returns once the resource is ready and listed, with its provider ids. A resource that
    #: cannot exist alone (a subnet without its network) may come with what it needs, made by
    #: hand too: the kit imports that with it. The import tests need it (``None``: skipped).
    unmanaged: Callable[[str, str], Awaitable[Sequence[str]]] | None = None


class Faults(Protocol):
    """Faults a sandbox's fake cloud can inject, in one provider-neutral form.

    ``kind`` is a resource type (``"server"``); ``times`` how many matching calls misbehave.
    Every method arms the fault for the calls that come next and returns at once.
    """

    def fail_after_apply(self, kind: str, *, times: int = 1) -> None:
        """The next create of ``kind`` is carried out, then answered with a server error."""

    def drop_after_apply(self, kind: str, *, times: int = 1) -> None:
        """The next create of ``kind`` is carried out, then the connection drops unanswered."""

    def throttle(self, *, times: int = 1, retry_after: float = 0.0) -> None:
        """The next ``times`` calls of any kind are refused as over the rate limit, asking the
        client to retry after ``retry_after`` seconds."""

    def delete_outside(self, kind: str, object_id: str) -> None:
        """Delete an object behind atlas's back (drift: gone); a ``read`` right after it
        returns finds it gone."""

    def change_outside(self, kind: str, object_id: str) -> None:
        """Change an object behind atlas's back, in a way the provider's ``drift`` reports
        (a size, a tag): which change is the sandbox's choice. A ``read`` right after it
        returns sees the change."""

    def armed(self) -> int:
        """How many armed misbehaviours have not struck yet (so a test can tell that the
        fault it armed did strike, and was not aimed at a call that never came)."""


@attrs.frozen
class KindSample:
    """How the conformance kit exercises one resource kind of a sandbox.

    ``specifications`` make a valid resource of ``type``; ``update``, when the kind can change
    in place, the specifications after a change; ``needs`` are whole resources (``{"type",
    "name", "specifications"}``) it refers to, created first. ``count`` is the number of
    objects the resource makes (a counted kind is asked for several, to exercise batches).
    """

    type: str
    specifications: Mapping[str, Any]
    update: Mapping[str, Any] | None = None
    needs: Sequence[Mapping[str, Any]] = ()
    count: int = 1
