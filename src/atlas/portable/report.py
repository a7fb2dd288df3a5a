"""Comparisons and placement decisions as JSON: what ``atlas estimate --compare --json`` prints
and ``POST /api/v1/estimate-cost`` with ``"compare": true`` answers (see docs/portable.md).

Amounts are numbers rounded to the cent, as in an estimate's JSON; every key is always
present (``null`` when it has no value), so agents can read the shape without guessing. A
candidate's choices are grouped by answer (each group names its resources); the decision
lists every resource's choice with the native documents it becomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from atlas.portable.contract import Choice
from atlas.portable.placement import Placement
from atlas.portable.resolve import Candidate, Comparison, PlacementDecision, decide

__all__ = ["comparison_json", "decision_json"]


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """``{"placement", "decision", "candidates", "excluded"}``; candidates cheapest first."""
    candidates = comparison.candidates
    cheapest = candidates[0].monthly if candidates else None
    decision = decide(comparison) if candidates else None
    return {
        "placement": placement_json(comparison.placement),
        "decision": decision_json(decision) if decision is not None else None,
        "candidates": [_candidate(i, c, cheapest) for i, c in enumerate(candidates, 1)],
        "excluded": [
            {"provider": e.provider, "region": e.region, "reason": e.reason}
            for e in comparison.excluded
        ],
    }


def placement_json(placement: Placement) -> dict[str, Any]:
    return {
        "providers": list(placement.providers),
        "regions": list(placement.regions),
        "features": list(placement.features),
        "budget": _amount(placement.budget),
        "currency": placement.currency,
    }


def decision_json(decision: PlacementDecision) -> dict[str, Any]:
    """``{"provider", "region", "monthly_cost", "currency", "reason", "runner_up", "choices"}``."""
    runner = decision.runner_up
    return {
        "provider": decision.provider,
        "region": decision.region,
        "monthly_cost": _amount(decision.monthly),
        "currency": decision.currency,
        "reason": decision.reason,
        "runner_up": None
        if runner is None
        else {
            "provider": runner.provider,
            "region": runner.region,
            "monthly_cost": _amount(runner.monthly),
            "difference": _amount(runner.difference),
        },
        "choices": [_choice(c) for c in decision.choices],
    }


def _candidate(rank: int, candidate: Candidate, cheapest: Decimal | None) -> dict[str, Any]:
    translation = candidate.translation
    more = (
        candidate.monthly - cheapest
        if candidate.monthly is not None and cheapest is not None
        else None
    )
    return {
        "rank": rank,
        "provider": candidate.provider,
        "region": candidate.region.name,
        "region_group": candidate.region.group,
        "monthly_cost": _amount(candidate.monthly),
        "currency": candidate.currency,
        "more_than_cheapest": _amount(more),
        "choices": _grouped(translation.choices),
        "support": {
            "resources": [dict(d) for d in translation.support],
            "line_items": [li.to_dict() for li in translation.support_line_items],
        },
    }


def _grouped(choices: Sequence[Choice]) -> list[dict[str, Any]]:
    """One entry per distinct answer (offering, reason and line items), naming the resources
    that got it, in the order they first appear: a spec of a thousand like resources has a
    few answers, not a thousand copies of them."""
    groups: dict[tuple[Any, ...], tuple[Choice, list[str]]] = {}
    for choice in choices:
        # (by identity: a translator gives like resources the same line objects, and two
        # equal lines made apart only cost one more entry)
        key = (choice.offering, choice.reason, *map(id, choice.line_items))
        found = groups.get(key)
        if found is None:
            groups[key] = (choice, [choice.resource])
        else:
            found[1].append(choice.resource)
    return [
        {
            "resources": names,
            "offering": choice.offering,
            "reason": choice.reason,
            "monthly_cost": _amount(choice.monthly),
            "line_items": [li.to_dict() for li in choice.line_items],
        }
        for choice, names in groups.values()
    ]


def _choice(choice: Choice) -> dict[str, Any]:
    return {
        "resource": choice.resource,
        "offering": choice.offering,
        "reason": choice.reason,
        "monthly_cost": _amount(choice.monthly),
        "resources": [dict(d) for d in choice.resources],
    }


def _amount(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))
