"""What the Azure kinds share: their declaration (the core's kind factory, bound to "azure")
and the core's small field checks."""

from __future__ import annotations

from atlas.providers.kinds import at_least, between, kind_factory, nearest, referenced

__all__ = ["at_least", "between", "kind", "nearest", "referenced"]

#: Declares an Azure resource kind (see :func:`atlas.providers.kinds.kind_factory`).
kind = kind_factory("azure")
