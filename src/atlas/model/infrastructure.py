"""The canonical infrastructure spec: the JSON shape the platform's agents already send.

``{"name", "provider", "region", "resources": [{"type", "name", "specifications"}], "tags",
"budget"?}``. Specifications are typed per resource kind; the kinds come from provider plugins.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from atlas.portable.resolve import PlacementDecision

__all__ = ["DEFAULT_THRESHOLDS", "Budget", "InfrastructureSpec", "ResourceSpec"]


#: Percentages of a budget's amount at which an alert is sent, by default.
DEFAULT_THRESHOLDS: tuple[int, ...] = (50, 80, 100)


@attrs.frozen
class Budget:
    """A monthly spending limit: checked before anything is created (a plan over it is
    refused), and watched as the month's cost accrues: each of ``thresholds`` (percentages of
    ``monthly_limit``, ascending) crossed sends one ``cost.threshold_crossed`` event a month.
    With ``include_forecast``, what is watched is the month to date plus the forecast to the
    month's end, not the month to date alone."""

    monthly_limit: Decimal
    currency: str = "USD"
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    include_forecast: bool = False


@attrs.frozen
class ResourceSpec:
    """One resource of a spec: its kind (``type``), its unique ``name`` and its specification.

    ``specifications`` is an instance of the attrs class the kind registered. ``import_ids``
    are the provider ids of objects that exist already (made outside atlas) which the
    resource adopts instead of creating (``import:`` in a spec; several for a counted one).
    """

    type: str
    name: str
    specifications: Any
    import_ids: tuple[str, ...] = ()


@attrs.frozen
class InfrastructureSpec:
    """A whole infrastructure: what should exist, where, and at what cost at most."""

    name: str
    provider: str
    region: str
    resources: tuple[ResourceSpec, ...] = ()
    tags: dict[str, str] = attrs.field(factory=dict)
    budget: Budget | None = None
    #: Where a portable spec was placed and why (``None`` for a spec of native kinds only);
    #: not part of the spec's identity, nor of what is recorded of its resources.
    placement: PlacementDecision | None = attrs.field(default=None, eq=False, repr=False)

    #: Resources by name (the first of a name, as validation reports later ones as duplicates).
    _by_name: dict[str, ResourceSpec] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        # Checks look resources up by name for every reference: an index keeps a spec of
        # thousands of resources from being scanned once per lookup.
        index = {r.name: r for r in reversed(self.resources)}
        object.__setattr__(self, "_by_name", index)

    def resource(self, name: str) -> ResourceSpec:
        """The resource called ``name``; ``KeyError`` when there is none."""
        return self._by_name[name]
