"""The canonical document of a validated spec: what the store records and plans diff against.

Plain JSON types only (lists, not tuples; amounts as strings), and valid input for
:func:`atlas.spec.validate_spec`, so a recorded operation can be resumed from it.
"""

from __future__ import annotations

import json
from typing import Any

from atlas.model.infrastructure import (
    DEFAULT_THRESHOLDS,
    Budget,
    InfrastructureSpec,
    ResourceSpec,
)
from atlas.spec.converter import make_converter

__all__ = ["dump_budget", "dump_resource", "dump_spec"]

_converter = make_converter()


def _plain(value: Any) -> Any:
    # Through JSON once: tuples become lists, so a recorded document and a fresh one compare
    # equal exactly when they say the same thing.
    return json.loads(json.dumps(value))


def dump_resource(resource: ResourceSpec) -> dict[str, Any]:
    """``{"type", "name", "specifications"}``, fields at their defaults included, and
    ``import`` when the resource adopts existing objects (one id as a string, several as a
    list)."""
    specs = _converter.unstructure(resource.specifications)
    doc: dict[str, Any] = {
        "type": resource.type,
        "name": resource.name,
        "specifications": _plain(specs),
    }
    ids = resource.import_ids
    if ids:
        doc["import"] = ids[0] if len(ids) == 1 else list(ids)
    return doc


def dump_spec(spec: InfrastructureSpec) -> dict[str, Any]:
    """The spec's canonical document; with the decision of a placed spec under ``placed``."""
    doc: dict[str, Any] = {
        "name": spec.name,
        "provider": spec.provider,
        "region": spec.region,
        "resources": [dump_resource(r) for r in spec.resources],
        "tags": dict(spec.tags),
    }
    if spec.budget is not None:
        doc["budget"] = dump_budget(spec.budget)
    placement = spec.placement
    if placement is not None and placement.chosen:
        # Where atlas placed a provider: any spec, and why (atlas.portable.record).
        from atlas.portable.record import PLACED, placed_document  # noqa: PLC0415

        doc[PLACED] = placed_document(placement)
    return doc


def dump_budget(budget: Budget) -> dict[str, Any]:
    """A budget as the spec writes it; the defaults are left out, so that a spec written
    before thresholds existed dumps as it was."""
    doc: dict[str, Any] = {"monthly_limit": str(budget.monthly_limit), "currency": budget.currency}
    if budget.thresholds != DEFAULT_THRESHOLDS:
        doc["thresholds"] = list(budget.thresholds)
    if budget.include_forecast:
        doc["include_forecast"] = True
    return doc
