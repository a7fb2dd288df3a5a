"""What the Azure kinds share: their declaration and small checks."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.declarations import KindCheck, Pricer, ResourceKind

__all__ = ["at_least", "between", "kind", "nearest", "referenced"]


def kind(
    type_name: str,
    spec_class: type[Any],
    summary: str,
    *,
    price: Pricer | None = None,
    check: KindCheck | None = None,
    replace_on: Iterable[str] = (),
    **options: Any,
) -> ResourceKind:
    """An Azure resource kind (see :class:`~atlas.providers.ResourceKind` for ``options``)."""
    return ResourceKind(
        provider="azure",
        type=type_name,
        spec_class=spec_class,
        summary=summary,
        price=price,
        check=check,
        replace_on=frozenset(replace_on),
        **options,
    )


def nearest(value: str, choices: Iterable[str]) -> str:
    """``" (nearest: a, b)"`` when some choices are close, else the list when it is short."""
    pool = sorted(set(choices))
    close = difflib.get_close_matches(value, pool, n=3, cutoff=0.6)
    if close:
        return f" (nearest: {', '.join(close)})"
    return f" (one of: {', '.join(pool)})" if 0 < len(pool) <= 16 else ""


def between(low: int, high: int) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be from {low} to {high}; got {value}"

    return check


def at_least(low: int) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if value >= low else f"must be at least {low}; got {value}"

    return check


def referenced(spec: InfrastructureSpec, name: str | None, type_name: str) -> ResourceSpec | None:
    """The resource ``name`` of the spec if it is a ``type_name`` (the core reports a
    reference to anything else)."""
    if name is None:
        return None
    try:
        res = spec.resource(name)
    except KeyError:
        return None
    return res if res.type == type_name else None
