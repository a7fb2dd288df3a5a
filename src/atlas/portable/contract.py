"""What a provider plugin implements to place portable resources: a :class:`PortableTranslator`.

A plugin answers the ``atlas_portable_translator(provider)`` hook with one. atlas then asks it,
for every region the placement constraints allow, to translate the spec's portable resources
into the provider's own kinds, and compares the answers:

- :meth:`PortableTranslator.regions` lists where the provider can place, each region with its
  group (``eu``, ``us``, ...) and the features it offers there;
- :meth:`PortableTranslator.translate` gets the portable resources (validated, with their
  names) and the provider's prices in that region, and returns for each either a
  :class:`Choice` (the native resources, the offering chosen, why, and its line items) or a
  :class:`Refusal` in words.

The rules every translator keeps (the conformance kit checks them):

1. **Names are kept.** The native resource that stands for portable resource ``web`` is called
   ``web``, so references between resources, and the recorded state, survive translation.
   Resources a translation adds that no one portable resource owns (a VPC and subnets a load
   balancer needs) go in :attr:`Translation.support`, named after what needs them.
2. **Every minimum is met, and nothing cheaper in the catalog meets them all.** A tie between
   offerings goes to the smaller one (fewer vCPUs, then less memory), then to the name first in
   alphabetical order, so that the same spec always translates the same way.
3. **The line items are what the provider's own estimate gives.** An estimate of the translated
   spec equals the sum of the choices' and the support resources' lines.
4. **Deterministic and offline:** no network, no clock, no randomness.

A translator may also list what it chooses from, :meth:`PortableTranslator.offerings` (one
:class:`Offer` per size, instance type or plan, as offered in a region): the kit's
:func:`atlas.testing.portable.check_translation` then proves rule 2 by brute force over them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.infrastructure import ResourceSpec

__all__ = [
    "REGION_GROUPS",
    "Choice",
    "ListsOfferings",
    "Offer",
    "PortableTranslator",
    "Refusal",
    "Region",
    "Translation",
    "TranslationRequest",
    "monthly_total",
]

#: The region groups a placement may name, and what each means.
REGION_GROUPS: Mapping[str, str] = {
    "eu": "Europe",
    "us": "the United States",
    "ca": "Canada",
    "sa": "South America",
    "asia": "Asia",
    "oceania": "Australia and New Zealand",
    "me": "the Middle East",
    "af": "Africa",
}


@attrs.frozen
class Region:
    """A region a provider can place in: its name (as the provider's specs spell it), its
    group (a key of :data:`REGION_GROUPS`), and the features offered there (``ipv6``,
    ``arm64``, ``gpu``...; free words, listed in the provider's docs)."""

    name: str
    group: str
    features: frozenset[str] = frozenset()
    title: str = ""


@attrs.frozen
class TranslationRequest:
    """What a translator is asked: the portable resources of a spec, for one region.

    ``resources`` are validated portable resources (their ``specifications`` are instances of
    the classes in :mod:`atlas.portable.kinds`), in the spec's order; ``native`` are the
    spec's resources of the provider's own kinds (for a mixed spec), already in its terms.
    ``prices`` is the provider's price lookup for ``region``, plugin price adjustments applied:
    price offerings with it so that the choice and the estimate agree.
    """

    provider: str
    region: Region
    resources: tuple[ResourceSpec, ...]
    prices: PriceLookup
    native: tuple[ResourceSpec, ...] = ()


@attrs.frozen
class Choice:
    """How a provider offers one portable resource.

    ``resources`` are native resource documents (``{"type", "name", "specifications"}``, as
    in a spec), the first one named like the portable resource. ``offering`` names what was
    chosen (a size slug, an instance type); ``reason`` says why in one sentence, minimums and
    price included; ``line_items`` price ``resources`` as the provider's estimate would.
    """

    resource: str
    offering: str
    reason: str
    resources: tuple[Mapping[str, Any], ...]
    line_items: tuple[LineItem, ...]

    @property
    def monthly(self) -> Decimal | None:
        """The month's price of the choice, or ``None`` if a line has no price."""
        return monthly_total(self.line_items)


@attrs.frozen
class Offer:
    """One offering a translator chooses from for a portable kind, as offered in a region.

    ``name`` is what :attr:`Choice.offering` says when it is chosen. ``monthly`` is the price
    of one unit in the region, from the prices it was asked with (one server, one database node, one
    GB of a volume type; ``None`` when unpriced). The rest are what it has, ``None`` where a
    kind does not have it: ``vcpus``, ``memory_gb`` and ``arch`` (``x86_64`` or ``arm64``) for
    servers and database nodes; ``disk_gb``, the boot disk a server size includes (``None``:
    any size, priced apart); ``max_gb``, the largest volume or database storage (``None``: no
    limit); ``engine`` and ``versions`` for databases.
    """

    name: str
    monthly: Decimal | None
    vcpus: int | None = None
    memory_gb: Decimal | None = None
    arch: str | None = None
    disk_gb: int | None = None
    max_gb: int | None = None
    engine: str | None = None
    versions: tuple[str, ...] = ()


@attrs.frozen
class Refusal:
    """A portable resource the provider cannot offer in the region, and why, in words."""

    resource: str
    reason: str


@attrs.frozen
class Translation:
    """A translator's answer: a choice or a refusal for every portable resource asked about,
    and the supporting native resources the choices need."""

    choices: tuple[Choice, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    support: tuple[Mapping[str, Any], ...] = ()
    support_line_items: tuple[LineItem, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every resource got a choice."""
        return not self.refusals


def monthly_total(lines: Sequence[LineItem]) -> Decimal | None:
    """The sum of ``lines``' monthly amounts, or ``None`` if one has no price."""
    total = Decimal(0)
    for line in lines:
        monthly = line.monthly
        if monthly is None:
            return None
        total += monthly.amount
    return total


@runtime_checkable
class PortableTranslator(Protocol):
    """Translates portable resources into one provider's kinds (see the module docstring)."""

    @property
    def provider(self) -> str:
        """The provider's name, as registered."""
        ...

    def regions(self) -> Sequence[Region]:
        """Every region the provider can place in, in the order its docs list them."""
        ...

    def translate(self, request: TranslationRequest) -> Translation:
        """A choice or a refusal for each of ``request.resources`` in ``request.region``."""
        ...


@runtime_checkable
class ListsOfferings(Protocol):
    """A translator that also lists its offerings (optional; see :class:`Offer`)."""

    def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[Offer]:
        """Every offering for portable ``kind`` (``server``, ``volume``...) in ``region``,
        priced with ``prices`` (a :attr:`TranslationRequest.prices`); empty for a kind it does
        not offer there."""
        ...
