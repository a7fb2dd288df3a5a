"""A toy provider plugin for tests: one kind whose nodes may refer to each other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import attrs

from atlas import Money, Price, PriceCatalog, ProviderInfo, ResourceKind, hookimpl, spec_field
from atlas.cost import PriceLookup
from atlas.cost.catalog import Source
from atlas.cost.estimate import LineItem


@attrs.frozen
class NodeSpec:
    size: str = spec_field(doc="Size.")
    peers: tuple[str, ...] = spec_field(factory=tuple, ref="node", doc="Other nodes.")


def price(spec: NodeSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line(f"Node {spec.size}", f"node:{spec.size}")]


CATALOG = PriceCatalog(
    provider="toy",
    currency="USD",
    effective_date=dt.date(2026, 1, 1),
    hours_per_month=730,
    sources={"list": Source("list", "Toy list prices", "https://toy.example/prices")},
    prices={
        "node:small": Price("node:small", Money("7.30"), Money("0.01"), "node", "list"),
    },
)


class ToyPlugin:
    """Registers provider "toy" with kind "node"."""

    @hookimpl
    def atlas_add_providers(self) -> Sequence[ProviderInfo]:
        return [ProviderInfo(name="toy", title="Toy Cloud", package="atlas-toy")]

    @hookimpl
    def atlas_add_resource_kinds(self) -> Sequence[ResourceKind]:
        return [ResourceKind("toy", "node", NodeSpec, "A node.", price=price)]

    @hookimpl
    def atlas_add_price_catalogs(self) -> Sequence[PriceCatalog]:
        return [CATALOG]


class HalfPrice:
    """A negotiated rate: everything at half the list price."""

    @hookimpl
    def atlas_adjust_price(self, provider: str, sku: str, price: Price) -> Price | None:
        del sku
        if provider != "toy":
            return None
        return attrs.evolve(
            price, monthly=price.monthly / Decimal(2), hourly=price.hourly / Decimal(2)
        )
