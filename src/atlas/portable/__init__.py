"""Portable specs: provider-neutral kinds, the translator contract, and placement.

See ``docs/portable.md``. :mod:`atlas.portable.kinds` declares the kinds,
:mod:`atlas.portable.contract` what a provider plugin implements to offer them,
:mod:`atlas.portable.helpers` what a translator may build on (words for reasons, offers in the
contract's order, native documents priced by their kinds), and :mod:`atlas.portable.placement`
the constraints of a ``provider: any`` spec.
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
from atlas.portable.helpers import (
    DetailedOffer,
    DocPricer,
    OfferLike,
    PerLookup,
    biggest,
    by_price,
    cheapest,
    dollars_text,
    gb_text,
    meeting,
    minimums_text,
    native_doc,
    offer_monthly,
    priced_total,
    reference_fields,
    renamed,
    shape_text,
    translate_each,
    usd_text,
    vcpus_text,
)
from atlas.portable.kinds import ANY, PORTABLE_KINDS, PORTABLE_TYPES
from atlas.portable.placement import Placement, parse_placement

__all__ = [
    "ANY",
    "PORTABLE_KINDS",
    "PORTABLE_TYPES",
    "REGION_GROUPS",
    "Choice",
    "DetailedOffer",
    "DocPricer",
    "ListsOfferings",
    "Offer",
    "OfferLike",
    "PerLookup",
    "Placement",
    "PortableTranslator",
    "Refusal",
    "Region",
    "Translation",
    "TranslationRequest",
    "biggest",
    "by_price",
    "cheapest",
    "dollars_text",
    "gb_text",
    "meeting",
    "minimums_text",
    "monthly_total",
    "native_doc",
    "offer_monthly",
    "parse_placement",
    "priced_total",
    "reference_fields",
    "renamed",
    "shape_text",
    "translate_each",
    "usd_text",
    "vcpus_text",
]
