"""What the GCP kinds share: their declaration and small checks."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from atlas.exceptions import Problem
from atlas.providers.declarations import CheckContext, KindCheck, Pricer, ResourceKind

__all__ = ["at_least", "between", "kind", "nearest", "zone_problems"]

#: A zone is its region and a letter: ``us-central1-a``.
_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+\d+)-[a-z]$")


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
    """A GCP resource kind (see :class:`~atlas.providers.ResourceKind` for ``options``)."""
    return ResourceKind(
        provider="gcp",
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


def zone_problems(ctx: CheckContext, zone: str | None, path: str) -> Iterator[Problem]:
    """``zone`` must be a zone of the spec's region (``<region>-<letter>``)."""
    if zone is None:
        return
    match = _ZONE.match(zone)
    if match is None:
        yield Problem(path, f"{zone!r} is not a zone name such as {ctx.spec.region}-a")
    elif match["region"] != ctx.spec.region:
        yield Problem(path, f"{zone!r} is not a zone of {ctx.spec.region}")
