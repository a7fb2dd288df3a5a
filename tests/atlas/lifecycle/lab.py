"""Provider "lab", for the planner's tests: kinds that exercise every rule the planner reads
from a kind.

``net.cidr`` and ``box.image``/``zone`` cannot change in place (``replace_on``); references that
cannot change either (``box.network``, ``addr.boxes``) and that can (``vol.box``, ``box.peers``);
a volume grows but never shrinks (``replace_if``) and keeps the tags it was made with
(``retaggable=False``); an address is not tagged at all (``taggable=False``); ``box.mount`` is a
nested specification; a note has no price model. Prices are round: see ``CATALOG``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from atlas import Money, Price, PriceCatalog, ProviderInfo, ResourceKind, hookimpl
from atlas.cost import PriceLookup
from atlas.cost.catalog import Source
from atlas.cost.estimate import LineItem
from atlas.model import spec_field
from atlas.plugins import get_plugin_manager
from atlas.providers.registry import ProviderRegistry

__all__ = ["CATALOG", "KINDS", "REGISTRY", "LabPlugin"]


@attrs.frozen
class NetSpec:
    cidr: str = spec_field(doc="Address range; fixed at creation.")
    label: str = spec_field(default="", doc="A label, changeable.")


@attrs.frozen
class Mount:
    path: str = spec_field(doc="Where.")
    mode: str = spec_field(default="rw", doc="How.")


@attrs.frozen
class BoxSpec:
    size: str = spec_field(doc="Size, changeable in place.")
    image: str = spec_field(default="base", doc="Image; fixed at creation.")
    zone: str = spec_field(default="z1", doc="Zone; fixed at creation.")
    network: str | None = spec_field(default=None, ref="net", doc="Fixed at creation.")
    peers: tuple[str, ...] = spec_field(factory=tuple, ref="box", doc="Changeable.")
    mount: Mount | None = spec_field(default=None, doc="A nested specification.")


@attrs.frozen
class VolSpec:
    gib: int = spec_field(doc="Size; grows in place, never shrinks.")
    encrypted: bool = spec_field(default=False, doc="Fixed at creation.")
    box: str | None = spec_field(default=None, ref="box", doc="Attachment, changeable.")


@attrs.frozen
class AddrSpec:
    boxes: tuple[str, ...] = spec_field(ref="box", doc="The boxes it is bound to; fixed.")


@attrs.frozen
class NoteSpec:
    text: str = spec_field(doc="A kind with no price model.")


def _line(description: str, sku: str, quantity: int = 1) -> Any:
    def price(spec: Any, lookup: PriceLookup) -> Sequence[LineItem]:
        del spec
        return [lookup.line(description, sku, quantity)]

    return price


def _box_price(spec: BoxSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line(f"Box {spec.size}", f"box:{spec.size}")]


def _vol_price(spec: VolSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line("Volume", "vol:gib", spec.gib)]


def _no_shrink(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    if new["gib"] < old["gib"]:
        return f"a volume cannot shrink (from {old['gib']} to {new['gib']} GiB)"
    return None


def _price(sku: str, monthly: str) -> Price:
    return Price(sku, Money(monthly), Money(Decimal(monthly) / 730), "unit", "list")


CATALOG = PriceCatalog(
    provider="lab",
    currency="USD",
    effective_date=dt.date(2026, 1, 1),
    hours_per_month=730,
    sources={"list": Source("list", "Lab list prices", "https://lab.example/prices")},
    prices={
        p.sku: p
        for p in (
            _price("net", "1.00"),
            _price("box:small", "10.00"),
            _price("box:large", "20.00"),
            _price("vol:gib", "0.125"),
            _price("addr", "4.00"),
        )
    },
)


class LabPlugin:
    """Registers provider "lab": kinds net, box, vol, addr and note, and their prices."""

    @hookimpl
    def atlas_add_providers(self) -> Sequence[ProviderInfo]:
        return [ProviderInfo(name="lab", title="Lab", package="atlas-lab")]

    @hookimpl
    def atlas_add_resource_kinds(self) -> Sequence[ResourceKind]:
        return [
            ResourceKind(
                "lab",
                "net",
                NetSpec,
                "A network.",
                _line("Net", "net"),
                replace_on=frozenset({"cidr"}),
            ),
            ResourceKind(
                "lab",
                "box",
                BoxSpec,
                "A server.",
                _box_price,
                replace_on=frozenset({"image", "network", "zone"}),
            ),
            ResourceKind(
                "lab",
                "vol",
                VolSpec,
                "A disk.",
                _vol_price,
                replace_on=frozenset({"encrypted"}),
                replace_if=_no_shrink,
                retaggable=False,
                stateful=True,
            ),
            ResourceKind(
                "lab",
                "addr",
                AddrSpec,
                "An address.",
                _line("Addr", "addr"),
                replace_on=frozenset({"boxes"}),
                taggable=False,
            ),
            ResourceKind("lab", "note", NoteSpec, "A note."),
        ]

    @hookimpl
    def atlas_add_price_catalogs(self) -> Sequence[PriceCatalog]:
        return [CATALOG]


REGISTRY = ProviderRegistry.from_plugin_manager(
    get_plugin_manager(plugins=[LabPlugin()], autoload=False)
)
KINDS = REGISTRY.kinds("lab")
