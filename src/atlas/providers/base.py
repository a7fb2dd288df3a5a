"""What a provider plugin declares: the provider itself and its resource kinds.

These are descriptions, cheap to build and free of I/O: validation and estimates use them with no
credentials and no network. The live side of a provider (creating things) comes from
:attr:`ProviderInfo.factory`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import attrs

from atlas.cost.catalog import PriceCatalog
from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec

__all__ = ["CheckContext", "CliCommand", "ProviderInfo", "Purpose", "ResourceKind"]

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
