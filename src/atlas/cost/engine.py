"""Pricing a validated spec with the kinds and catalogs that plugins registered."""

from __future__ import annotations

from decimal import Decimal

from atlas.cost.billing import Duration
from atlas.cost.estimate import CatalogRef, Estimate, LineItem, ResourceEstimate
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.registry import ProviderRegistry

__all__ = ["estimate_spec"]


def estimate_spec(
    spec: InfrastructureSpec, registry: ProviderRegistry, *, duration: Duration | None = None
) -> Estimate:
    """The cost of every resource of ``spec`` and the totals. Offline; no credentials.

    With ``duration``, every line is also priced for a run that long under its billing rule.
    """
    lookup = registry.price_lookup(spec.provider, region=spec.region).for_run(duration)
    kinds = registry.kinds(spec.provider)
    places = lookup.hourly_places
    breakdown = []
    for res in spec.resources:
        kind = kinds.get(res.type)
        if kind is None or kind.price is None:
            why = f"provider {spec.provider!r} has no price model for {res.type!r}"
            unpriced = LineItem(
                res.type, f"{res.type}:?", Decimal(1), "", None, None, None, why, places
            )
            items: tuple[LineItem, ...] = (unpriced,)
        else:
            items = tuple(kind.price(res.specifications, lookup))
        breakdown.append(ResourceEstimate(res.type, res.name, items, places))
    catalog = lookup.catalog
    refs = (
        (CatalogRef(catalog.provider, catalog.origin, catalog.effective_date),) if catalog else ()
    )
    return Estimate(lookup.currency, tuple(breakdown), refs, places, duration)
