"""A provider billed in euros, for tests that follow a currency from the price to every record,
event and response: one kind, ``box``, whose objects live in a dict.

Crash safety is not what these tests are about, so the live side is the least a provider can
be: a create that adopts by name when asked to recover, deletes that count what is gone as
deleted, discovery by the owner's uid.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from atlas import Money, Price, PriceCatalog, ProviderInfo, ResourceKind, hookimpl, spec_field
from atlas.cost import PriceLookup
from atlas.cost.catalog import Source
from atlas.cost.estimate import LineItem
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.plugins import get_plugin_manager
from atlas.providers import OnCreated, Provider, ProviderRegistry, StepContext

NAME = "euro"


@attrs.frozen
class BoxSpec:
    size: str = spec_field(doc="Size: small or large.")


def price(spec: BoxSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line(f"Box {spec.size}", f"box:{spec.size}")]


def _eur(text: str) -> Money:
    return Money(text, "EUR")


CATALOG = PriceCatalog(
    provider=NAME,
    currency="EUR",
    effective_date=dt.date(2026, 1, 1),
    hours_per_month=730,
    sources={"list": Source("list", "Euro Cloud list prices", "https://euro.example/prices")},
    prices={
        "box:small": Price("box:small", _eur("4.51"), _eur("0.00618"), "box", "list"),
        "box:large": Price("box:large", _eur("17.85"), _eur("0.02445"), "box", "list"),
    },
)


class EuroCloud(Provider):
    """The cloud and its provider in one: ``objects`` is everything that exists."""

    name = NAME

    def __init__(self) -> None:
        self.objects: dict[str, CloudObject] = {}
        self._ids = itertools.count(1)

    def _mine(self, owner: Owner, resource: str) -> tuple[CloudObject, ...]:
        return tuple(
            o
            for o in self.objects.values()
            if o.attributes["owner"] == owner.uid and o.attributes["resource"] == resource
        )

    def _now(self, state: ResourceState) -> ResourceState:
        objects = tuple(self.objects[o.id] for o in state.objects if o.id in self.objects)
        return attrs.evolve(state, objects=objects)

    async def create(
        self, ctx: StepContext, *, on_created: OnCreated | None = None, recover: bool = False
    ) -> ResourceState:
        found = self._mine(ctx.owner, ctx.name) if recover else ()
        if not found:
            attributes: Mapping[str, Any] = {
                "owner": ctx.owner.uid,
                "resource": ctx.name,
                "size": ctx.resource.specifications.size,
            }
            name = f"{ctx.owner.infrastructure}-{ctx.name}"
            made = CloudObject(str(next(self._ids)), name, "active", attributes)
            self.objects[made.id] = made
            found = (made,)
        if on_created is not None:
            await on_created(ctx.name, found)
        return ResourceState(ctx.resource.type, ctx.name, found)

    async def wait(
        self, owner: Owner, states: Sequence[ResourceState], *, timeout: float
    ) -> list[ResourceState]:
        return [self._now(s) for s in states]

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        now = self._now(state)
        return now if now.objects else None

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        for o in self._now(state).objects:
            size = ctx.resource.specifications.size
            self.objects[o.id] = attrs.evolve(o, attributes={**o.attributes, "size": size})
        return self._now(state)

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        for o in state.objects:
            self.objects.pop(o.id, None)

    async def discover(self, owner: Owner) -> list[ResourceState]:
        names = {o.attributes["resource"] for o in self.objects.values()}
        found = [ResourceState("box", n, self._mine(owner, n)) for n in sorted(names)]
        return [s for s in found if s.objects]


class EuroPlugin:
    """Registers provider "euro", billed in EUR, with kind "box"."""

    @hookimpl
    def atlas_add_providers(self) -> Sequence[ProviderInfo]:
        return [
            ProviderInfo(
                name=NAME,
                title="Euro Cloud",
                package="atlas-euro",
                factory=lambda _config: EuroCloud(),
                currency="EUR",
            )
        ]

    @hookimpl
    def atlas_add_resource_kinds(self) -> Sequence[ResourceKind]:
        return [ResourceKind(NAME, "box", BoxSpec, "A box.", price=price)]

    @hookimpl
    def atlas_add_price_catalogs(self) -> Sequence[PriceCatalog]:
        return [CATALOG]


def euro_registry() -> ProviderRegistry:
    """A registry of the euro provider alone."""
    return ProviderRegistry.from_plugin_manager(
        get_plugin_manager(plugins=[EuroPlugin()], autoload=False)
    )


def euro_spec(**sizes: str) -> dict[str, Any]:
    """A spec of one box per name, e.g. ``euro_spec(web="small")``."""
    return {
        "name": "shop",
        "provider": NAME,
        "region": "eu-west",
        "resources": [
            {"type": "box", "name": n, "specifications": {"size": s}} for n, s in sizes.items()
        ],
    }
