"""The kit's brute-force checker passes a translator that keeps the contract, and names what a
translator that breaks it got wrong."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from atlas.exceptions import SpecValidationError
from atlas.plugins import hookimpl
from atlas.portable import Choice, Translation, TranslationRequest
from atlas.portable.resolve import PORTABLE_REGISTRY
from atlas.spec.validate import validate_spec
from atlas.testing.portable import check_translation
from tests.atlas.portable.test_resolve import server, spec, stack
from tests.atlas.portable.toy import ALPHA, BETA, Cloud, ToyTranslator, toy_registry

REGISTRY = toy_registry()


def request(cloud: Cloud, region: str, *resources: dict[str, Any]) -> TranslationRequest:
    doc = {**spec(*resources), "region": "any"}
    portable = validate_spec(doc, registry=PORTABLE_REGISTRY, purpose="estimate").resources
    where = next(r for r in cloud.regions if r.name == region)
    prices = REGISTRY.price_lookup(cloud.name, region=region)
    return TranslationRequest(cloud.name, where, portable, prices)


NEEDS = [
    server("tiny", 1, 1),
    server("two", 2, 4),
    server("three", 3, 4),  # large and twin tie: large, by name
    server("arm", 2, 4, arch="arm64"),
    server("either", 2, 4, arch="any"),
    *stack(),
]


@pytest.mark.parametrize(("cloud", "region"), [(ALPHA, "a-us1"), (ALPHA, "a-eu2"), (BETA, "b-us")])
def test_the_toy_translator_keeps_the_contract(cloud: Cloud, region: str) -> None:
    needs = [n for n in NEEDS if n["name"] != "arm" or region != "a-eu2"]
    translation = check_translation(
        ToyTranslator(cloud), request(cloud, region, *needs), registry=REGISTRY
    )
    offered = {c.resource: c.offering for c in translation.choices}
    assert offered["three"] == "large"
    assert offered["either"] == ("arm-medium" if region != "a-eu2" else "medium")


class Dearer(ToyTranslator):
    """Chooses the size above the cheapest that fits."""

    def translate(self, request: TranslationRequest) -> Translation:
        out = super().translate(request)
        choices = [
            attrs.evolve(c, offering="large") if c.offering == "medium" else c for c in out.choices
        ]
        return attrs.evolve(out, choices=tuple(choices))


class Renamed(ToyTranslator):
    def translate(self, request: TranslationRequest) -> Translation:
        out = super().translate(request)
        first = out.choices[0]
        doc = {**first.resources[0], "name": "other"}
        return attrs.evolve(out, choices=(attrs.evolve(first, resources=(doc,)), *out.choices[1:]))


class Mispriced(ToyTranslator):
    def translate(self, request: TranslationRequest) -> Translation:
        out = super().translate(request)
        first = out.choices[0]
        cheap = Choice(first.resource, first.offering, first.reason, first.resources, ())
        return attrs.evolve(out, choices=(cheap, *out.choices[1:]))


@pytest.mark.parametrize(
    ("translator", "words"),
    [
        (Dearer(ALPHA), "medium meets every minimum for 20"),
        (Renamed(ALPHA), "the first native resource is called 'other'"),
        (Mispriced(ALPHA), "the line items are not what the provider's estimate"),
    ],
)
def test_a_broken_translator_is_caught(translator: ToyTranslator, words: str) -> None:
    with pytest.raises(AssertionError, match=words):
        check_translation(translator, request(ALPHA, "a-eu1", server("web")), registry=REGISTRY)


class BadSize(ToyTranslator):
    def translate(self, request: TranslationRequest) -> Translation:
        out = super().translate(request)
        doc = out.choices[0].resources[0]
        broken = {**doc, "specifications": {**doc["specifications"], "size": "jumbo"}}
        first = attrs.evolve(out.choices[0], resources=(broken,))
        return attrs.evolve(out, choices=(first, *out.choices[1:]))


def test_a_translated_resource_problem_is_reported_where_the_portable_one_stands() -> None:
    class Plugin:
        @hookimpl(tryfirst=True)
        def atlas_portable_translator(self, provider: str) -> Any:
            return BadSize(ALPHA) if provider == "alpha" else None

    registry = toy_registry(Plugin())
    doc = {
        "name": "m",
        "provider": "alpha",
        "region": "a-eu1",
        "resources": [
            {"type": "disk", "name": "scratch", "specifications": {"size_gb": 5}},
            server("web"),
        ],
    }
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(doc, registry=registry)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("resources[1]", "translated to alpha vm 'web' at specifications.size: no size 'jumbo'")
    ]
