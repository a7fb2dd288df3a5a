"""What the DigitalOcean and AWS translator tests share: a portable spec as a translation
request, the concrete spec a translation gives, and the brute-force check of a choice against
every offering."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import atlas
from atlas.portable.contract import (
    Choice,
    Offer,
    PortableTranslator,
    Region,
    Translation,
    TranslationRequest,
)
from atlas.portable.kinds import PORTABLE_INFO, PORTABLE_KINDS
from atlas.providers.registry import ProviderRegistry
from atlas.spec.validate import validate_spec

PORTABLE = ProviderRegistry({"any": PORTABLE_INFO}, {"any": PORTABLE_KINDS}, {})


def portable(*resources: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": "shop", "provider": "any", "region": "any", "resources": list(resources)}


#: The issue's acceptance stack: two servers of at least 2 vCPUs and 4 GB, a 100 GB volume, a
#: PostgreSQL 15 database of at least 1 vCPU and 2 GB, a load balancer in front of the servers.
ACCEPTANCE = portable(
    {"type": "server", "name": "web", "specifications": {"vcpus": 2, "memory_gb": 4, "count": 2}},
    {"type": "volume", "name": "data", "specifications": {"size_gb": 100}},
    {
        "type": "database",
        "name": "db",
        "specifications": {"engine": "postgres", "version": 15, "vcpus": 1, "memory_gb": 2},
    },
    {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["web"]}},
)


def region_of(translator: PortableTranslator, name: str) -> Region:
    return next(r for r in translator.regions() if r.name == name)


def request(
    translator: PortableTranslator, region: str, doc: Mapping[str, Any]
) -> TranslationRequest:
    spec = validate_spec(doc, registry=PORTABLE)
    prices = atlas.default_registry().price_lookup(translator.provider, region=region)
    return TranslationRequest(
        translator.provider, region_of(translator, region), spec.resources, prices
    )


def translate(translator: PortableTranslator, region: str, doc: Mapping[str, Any]) -> Translation:
    return translator.translate(request(translator, region, doc))


def concrete(provider: str, region: str, translation: Translation) -> dict[str, Any]:
    """The native spec a complete translation stands for."""
    assert translation.complete, translation.refusals
    resources = [dict(doc) for choice in translation.choices for doc in choice.resources]
    resources += [dict(doc) for doc in translation.support]
    return {"name": "shop", "provider": provider, "region": region, "resources": resources}


def check_against_estimate(provider: str, region: str, translation: Translation) -> None:
    """The translated spec validates for create, and its estimate has exactly the lines of
    the choices and of the support resources, resource by resource."""
    registry = atlas.default_registry()
    spec = validate_spec(
        concrete(provider, region, translation), registry=registry, purpose="create"
    )
    estimate = atlas.estimate(spec, registry=registry)
    lines = [line for res in estimate.breakdown for line in res.line_items]
    mine = [line for c in translation.choices for line in c.line_items]
    mine += list(translation.support_line_items)
    assert lines == mine


def random_server(rng: random.Random) -> dict[str, Any]:
    return {
        "vcpus": rng.choice([1, 1, 2, 2, 3, 4, 6, 8, 12, 16, 32, 64, 96, 128]),
        "memory_gb": rng.choice(["0.5", "1", "1.5", "2", "3", "4", "6", "8", "16", "32", "64"]),
        "arch": rng.choice(["x86_64", "x86_64", "arm64", "any"]),
    }


def fits_server(offer: Offer, needs: Mapping[str, Any]) -> bool:
    arch = needs.get("arch", "x86_64")
    disk = needs.get("disk_gb")
    return (
        (offer.vcpus or 0) >= needs["vcpus"]
        and (offer.memory_gb or 0) >= Decimal(str(needs["memory_gb"]))
        and arch in ("any", offer.arch)
        and (disk is None or offer.disk_gb is None or offer.disk_gb >= disk)
    )


def check_choice(choice: Choice, offers: Sequence[Offer], fits: Any) -> Offer:
    """The chosen offering fits, and no offering that fits is cheaper, or as cheap and
    smaller, or as cheap, as small and first in alphabetical order."""
    # An offering may be listed once per engine (an RDS class): the one that fits is meant.
    named = [o for o in offers if o.name == choice.offering]
    assert named, (choice.offering, choice.reason)
    chosen = next((o for o in named if fits(o)), None)
    assert chosen is not None, (choice.offering, choice.reason)

    def key(o: Offer) -> tuple[Any, ...]:
        return (o.monthly, o.vcpus or 0, o.memory_gb or 0, o.name)

    better = [o.name for o in offers if fits(o) and key(o) < key(chosen)]
    assert not better, (choice.offering, better)
    return chosen
