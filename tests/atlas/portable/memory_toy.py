"""A portable translator for the memory provider, so that ``provider: any`` specs can be
planned and applied end to end (the memory provider has a live side; the toy clouds of
:mod:`tests.atlas.portable.toy` do not).

``server`` becomes a memory ``server`` of the cheapest size *offered in the region* that
meets the minimums; ``volume`` becomes a ``disk``. What each region offers is a mutable
table (:attr:`MemoryTranslator.offered`), so a test can make another region cheaper later,
as a cloud's offerings change. Prices are the memory catalog's (made up).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from atlas.plugins import get_plugin_manager, hookimpl
from atlas.portable import (
    Choice,
    PortableTranslator,
    Refusal,
    Region,
    Translation,
    TranslationRequest,
)
from atlas.portable.kinds import ServerNeeds, VolumeNeeds
from atlas.providers.registry import ProviderRegistry
from atlas.testing.memory import plugin as memory_plugin
from atlas.testing.memory.kinds import DiskSpec, ServerSpec, price_disk, price_server

#: Memory server sizes: name -> (vCPUs, memory GB).
SIZES = {"small": (1, Decimal(2)), "medium": (2, Decimal(4)), "large": (4, Decimal(8))}
REGIONS = (Region("mem-1", "eu", frozenset({"ipv6"})), Region("mem-2", "eu", frozenset({"ipv6"})))


class MemoryTranslator:
    provider = "memory"

    def __init__(self, offered: dict[str, tuple[str, ...]] | None = None) -> None:
        #: The server sizes each region offers.
        self.offered = offered or {"mem-1": ("medium", "large"), "mem-2": tuple(SIZES)}

    def regions(self) -> Sequence[Region]:
        return REGIONS

    def translate(self, request: TranslationRequest) -> Translation:
        choices: list[Choice] = []
        refusals: list[Refusal] = []
        for res in request.resources:
            if res.type == "server":
                answer = self._server(res.name, res.specifications, request)
            elif res.type == "volume":
                vol: VolumeNeeds = res.specifications
                disk = DiskSpec(size_gb=vol.size_gb, attach_to=vol.attach_to)
                doc = _doc("disk", res.name, size_gb=vol.size_gb, attach_to=vol.attach_to)
                lines = tuple(price_disk(disk, request.prices))
                answer = Choice(res.name, "disk", "Disks by the GB.", (doc,), lines)
            else:
                answer = Refusal(res.name, f"the memory cloud has no {res.type}")
            (choices if isinstance(answer, Choice) else refusals).append(answer)
        return Translation(tuple(choices), tuple(refusals))

    def _server(
        self, name: str, need: ServerNeeds, request: TranslationRequest
    ) -> Choice | Refusal:
        if need.arch == "arm64":
            return Refusal(name, "the memory cloud has no arm64 servers")
        fits = [
            s
            for s in self.offered.get(request.region.name, ())
            if SIZES[s][0] >= need.vcpus and SIZES[s][1] >= need.memory_gb
        ]
        priced = []
        for size in fits:
            lines = tuple(
                price_server(
                    ServerSpec(size=size, image=need.image, count=need.count), request.prices
                )
            )
            total = sum((li.monthly.amount for li in lines if li.monthly is not None), Decimal(0))
            priced.append((total, size, lines))
        if not priced:
            return Refusal(
                name,
                f"no size offered in {request.region.name} has {need.vcpus} vCPUs and "
                f"{need.memory_gb} GB",
            )
        _total, size, lines = min(priced)
        doc = _doc("server", name, size=size, image=need.image, count=need.count)
        why = f"{size} is the cheapest size offered here with at least {need.vcpus} vCPUs"
        return Choice(name, size, why, (doc,), lines)


def _doc(kind: str, name: str, **specs: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "specifications": {k: v for k, v in specs.items() if v is not None},
    }


class MemoryTranslatorPlugin:
    def __init__(self, translator: MemoryTranslator) -> None:
        self.translator = translator

    @hookimpl
    def atlas_portable_translator(self, provider: str) -> PortableTranslator | None:
        return self.translator if provider == "memory" else None


def memory_registry(translator: MemoryTranslator, *extra: object) -> ProviderRegistry:
    """The memory provider with ``translator``, and ``extra`` plugins (toy clouds)."""
    plugins = [memory_plugin, MemoryTranslatorPlugin(translator), *extra]
    return ProviderRegistry.from_plugin_manager(get_plugin_manager(plugins=plugins, autoload=False))
