"""The cost engine: Money, sourced price catalogs and estimates."""

from __future__ import annotations

from atlas.cost.billing import BillingRule, Duration, parse_duration
from atlas.cost.catalog import Price, PriceCatalog, Rate, Source
from atlas.cost.estimate import CatalogRef, Estimate, LineItem, PriceLookup, ResourceEstimate
from atlas.cost.money import Money

__all__ = [
    "BillingRule",
    "CatalogRef",
    "Duration",
    "Estimate",
    "LineItem",
    "Money",
    "Price",
    "PriceCatalog",
    "PriceLookup",
    "Rate",
    "ResourceEstimate",
    "Source",
    "parse_duration",
]
