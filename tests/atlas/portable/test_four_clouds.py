"""Issue 16's acceptance, on the four installed translators and their shipped catalogs: the
acceptance stack is placed in at least two regions of each cloud, and in every region it is
placed in, each chosen server and database offering meets every minimum and no offering of
that region's catalog that meets them is cheaper (by brute force over the offerings)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import atlas
from atlas.portable.contract import Offer, PortableTranslator, Translation
from tests.portable_translation import ACCEPTANCE, check_choice, fits_server, request

CLOUDS = ("digitalocean", "aws", "gcp", "azure")
EXAMPLE = Path(__file__).parents[3] / "examples" / "portable-shop.yaml"


def _translator(provider: str) -> PortableTranslator:
    found = atlas.default_registry().portable_translator(provider)
    assert found is not None, f"{provider} has no portable translator installed"
    return found


def _needs(kind: str) -> dict[str, Any]:
    return next(dict(r["specifications"]) for r in ACCEPTANCE["resources"] if r["type"] == kind)


def _fits_database(offer: Offer) -> bool:
    needs = _needs("database")
    engines = getattr(offer, "engines", None)  # a translator's richer offer lists engine:version
    if engines is not None:
        engine_ok = f"{needs['engine']}:{needs['version']}" in engines
    else:
        engine_ok = offer.engine == needs["engine"] and (
            not offer.versions or str(needs["version"]) in offer.versions
        )
    return (
        engine_ok
        and (offer.vcpus or 0) >= needs["vcpus"]
        and (offer.memory_gb or 0) >= Decimal(str(needs["memory_gb"]))
    )


def _placed(provider: str) -> dict[str, Translation]:
    translator = _translator(provider)
    out = {}
    for region in translator.regions():
        translation = translator.translate(request(translator, region.name, ACCEPTANCE))
        priced = all(c.monthly is not None for c in translation.choices) and all(
            li.monthly is not None for li in translation.support_line_items
        )
        if translation.complete and priced:  # what --compare lists: every line priced
            out[region.name] = translation
    return out


@pytest.mark.parametrize("provider", CLOUDS)
def test_the_acceptance_stack_is_placed_in_two_regions_or_more(provider: str) -> None:
    placed = _placed(provider)
    assert len(placed) >= 2, (provider, sorted(placed))


@pytest.mark.parametrize("provider", CLOUDS)
def test_every_choice_is_the_cheapest_that_meets_the_minimums(provider: str) -> None:
    translator = _translator(provider)
    regions = {r.name: r for r in translator.regions()}
    server = _needs("server")
    for name, translation in _placed(provider).items():
        prices = request(translator, name, ACCEPTANCE).prices
        choices = {c.resource: c for c in translation.choices}
        servers = translator.offerings("server", regions[name], prices)  # type: ignore[attr-defined]
        check_choice(choices["web"], servers, lambda o: fits_server(o, server))
        databases = translator.offerings("database", regions[name], prices)  # type: ignore[attr-defined]
        check_choice(choices["db"], databases, _fits_database)


def test_the_compare_table_lists_every_cloud_in_two_regions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The worked example of docs/portable.md, as an agent reads it (``--json``)."""
    from atlas.cli import main

    code = main(["estimate", str(EXAMPLE), "--compare", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    regions: dict[str, set[str]] = {}
    for row in report["candidates"]:
        regions.setdefault(row["provider"], set()).add(row["region"])
    for provider in CLOUDS:
        assert len(regions.get(provider, ())) >= 2, (provider, regions.get(provider))
