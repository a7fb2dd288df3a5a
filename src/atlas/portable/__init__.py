"""Portable specs: provider-neutral kinds, the translator contract, and placement.

See ``docs/portable.md``. :mod:`atlas.portable.kinds` declares the kinds,
:mod:`atlas.portable.contract` what a provider plugin implements to offer them, and
:mod:`atlas.portable.placement` the constraints of a ``provider: any`` spec.
"""

from __future__ import annotations

from atlas.portable.contract import (
    REGION_GROUPS,
    Choice,
    ListsOfferings,
    Offer,
    PortableTranslator,
    Refusal,
    Region,
    Translation,
    TranslationRequest,
    monthly_total,
)
from atlas.portable.kinds import ANY, PORTABLE_KINDS, PORTABLE_TYPES
from atlas.portable.placement import Placement, parse_placement

__all__ = [
    "ANY",
    "PORTABLE_KINDS",
    "PORTABLE_TYPES",
    "REGION_GROUPS",
    "Choice",
    "ListsOfferings",
    "Offer",
    "Placement",
    "PortableTranslator",
    "Refusal",
    "Region",
    "Translation",
    "TranslationRequest",
    "monthly_total",
    "parse_placement",
]
