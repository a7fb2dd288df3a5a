"""Comparisons and placement decisions as JSON: what ``atlas estimate --compare --json`` prints
and ``POST /api/v1/estimate-cost`` with ``"compare": true`` answers (see docs/portable.md).

Amounts are numbers rounded to the cent, as in an estimate's JSON; every key is always
present (``null`` when it has no value), so agents can read the shape without guessing.
"""

from __future__ import annotations

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
        "choices": [_choice(c, lines=False) for c in decision.choices],
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
        "choices": [_choice(c, lines=True) for c in translation.choices],
        "support": {
            "resources": [dict(d) for d in translation.support],
            "line_items": [li.to_dict() for li in translation.support_line_items],
        },
    }


def _choice(choice: Choice, *, lines: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": choice.resource,
        "offering": choice.offering,
        "reason": choice.reason,
        "monthly_cost": _amount(choice.monthly),
        "resources": [dict(d) for d in choice.resources],
    }
    if lines:
        out["line_items"] = [li.to_dict() for li in choice.line_items]
    return out


def _amount(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))
