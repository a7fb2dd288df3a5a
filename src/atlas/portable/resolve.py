"""Placing a portable spec: compare every allowed provider and region, pick the cheapest.

:func:`compare` validates the portable resources and the ``placement`` constraints, asks every
installed provider that has a translator (:mod:`atlas.portable.contract`) to translate the
whole spec once per allowed region, and sorts the complete answers, cheapest first, with the
reason each other one was left out. :func:`resolve` turns a portable spec into the concrete
spec of one provider and region, with the :class:`PlacementDecision` that says why.

Candidates are ordered by, in turn (so that a placement is deterministic and explainable):

1. the monthly total, ascending;
2. the provider's position in ``placement.providers`` when given, else nothing (all equal);
3. the provider's name, alphabetically;
4. the position of the first entry of ``placement.regions`` that admits the region (its
   name, ``provider/name`` or its group) when given, else nothing;
5. the region's position in the provider's own list (:meth:`PortableTranslator.regions`).

Nothing is cached across calls: each translates afresh against the registry's prices.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from atlas.cost.estimate import LineItem
from atlas.exceptions import Problem, ProviderNotFoundError, SpecValidationError
from atlas.model.infrastructure import ResourceSpec
from atlas.portable.contract import (
    REGION_GROUPS,
    Choice,
    PortableTranslator,
    Region,
    Translation,
    TranslationRequest,
    monthly_total,
)
from atlas.portable.kinds import ANY, PORTABLE_INFO, PORTABLE_KINDS, PORTABLE_TYPES
from atlas.portable.placement import Placement, parse_placement
from atlas.providers.declarations import Purpose
from atlas.providers.registry import ProviderRegistry, not_live_message
from atlas.spec.load import load_document

if TYPE_CHECKING:
    from atlas.model.infrastructure import InfrastructureSpec

__all__ = [
    "PORTABLE_REGISTRY",
    "REPLACE_HINT",
    "Candidate",
    "Comparison",
    "Excluded",
    "PlacementDecision",
    "Resolved",
    "RunnerUp",
    "compare",
    "concrete_problems",
    "decide",
    "is_portable",
    "resolve",
    "resolve_document",
]

#: Validates the portable resources of a spec (and nothing else).
PORTABLE_REGISTRY = ProviderRegistry({ANY: PORTABLE_INFO}, {ANY: PORTABLE_KINDS}, {})
#: How the region of a ``provider: any`` spec is written, as far as validation is concerned.
_PLACEHOLDER_REGION = "any"
REPLACE_HINT = "pass replace-placement (atlas plan --replace-placement) to place it again"

SpecSource = Mapping[str, Any] | str | bytes | os.PathLike[str]
SortKey = tuple[Decimal, int, str, int, int]


@attrs.frozen
class Candidate:
    """A provider and region where every portable resource has a priced offering."""

    provider: str
    region: Region
    monthly: Decimal | None
    currency: str
    translation: Translation
    #: The sort key (see the module docstring): monthly, provider rank, provider, region
    #: rank, region order.
    rank: SortKey = attrs.field(repr=False)

    @property
    def line_items(self) -> tuple[LineItem, ...]:
        """Every line behind :attr:`monthly`: the choices' then the support resources'."""
        lines = [li for c in self.translation.choices for li in c.line_items]
        return (*lines, *self.translation.support_line_items)

    @property
    def where(self) -> str:
        """``provider/region``."""
        return f"{self.provider}/{self.region.name}"


@attrs.frozen
class Excluded:
    """A provider (and region, when it is one region that is out) left out, and why."""

    provider: str
    region: str | None
    reason: str


@attrs.frozen
class Comparison:
    """Every allowed placement: the complete ones, cheapest first, and those left out."""

    placement: Placement
    candidates: tuple[Candidate, ...]
    excluded: tuple[Excluded, ...]


@attrs.frozen
class RunnerUp:
    """The next best placement: where, what it costs, and how much more than the chosen one
    (``None`` when either has no price)."""

    provider: str
    region: str
    monthly: Decimal | None
    difference: Decimal | None


@attrs.frozen
class PlacementDecision:
    """Where a portable spec goes, and why (one sentence)."""

    provider: str
    region: str
    monthly: Decimal | None
    currency: str
    reason: str
    runner_up: RunnerUp | None
    choices: tuple[Choice, ...]
    #: Whether atlas chose the provider and region (``provider: any``); ``False`` when the
    #: spec named them and only its portable kinds were translated.
    chosen: bool = True
    #: Whether this is the placement recorded with the infrastructure, kept (``pin``) rather
    #: than chosen afresh (set by :meth:`atlas.AsyncAtlas.plan`).
    kept: bool = False
    #: When the placement was first decided (set by :meth:`atlas.AsyncAtlas.plan`; a kept
    #: placement keeps the time it was recorded with).
    decided_at: dt.datetime | None = None


# -- the parts of a spec ---------------------------------------------------------------------


@attrs.frozen
class _Layout:
    """A spec split into its portable resources (validated) and its native ones (as written),
    with each one's index in the document."""

    doc: Mapping[str, Any]
    portable: tuple[ResourceSpec, ...]
    portable_at: tuple[int, ...]
    native_at: tuple[int, ...]
    placement: Placement
    #: ``create`` (a plan) places only on providers that can provision; ``estimate`` on all.
    purpose: Purpose = "estimate"


def is_portable(doc: Any, registry: ProviderRegistry) -> bool:
    """Whether ``doc`` must be placed or translated: it says ``provider: any``, or it has a
    resource of a portable type that its provider has no kind of its own for."""
    if not isinstance(doc, Mapping):
        return False
    provider = doc.get("provider")
    if not isinstance(provider, str):
        return False
    names = registry.names()
    if provider == ANY:
        # (a registry that has the pseudo-provider itself validates portable kinds as written)
        return ANY not in names
    try:
        kinds = registry.kinds(provider)
    except ProviderNotFoundError:
        return False
    resources = doc.get("resources")
    if not isinstance(resources, list):
        return False
    return any(_portable_type(r, kinds) for r in resources)


def _portable_type(item: Any, kinds: Mapping[str, Any]) -> bool:
    if not isinstance(item, Mapping):
        return False
    kind = item.get("type")
    return isinstance(kind, str) and kind in PORTABLE_TYPES and kind not in kinds


def _layout(doc: Mapping[str, Any], registry: ProviderRegistry, purpose: Purpose) -> _Layout:
    """Validate the portable part of ``doc`` (every problem at its path in ``doc``)."""
    provider = doc.get("provider")
    anywhere = provider == ANY
    resources = doc.get("resources")
    items = resources if isinstance(resources, list) else []
    kinds = {} if anywhere or not isinstance(provider, str) else registry.kinds(provider)
    portable_at = tuple(i for i, r in enumerate(items) if anywhere or _portable_type(r, kinds))
    chosen = set(portable_at)
    native_at = tuple(i for i in range(len(items)) if i not in chosen)
    problems: list[Problem] = []
    placement, placement_problems = parse_placement(doc.get("placement"))
    problems.extend(placement_problems)
    if anywhere and "region" in doc:
        problems.append(
            Problem("region", "with provider: any the region comes from placement.regions")
        )
    if not anywhere and "placement" in doc:
        problems.append(
            Problem(
                "placement",
                f"only a spec with provider: any is placed; this one names {provider!r}",
            )
        )
    part = {k: doc[k] for k in ("name", "tags", "budget") if k in doc}
    part.update(provider=ANY, region=_PLACEHOLDER_REGION)
    if "resources" in doc:  # (else the validator says it is missing)
        part["resources"] = [items[i] for i in portable_at] if items is resources else resources
    portable: tuple[ResourceSpec, ...] = ()
    try:
        portable = _validate_as_is(part, PORTABLE_REGISTRY, purpose).resources
    except SpecValidationError as exc:
        problems.extend(_moved(p, portable_at) for p in exc.problems)
    if problems or placement is None:
        raise SpecValidationError(problems)
    return _Layout(doc, portable, portable_at, native_at, placement, purpose)


_INDEX = re.compile(r"^resources\[(\d+)\]")


def _moved(problem: Problem, at: Sequence[int]) -> Problem:
    """A problem of a part of the spec, at its path in the whole."""
    match = _INDEX.match(problem.path)
    if match is None:
        return problem
    return Problem(f"resources[{at[int(match[1])]}]{problem.path[match.end() :]}", problem.message)


def _validate_as_is(
    doc: Mapping[str, Any], registry: ProviderRegistry, purpose: Purpose
) -> InfrastructureSpec:
    from atlas.spec.validate import validate_native  # noqa: PLC0415 - validate imports this

    return validate_native(doc, registry=registry, purpose=purpose)


# -- comparing -------------------------------------------------------------------------------


def compare(
    doc: SpecSource, *, registry: ProviderRegistry, purpose: Purpose = "estimate"
) -> Comparison:
    """Every placement ``doc``'s constraints allow, cheapest first (see the module docstring
    for the order), and what was left out and why. Raises :class:`SpecValidationError` for
    problems with the portable resources or ``placement`` (unknown provider or region names
    included, with their path)."""
    loaded = _mapping(doc)
    provider = loaded.get("provider")
    if provider != ANY:
        named = f"this one names {provider!r}" if isinstance(provider, str) else "it has none"
        message = f"only a spec with provider: any is compared across providers; {named}"
        raise SpecValidationError([Problem("provider", message)])
    return _compare(_layout(loaded, registry, purpose), registry)


def _mapping(doc: SpecSource) -> Mapping[str, Any]:
    loaded = load_document(doc)
    if not isinstance(loaded, Mapping):
        raise SpecValidationError([Problem("", "a spec must be a mapping (JSON object)")])
    return loaded


def _translators(
    registry: ProviderRegistry, placement: Placement
) -> tuple[dict[str, PortableTranslator], list[Excluded], list[Problem]]:
    """The translators of the allowed providers, in placement's order (else by name)."""
    problems: list[Problem] = []
    installed = tuple(n for n in registry.names() if n != ANY)
    allowed: list[str] = []
    for i, name in enumerate(placement.providers):
        try:
            allowed.append(registry.get(name).name)
        except ProviderNotFoundError:
            known = ", ".join(installed) or "none"
            problems.append(
                Problem(
                    f"placement.providers[{i}]",
                    f"unknown provider {name!r}{_did_you_mean(name, installed)} "
                    f"(installed: {known})",
                )
            )
    found: dict[str, PortableTranslator] = {}
    excluded: list[Excluded] = []
    for name in allowed or installed:
        translator = registry.portable_translator(name)
        if translator is None:
            excluded.append(Excluded(name, None, "no translator installed"))
        else:
            found[name] = translator
    return found, excluded, problems


def _region_problems(
    placement: Placement,
    regions: Mapping[str, Sequence[Region]],
    registry: ProviderRegistry,
    untranslated: Sequence[str],
) -> list[Problem]:
    """Entries of ``placement.regions`` that name no group and no region of an allowed
    provider."""
    names = {r.name for rs in regions.values() for r in rs}
    qualified = {f"{p}/{r.name}" for p, rs in regions.items() for r in rs}
    problems = []
    for i, entry in enumerate(placement.regions):
        if entry in REGION_GROUPS or entry in names or entry in qualified:
            continue
        path = f"placement.regions[{i}]"
        provider = entry.split("/", 1)[0] if "/" in entry else None
        if provider is not None and provider not in regions:
            why = "is not installed" if provider not in registry.names() else "is not allowed"
            if provider in registry.names() and not placement.providers:
                why = "has no translator"
            problems.append(Problem(path, f"provider {provider!r} of {entry!r} {why}"))
            continue
        choices = [*REGION_GROUPS, *sorted(names), *sorted(qualified)]
        message = (
            f"unknown region or group {entry!r}{_did_you_mean(entry, choices)} "
            f"(groups: {', '.join(REGION_GROUPS)})"
        )
        if untranslated:
            message += f"; {', '.join(untranslated)} offer no regions: no translator installed"
        problems.append(Problem(path, message))
    return problems


def _compare(layout: _Layout, registry: ProviderRegistry) -> Comparison:
    placement = layout.placement
    translators, excluded, problems = _translators(registry, placement)
    regions = {name: tuple(t.regions()) for name, t in translators.items()}
    untranslated = [e.provider for e in excluded]
    problems.extend(_region_problems(placement, regions, registry, untranslated))
    if problems:
        raise SpecValidationError(problems)
    if layout.purpose == "create":
        # A plan places only where atlas can provision: a placement on a provider that can
        # only estimate would be refused at once, so it is left out, with the reason.
        for name in [n for n in translators if registry.get(n).factory is None]:
            del translators[name]
            why = f"estimate only: {not_live_message(registry.get(name))}"
            excluded.append(Excluded(name, None, why))
    native = _native(layout, registry)
    candidates: list[Candidate] = []
    for name, translator in translators.items():
        for order, region in enumerate(regions[name]):
            region_rank = placement.admits_group(region.group, region.name, name)
            if region_rank is None:
                continue
            outcome = _candidate(
                layout, registry, translator, region, provider=name, native=native.get(name, ())
            )
            if isinstance(outcome, Excluded):
                excluded.append(outcome)
                continue
            provider_rank = placement.providers.index(name) if placement.providers else 0
            monthly = outcome.monthly if outcome.monthly is not None else Decimal(0)
            rank = (monthly, provider_rank, name, region_rank, order)
            candidates.append(attrs.evolve(outcome, rank=rank))
    candidates.sort(key=lambda c: c.rank)
    return Comparison(placement, tuple(candidates), tuple(excluded))


def _candidate(
    layout: _Layout,
    registry: ProviderRegistry,
    translator: PortableTranslator,
    region: Region,
    *,
    provider: str,
    native: tuple[ResourceSpec, ...],
) -> Candidate | Excluded:
    """The translation in ``region``, or why it is left out."""
    placement = layout.placement
    missing = [f for f in placement.features if f not in region.features]
    if missing:
        return Excluded(provider, region.name, f"a required feature missing: {', '.join(missing)}")
    lookup = registry.price_lookup(provider, region=region.name)
    if lookup.currency != placement.currency:
        why = f"priced in another currency: {lookup.currency}, not {placement.currency}"
        return Excluded(provider, region.name, why)
    request = TranslationRequest(provider, region, layout.portable, lookup, native)
    translation = translator.translate(request)
    refused = _refusals(layout, translation)
    if refused:
        return Excluded(provider, region.name, "; ".join(refused))
    candidate = Candidate(provider, region, None, lookup.currency, translation, rank=_NO_RANK)
    lines = candidate.line_items
    unpriced = next((li for li in lines if li.monthly is None), None)
    if unpriced is not None:
        why = f"unpriced line: {unpriced.description}: {unpriced.unpriced or 'no price'}"
        return Excluded(provider, region.name, why)
    monthly = monthly_total(lines)
    budget = placement.budget
    if budget is not None and monthly is not None and monthly > budget:
        why = f"over budget {budget} {placement.currency}: {_cents(monthly)}"
        return Excluded(provider, region.name, why)
    return attrs.evolve(candidate, monthly=monthly)


_NO_RANK: SortKey = (Decimal(0), 0, "", 0, 0)


def _refusals(layout: _Layout, translation: Translation) -> list[str]:
    """The portable resources the translation refused or left unanswered, in words, one
    entry per reason (a thousand like resources refused alike make one short entry)."""
    by_reason: dict[str, list[str]] = {}
    for refusal in translation.refusals:
        by_reason.setdefault(refusal.reason, []).append(refusal.resource)
    if len(translation.choices) + len(translation.refusals) < len(layout.portable):
        answered = {c.resource for c in translation.choices}
        answered.update(r.resource for r in translation.refusals)
        silent = [r.name for r in layout.portable if r.name not in answered]
        by_reason.setdefault("the translator gave no answer for it", []).extend(silent)
    return [f"{_resources(names)} refused: {reason}" for reason, names in by_reason.items()]


def _resources(names: Sequence[str]) -> str:
    """``resource db``, ``resources db0 and db1``, ``resources a, b, c and 247 more``."""
    if len(names) == 1:
        return f"resource {names[0]}"
    if len(names) <= 3:
        return f"resources {', '.join(names[:-1])} and {names[-1]}"
    return f"resources {', '.join(names[:3])} and {len(names) - 3} more"


def _native(layout: _Layout, registry: ProviderRegistry) -> dict[str, tuple[ResourceSpec, ...]]:
    """The native resources of a mixed spec, structured for the translator of its provider
    (those that do not structure are left out here and reported by validation)."""
    provider = layout.doc.get("provider")
    if not layout.native_at or not isinstance(provider, str) or provider == ANY:
        return {}
    from atlas.spec.converter import make_converter  # noqa: PLC0415

    converter, kinds = make_converter(), registry.kinds(provider)
    out = []
    for i in layout.native_at:
        item = layout.doc["resources"][i]
        kind = kinds.get(item.get("type", "")) if isinstance(item, Mapping) else None
        name = item.get("name") if isinstance(item, Mapping) else None
        if kind is None or not isinstance(name, str):
            continue
        try:
            specs = converter.structure(dict(item.get("specifications", {})), kind.spec_class)
        except Exception:  # noqa: S112 - validation of the concrete spec says why
            continue
        out.append(ResourceSpec(kind.type, name, specs))
    return {registry.get(provider).name: tuple(out)}


# -- resolving -------------------------------------------------------------------------------


@attrs.frozen
class Resolved:
    """A concrete spec document, the decision behind it, and where each of its resources
    came from: ``(index in the portable document, portable type or None)`` per resource, or
    ``None`` for a support resource the translation added."""

    doc: dict[str, Any]
    decision: PlacementDecision | None
    origins: tuple[tuple[int, str | None] | None, ...]


def resolve(
    doc: SpecSource,
    *,
    registry: ProviderRegistry,
    purpose: Purpose = "create",
    pin: tuple[str, str] | None = None,
) -> tuple[dict[str, Any], PlacementDecision | None]:
    """The concrete spec document of a portable spec, and why it is placed where it is.

    The document names one provider and region; portable resources are replaced, where they
    stood, by the native resources chosen for them; support resources follow at the end;
    ``placement`` is gone; a mixed spec's native resources are kept. A spec with nothing
    portable is returned as it is, with no decision.

    ``provider: any`` takes the cheapest candidate of :func:`compare`; with ``pin``
    (``(provider, region)``, a placement recorded earlier) it keeps the pin while the
    constraints allow it and it translates completely, and otherwise raises
    :class:`SpecValidationError` at ``placement``, saying to pass replace-placement.
    ``provider: NAME`` translates for ``NAME`` in the spec's region.
    """
    resolved = resolve_document(_mapping(doc), registry=registry, purpose=purpose, pin=pin)
    return resolved.doc, resolved.decision


def resolve_document(
    doc: Mapping[str, Any],
    *,
    registry: ProviderRegistry,
    purpose: Purpose,
    pin: tuple[str, str] | None = None,
) -> Resolved:
    """:func:`resolve`, with where each concrete resource came from (for validation)."""
    if not is_portable(doc, registry):
        return Resolved(dict(doc), None, ())
    layout = _layout(doc, registry, purpose)
    if doc.get("provider") == ANY:
        comparison = _compare(layout, registry)
        chosen, decision = _decide(comparison, pin)
        return _concrete(layout, chosen.provider, chosen.region.name, chosen.translation, decision)
    return _translate_named(layout, registry)


def decide(comparison: Comparison, pin: tuple[str, str] | None = None) -> PlacementDecision:
    """The placement :func:`resolve` takes from ``comparison``: the cheapest candidate, or
    ``pin`` while it is one (:class:`SpecValidationError` at ``placement`` otherwise)."""
    return _decide(comparison, pin)[1]


def _decide(
    comparison: Comparison, pin: tuple[str, str] | None
) -> tuple[Candidate, PlacementDecision]:
    candidates = comparison.candidates
    if not candidates:
        raise SpecValidationError([Problem("placement", _nowhere(comparison))])
    if pin is None:
        chosen = candidates[0]
        return chosen, _decision(chosen, candidates, _why_chosen(chosen, candidates))
    for chosen in candidates:
        if (chosen.provider, chosen.region.name) == tuple(pin):
            cheapest = candidates[0]
            why = f"kept the recorded placement {chosen.where}"
            if cheapest is not chosen and cheapest.rank[0] < chosen.rank[0]:
                why += (
                    f"; {cheapest.where} is now cheaper, at {_cents(cheapest.rank[0])} "
                    f"{cheapest.currency} a month ({REPLACE_HINT})"
                )
            return chosen, _decision(chosen, candidates, why)
    where = "/".join(pin)
    reason = next(
        (
            e.reason
            for e in comparison.excluded
            if (e.provider, e.region) in {tuple(pin), (pin[0], None)}
        ),
        "the placement constraints no longer allow it",
    )
    message = f"the recorded placement {where} no longer fits: {reason}; {REPLACE_HINT}"
    raise SpecValidationError([Problem("placement", message)])


def _nowhere(comparison: Comparison) -> str:
    if not comparison.excluded:
        return "no installed provider can place this spec within the constraints"
    parts = [
        f"{e.provider}/{e.region}: {e.reason}" if e.region else f"{e.provider}: {e.reason}"
        for e in comparison.excluded
    ]
    return "no provider and region can place this spec: " + "; ".join(parts)


def _why_chosen(chosen: Candidate, candidates: Sequence[Candidate]) -> str:
    count = len(candidates)
    price = f"{_cents(chosen.rank[0])} {chosen.currency} a month"
    if count == 1:
        return f"the only placement that meets every constraint, at {price}"
    second = candidates[1]
    if second.rank[0] > chosen.rank[0]:
        return f"the cheapest of {count} placements that meet every constraint, at {price}"
    if second.provider != chosen.provider:
        by = (
            "comes first in placement.providers"
            if chosen.rank[1] < second.rank[1]
            else "comes first by name"
        )
        return f"tied at {price} with {second.where}; {chosen.provider} {by}"
    by = (
        "comes first in placement.regions"
        if chosen.rank[3] < second.rank[3]
        else f"comes first in {chosen.provider}'s list of regions"
    )
    return f"tied at {price} with {second.where}; {chosen.region.name} {by}"


def _decision(chosen: Candidate, candidates: Sequence[Candidate], reason: str) -> PlacementDecision:
    others = [c for c in candidates if c is not chosen]
    runner_up = None
    if others:
        other = others[0]
        difference = (
            other.monthly - chosen.monthly
            if other.monthly is not None and chosen.monthly is not None
            else None
        )
        runner_up = RunnerUp(other.provider, other.region.name, other.monthly, difference)
    return PlacementDecision(
        chosen.provider,
        chosen.region.name,
        chosen.monthly,
        chosen.currency,
        reason,
        runner_up,
        chosen.translation.choices,
    )


def _translate_named(layout: _Layout, registry: ProviderRegistry) -> Resolved:
    """A spec that names its provider: translate for it, in the spec's region."""
    doc = layout.doc
    provider = registry.get(str(doc["provider"])).name
    translator = registry.portable_translator(provider)
    if translator is None:
        kinds = registry.kinds(provider)
        known = ", ".join(sorted(kinds)) or "none"
        problems = []
        for i in layout.portable_at:
            kind = str(doc["resources"][i]["type"])
            problems.append(
                Problem(
                    f"resources[{i}].type",
                    f"unknown resource type {kind!r} for provider {provider!r}"
                    f"{_did_you_mean(kind, tuple(kinds))} (known: {known}); {kind} is a "
                    f"portable kind, and no installed plugin translates them for {provider}",
                )
            )
        raise SpecValidationError(problems)
    region = _named_region(doc, provider, translator)
    native = _native(layout, registry).get(provider, ())
    lookup = registry.price_lookup(provider, region=region.name)
    translation = translator.translate(
        TranslationRequest(provider, region, layout.portable, lookup, native)
    )
    problems = _refusal_problems(layout, translation, provider, region.name)
    if problems:
        raise SpecValidationError(problems)
    lines = [li for c in translation.choices for li in c.line_items]
    monthly = monthly_total([*lines, *translation.support_line_items])
    reason = f"the spec names provider {provider} and region {region.name}"
    decision = PlacementDecision(
        provider,
        region.name,
        monthly,
        lookup.currency,
        reason,
        None,
        translation.choices,
        chosen=False,
    )
    return _concrete(layout, provider, region.name, translation, decision)


def _named_region(doc: Mapping[str, Any], provider: str, translator: PortableTranslator) -> Region:
    name = doc.get("region")
    if not isinstance(name, str) or not name:
        raise SpecValidationError([Problem("region", "required field missing")])
    regions = tuple(translator.regions())
    for region in regions:
        if region.name == name:
            return region
    names = [r.name for r in regions]
    message = (
        f"{provider} translates portable kinds in no region {name!r}"
        f"{_did_you_mean(name, names)} (regions: {', '.join(names)})"
    )
    raise SpecValidationError([Problem("region", message)])


def _refusal_problems(
    layout: _Layout, translation: Translation, provider: str, region: str
) -> list[Problem]:
    index = {r.name: i for r, i in zip(layout.portable, layout.portable_at, strict=True)}
    answered = {c.resource for c in translation.choices}
    problems = [
        Problem(
            f"resources[{index.get(r.resource, 0)}]",
            f"{provider} cannot offer it in {region}: {r.reason}",
        )
        for r in translation.refusals
    ]
    refused = {r.resource for r in translation.refusals}
    problems.extend(
        Problem(f"resources[{index[r.name]}]", f"the {provider} translator gave no answer for it")
        for r in layout.portable
        if r.name not in answered and r.name not in refused
    )
    return problems


def _concrete(
    layout: _Layout,
    provider: str,
    region: str,
    translation: Translation,
    decision: PlacementDecision,
) -> Resolved:
    """The concrete document: each portable resource replaced where it stood."""
    doc = layout.doc
    by_name = {c.resource: c for c in translation.choices}
    portable = dict(zip(layout.portable_at, layout.portable, strict=True))
    resources: list[Any] = []
    origins: list[tuple[int, str | None] | None] = []
    for i, item in enumerate(doc.get("resources") or ()):
        res = portable.get(i)
        if res is None:
            resources.append(item)
            origins.append((i, None))
            continue
        for native in by_name[res.name].resources:
            resources.append(dict(native))
            origins.append((i, res.type))
    for support in translation.support:
        resources.append(dict(support))
        origins.append(None)
    out = {k: v for k, v in doc.items() if k != "placement"}
    out.update(provider=provider, region=region, resources=resources)
    return Resolved(out, decision, tuple(origins))


def concrete_problems(problems: Sequence[Problem], resolved: Resolved) -> Iterator[Problem]:
    """The problems of the concrete document, at their paths in the portable one: a
    translated resource's at its index, the native kind named; a support resource's at
    ``resources``."""
    resources = resolved.doc["resources"]
    for problem in problems:
        match = _INDEX.match(problem.path)
        if match is None:
            yield problem
            continue
        j, rest = int(match[1]), problem.path[match.end() :].lstrip(".")
        origin = resolved.origins[j] if j < len(resolved.origins) else (j, None)
        item = resources[j] if j < len(resources) else {}
        kind = f"{resolved.doc['provider']} {item.get('type')} {item.get('name')!r}"
        if origin is None:
            where = f" at {rest}" if rest else ""
            yield Problem(
                "resources", f"{kind}, which the translation adds{where}: {problem.message}"
            )
        elif origin[1] is None:
            yield Problem(f"resources[{origin[0]}]{problem.path[match.end() :]}", problem.message)
        else:
            where = f" at {rest}" if rest else ""
            yield Problem(
                f"resources[{origin[0]}]", f"translated to {kind}{where}: {problem.message}"
            )


def _cents(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):.2f}"


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    import difflib  # noqa: PLC0415

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
