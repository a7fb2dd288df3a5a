"""A brute-force check of a portable translator, for plugin authors' tests.

:func:`check_translation` asks a translator for one translation and asserts the contract's
rules 1 to 3 (:mod:`atlas.portable.contract`): names are kept; the offering chosen for each
portable resource meets every minimum and nothing cheaper in the translator's offerings
(:meth:`~atlas.portable.contract.ListsOfferings.offerings`) meets them all, ties going to the
smaller offering then the name; and the line items are what ``atlas.estimate`` of the
translated spec gives. A failure is an :class:`AssertionError` that says which resource and
why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from atlas.cost.engine import estimate_spec
from atlas.cost.estimate import LineItem
from atlas.model.infrastructure import ResourceSpec
from atlas.portable.contract import (
    Choice,
    ListsOfferings,
    Offer,
    PortableTranslator,
    Translation,
    TranslationRequest,
)
from atlas.portable.kinds import DatabaseNeeds, ServerNeeds, VolumeNeeds
from atlas.providers.registry import ProviderRegistry

__all__ = ["check_translation", "meets"]


def check_translation(
    translator: PortableTranslator,
    request: TranslationRequest,
    *,
    registry: ProviderRegistry | None = None,
) -> Translation:
    """Translate ``request`` and assert rules 1 to 3 of the contract; the translation is
    returned for further checks. Rule 2 is checked when the translator lists its offerings;
    rule 3 prices the translated spec with ``registry`` (default: the installed plugins')."""
    translation = translator.translate(request)
    _names_kept(request, translation)
    if isinstance(translator, ListsOfferings):
        for choice in translation.choices:
            _cheapest(translator, request, choice)
    _estimate_agrees(request, translation, registry)
    return translation


def _names_kept(request: TranslationRequest, translation: Translation) -> None:
    asked = [r.name for r in request.resources]
    answered = [c.resource for c in translation.choices] + [
        r.resource for r in translation.refusals
    ]
    assert sorted(answered) == sorted(asked), (
        f"every portable resource gets one choice or one refusal: asked {asked}, "
        f"answered {answered}"
    )
    names: list[str] = []
    for choice in translation.choices:
        assert choice.resources, f"{choice.resource}: a choice with no native resource"
        first = choice.resources[0].get("name")
        assert first == choice.resource, (
            f"{choice.resource}: the first native resource is called {first!r}; names are kept"
        )
        names.extend(str(doc.get("name")) for doc in choice.resources)
    names.extend(str(doc.get("name")) for doc in translation.support)
    twice = sorted(n for n, k in Counter(names).items() if k > 1)
    assert not twice, f"native resources share a name: {', '.join(twice)}"


def meets(offer: Offer, need: Any) -> list[str]:
    """What ``offer`` lacks of what the portable specification ``need`` asks for (empty when
    it meets every minimum)."""
    if isinstance(need, ServerNeeds):
        return list(_server_gaps(offer, need))
    if isinstance(need, DatabaseNeeds):
        return list(_database_gaps(offer, need))
    if isinstance(need, VolumeNeeds):
        return [f"at most {offer.max_gb} GB"] if _under(offer.max_gb, need.size_gb) else []
    return []


def _server_gaps(offer: Offer, need: ServerNeeds) -> Iterator[str]:
    yield from _compute_gaps(offer, need.vcpus, need.memory_gb)
    if need.arch not in {"any", offer.arch}:
        yield f"arch {offer.arch}, not {need.arch}"
    if need.disk_gb is not None and _under(offer.disk_gb, need.disk_gb):
        yield f"a {offer.disk_gb} GB disk, not {need.disk_gb}"


def _database_gaps(offer: Offer, need: DatabaseNeeds) -> Iterator[str]:
    yield from _compute_gaps(offer, need.vcpus, need.memory_gb)
    if offer.engine != need.engine:
        yield f"engine {offer.engine}, not {need.engine}"
    if need.version not in offer.versions:
        yield f"no version {need.version} (has {', '.join(offer.versions) or 'none'})"
    if _under(offer.max_gb, need.storage_gb):
        yield f"at most {offer.max_gb} GB of storage, not {need.storage_gb}"


def _compute_gaps(offer: Offer, vcpus: int, memory_gb: Decimal) -> Iterator[str]:
    if offer.vcpus is None or offer.vcpus < vcpus:
        yield f"{offer.vcpus} vCPUs, not {vcpus}"
    if offer.memory_gb is None or offer.memory_gb < memory_gb:
        yield f"{offer.memory_gb} GB of memory, not {memory_gb}"


def _under(limit: int | None, wanted: int) -> bool:
    return limit is not None and limit < wanted


def _tie_key(offer: Offer) -> tuple[int, Decimal, str]:
    return offer.vcpus or 0, offer.memory_gb or Decimal(0), offer.name


def _cheapest(translator: ListsOfferings, request: TranslationRequest, choice: Choice) -> None:
    resource = _resource(request, choice.resource)
    offers = translator.offerings(resource.type, request.region, request.prices)
    if not offers:
        return  # a kind chosen by no catalog offering (a network): nothing to compare
    by_name = {o.name: o for o in offers}
    chosen = by_name.get(choice.offering)
    assert chosen is not None, (
        f"{choice.resource}: offering {choice.offering!r} is not among the "
        f"{resource.type} offerings in {request.region.name} ({', '.join(sorted(by_name))})"
    )
    need = resource.specifications
    gaps = meets(chosen, need)
    assert not gaps, f"{choice.resource}: {chosen.name} does not meet the minimums: {gaps}"
    assert chosen.monthly is not None, f"{choice.resource}: {chosen.name} has no price"
    for other in offers:
        if other is chosen or other.monthly is None or meets(other, need):
            continue
        assert other.monthly >= chosen.monthly, (
            f"{choice.resource}: {other.name} meets every minimum for {other.monthly} a month, "
            f"less than {chosen.name} at {chosen.monthly}"
        )
        if other.monthly == chosen.monthly:
            assert _tie_key(chosen) <= _tie_key(other), (
                f"{choice.resource}: {other.name} costs as much as {chosen.name} and is smaller "
                "(or first by name): a tie goes to it"
            )


def _resource(request: TranslationRequest, name: str) -> ResourceSpec:
    return next(r for r in request.resources if r.name == name)


def _estimate_agrees(
    request: TranslationRequest, translation: Translation, registry: ProviderRegistry | None
) -> None:
    from atlas.runtime import default_registry  # noqa: PLC0415 - the installed plugins, if asked
    from atlas.spec.validate import validate_native  # noqa: PLC0415

    registry = registry or default_registry()
    docs = [dict(d) for c in translation.choices for d in c.resources]
    docs.extend(dict(d) for d in translation.support)
    if not docs:
        return
    doc = {
        "name": "check",
        "provider": request.provider,
        "region": request.region.name,
        "resources": [*docs, *(_native(r) for r in request.native)],
    }
    spec = validate_native(doc, registry=registry, purpose="estimate")
    estimate = estimate_spec(spec, registry)
    translated = {str(d["name"]) for d in docs}
    estimated = [
        li for r in estimate.breakdown if r.resource_name in translated for li in r.line_items
    ]
    given = [li for c in translation.choices for li in c.line_items]
    given.extend(translation.support_line_items)
    assert _lines(given) == _lines(estimated), (
        "the line items are not what the provider's estimate of the translated spec gives:\n"
        f"  translation: {_lines(given)}\n  estimate:    {_lines(estimated)}"
    )


def _native(resource: ResourceSpec) -> dict[str, Any]:
    from atlas.spec.dump import dump_resource  # noqa: PLC0415

    return dump_resource(resource)


def _lines(items: Sequence[LineItem]) -> Counter[tuple[str, str, Decimal, str | None]]:
    return Counter(
        (li.description, li.sku, li.quantity, str(li.monthly) if li.monthly else None)
        for li in items
    )
