"""Records as the JSON the callers read: the shapes are :mod:`atlas.wire`'s, which the command
line's ``--json`` prints too (it cannot import this package, an optional extra)."""

from __future__ import annotations

from atlas.wire import (
    amount,
    estimate_json,
    infrastructure_json,
    iso,
    operation_json,
    placed_estimate_json,
    plan_json,
    stats_json,
    step_json,
)

__all__ = [
    "amount",
    "estimate_json",
    "infrastructure_json",
    "iso",
    "operation_json",
    "placed_estimate_json",
    "plan_json",
    "stats_json",
    "step_json",
]
