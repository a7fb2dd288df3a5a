"""What a provider plugin declares: the provider itself and its resource kinds.

These are descriptions, cheap to build and free of I/O: validation and estimates use them with no
credentials and no network. The live side of a provider (creating things) comes from
:attr:`ProviderInfo.factory`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec

__all__ = [
    "CheckContext",
    "CliCommand",
    "ProviderInfo",
    "Purpose",
    "ResourceKind",
    "Sandbox",
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
    """A kind of resource a provider can manage, e.g. DigitalOcean's ``droplet``.

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


@attrs.frozen
class ProviderInfo:
    """A provider as a plugin registers it.

    ``package`` is the distribution to install for it (named in errors); ``check`` validates
    what the provider would refuse (regions, names, tags); ``factory`` builds the live provider.
    """

    name: str
    title: str
    package: str
    check: SpecCheck | None = None
    factory: Callable[..., Any] | None = None
    aliases: Sequence[str] = ()


@attrs.frozen
class CliCommand:
    """A subcommand a plugin adds to ``atlas``: ``main(argv)`` returns the exit status."""

    name: str
    help: str
    main: Callable[[Sequence[str]], int]


@attrs.frozen
class Sandbox:
    """A provider wired to an in-process fake of its cloud, for ``--sandbox`` runs.

    ``is_empty()`` says whether the fake holds nothing atlas made; ``requests()`` how many API
    calls it answered.
    """

    provider: Any
    is_empty: Callable[[], bool]
    requests: Callable[[], int]
    description: str
