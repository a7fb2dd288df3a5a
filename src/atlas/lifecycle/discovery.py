"""What exists at a provider that no atlas infrastructure owns, priced, and written as a spec.

:meth:`atlas.AsyncAtlas.discover` lists it; :meth:`Discovery.to_spec` writes a spec in which
every resource carries ``import:`` (its provider ids), so that applying it adopts what exists
and creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from atlas.cost.engine import estimate_spec
from atlas.cost.money import Money
from atlas.exceptions import SpecError
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.contract import FoundResource
from atlas.providers.registry import ProviderRegistry
from atlas.spec.converter import make_converter

__all__ = ["DiscoveredResource", "Discovery", "discovery"]

_converter = make_converter()


@attrs.frozen
class DiscoveredResource:
    """One resource found outside atlas, with what it costs a month (``None``: unknown,
    ``unpriced`` says why)."""

    found: FoundResource
    monthly: Money | None
    unpriced: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        f = self.found
        return {
            "type": f.type,
            "name": f.name,
            "region": f.region,
            "ids": list(f.ids),
            "specifications": dict(f.specifications),
            "monthly_cost": None if self.monthly is None else float(self.monthly.rounded().amount),
            "unpriced": list(self.unpriced),
        }


@attrs.frozen
class Discovery:
    """Every resource of an importable kind in ``provider``'s account (in ``region``, when
    given) that no infrastructure in the store owns."""

    provider: str
    region: str | None
    resources: tuple[DiscoveredResource, ...]
    currency: str

    @property
    def monthly(self) -> Money:
        """What the resources found cost a month in all (those with a known price)."""
        return Money.total((r.monthly for r in self.resources if r.monthly), self.currency)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({r.found.region for r in self.resources if r.found.region}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "region": self.region,
            "resources": [r.to_dict() for r in self.resources],
            "count": len(self.resources),
            "monthly_cost": float(self.monthly.rounded().amount),
            "currency": self.currency,
        }

    def to_spec(self, name: str, region: str | None = None) -> dict[str, Any]:
        """A spec document adopting every resource found (each with ``import:``).

        :param region: the spec's region; by default the one region the resources are in
            (found in several, :class:`~atlas.exceptions.SpecError` asks for one).
        """
        region = region or self.region
        if region is None:
            regions = self.regions
            if len(regions) > 1:
                raise SpecError(
                    f"the resources found are in several regions ({', '.join(regions)}); a "
                    "spec has one: pass a region (--region) to write the spec for"
                )
            if not regions:
                raise SpecError("nothing was found to write a spec for")
            region = regions[0]
        chosen = [r.found for r in self.resources if r.found.region in ("", region)]
        if not chosen:
            raise SpecError(f"nothing was found in region {region!r} to write a spec for")
        return {
            "name": name,
            "provider": self.provider,
            "region": region,
            "resources": [
                _resource_doc(f, n) for f, n in zip(chosen, _unique(chosen), strict=True)
            ],
            "tags": {},
        }


def discovery(
    provider: str,
    region: str | None,
    found: Iterable[FoundResource],
    owned: Mapping[str, object],
    registry: ProviderRegistry,
) -> Discovery:
    """``found`` less what an infrastructure owns (its ids recorded in ``owned``, or its
    objects carrying atlas's marks), each priced through the provider's kinds."""
    free = [
        f
        for f in found
        if f.managed_by is None
        and not any(i in owned for i in f.ids)
        and (region is None or f.region == region)
    ]
    currency = registry.get(provider).currency
    priced = tuple(_priced(f, provider, registry, currency) for f in free)
    return Discovery(provider, region, priced, currency)


def _priced(
    found: FoundResource, provider: str, registry: ProviderRegistry, currency: str
) -> DiscoveredResource:
    kind = registry.kinds(provider).get(found.type)
    if kind is None:
        return DiscoveredResource(found, None, (f"{provider} has no kind {found.type!r}",))
    try:
        specs = _converter.structure(dict(found.specifications), kind.spec_class)
    except Exception as exc:  # what was read back does not make a whole specification
        why = f"its specifications as read back are incomplete ({type(exc).__name__})"
        return DiscoveredResource(found, None, (why,))
    spec = InfrastructureSpec(
        name="discovered",
        provider=provider,
        region=found.region,
        resources=(ResourceSpec(found.type, found.name, specs),),
    )
    [line] = estimate_spec(spec, registry).breakdown
    del currency  # the estimate is in the provider's currency already
    return DiscoveredResource(found, line.monthly, tuple(line.unpriced))


def _resource_doc(found: FoundResource, name: str) -> dict[str, Any]:
    ids = found.ids
    doc: dict[str, Any] = {
        "type": found.type,
        "name": name,
        "specifications": dict(found.specifications),
    }
    doc["import"] = ids[0] if len(ids) == 1 else list(ids)
    return doc


def _unique(found: Sequence[FoundResource]) -> list[str]:
    """Spec names for ``found``: their own, or with the type added where two share one."""
    counts: dict[str, int] = {}
    for f in found:
        counts[f.name] = counts.get(f.name, 0) + 1
    names = []
    taken: set[str] = set()
    for f in found:
        name = f.name if counts[f.name] == 1 else f"{f.name}-{f.type.replace('_', '-')}"
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        names.append(name)
    return names
