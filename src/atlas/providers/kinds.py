"""What every plugin's resource kinds need when they are declared: a factory that stamps the
provider's name on each :class:`~atlas.providers.ResourceKind`, the "did you mean" hint of an
error message, and the small field checks that ``attrs`` validators and kind checks use.

A plugin binds the factory once (``kind = kind_factory("aws")``) and declares each kind with
it; checks specific to one cloud (its CIDR rules, its naming rules) stay in the plugin.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.declarations import CheckContext, KindCheck, Pricer, ResourceKind

__all__ = [
    "KindFactory",
    "at_least",
    "between",
    "kind_factory",
    "max_bytes",
    "max_chars",
    "nearest",
    "referenced",
]

#: How alike a choice must be to be offered as the one meant (difflib's ratio).
NEAR = 0.6
#: A list of choices this short is shown whole when none is near.
SHOW_ALL = 16


class KindFactory(Protocol):
    """Declares one kind of the provider the factory was made for."""

    def __call__(
        self,
        type_name: str,
        spec_class: type[Any],
        summary: str,
        *,
        price: Pricer | None = None,
        check: KindCheck | None = None,
        replace_on: Iterable[str] = (),
        **options: Any,
    ) -> ResourceKind: ...


def kind_factory(provider: str, *, every: KindCheck | None = None) -> KindFactory:
    """A function declaring ``provider``'s kinds. ``every`` is a check every kind makes
    before its own (DigitalOcean's: the names the cloud will be given are ones it accepts);
    ``options`` of the function returned are the other fields of
    :class:`~atlas.providers.ResourceKind`."""

    def declare(
        type_name: str,
        spec_class: type[Any],
        summary: str,
        *,
        price: Pricer | None = None,
        check: KindCheck | None = None,
        replace_on: Iterable[str] = (),
        **options: Any,
    ) -> ResourceKind:
        return ResourceKind(
            provider=provider,
            type=type_name,
            spec_class=spec_class,
            summary=summary,
            price=price,
            check=_both(every, check),
            replace_on=frozenset(replace_on),
            **options,
        )

    return declare


def _both(first: KindCheck | None, then: KindCheck | None) -> KindCheck | None:
    if first is None or then is None:
        return first or then

    def checked(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
        yield from first(res, ctx)
        yield from then(res, ctx)

    return checked


def nearest(value: str, choices: Iterable[str], n: int = 3) -> str:
    """``" (nearest: a, b)"`` for an error message when some choices are close; when none is,
    the whole list if it is short (``" (one of: ...)"``), else ``""``."""
    pool = sorted(set(choices))
    if not pool:
        return ""
    close = difflib.get_close_matches(value, pool, n=n, cutoff=NEAR)
    if not close:
        # "mars-1" is near nothing: "ams3, tor1" would be a guess dressed as a hint.
        lowered = value.lower()
        close = [c for c in pool if c.lower() == lowered]
    if close:
        return f" (nearest: {', '.join(close)})"
    return f" (one of: {', '.join(pool)})" if len(pool) <= SHOW_ALL else ""


def between(low: int, high: int) -> Callable[[int], str | None]:
    """From ``low`` to ``high``, both included."""

    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be from {low} to {high}; got {value}"

    return check


def at_least(low: int) -> Callable[[int], str | None]:
    """``low`` or more."""

    def check(value: int) -> str | None:
        return None if value >= low else f"must be at least {low}; got {value}"

    return check


def max_bytes(limit: int, *, who: str = "the limit is") -> Callable[[str], str | None]:
    """At most ``limit`` bytes of UTF-8 (user data is limited in bytes); ``who`` words the
    limit in the message (``"EC2 allows"``)."""

    def check(value: str) -> str | None:
        size = len(value.encode("utf-8"))
        return None if size <= limit else f"is {size} bytes long; {who} {limit}"

    return check


def max_chars(limit: int) -> Callable[[str], str | None]:
    """At most ``limit`` characters (descriptions are limited in characters)."""

    def check(value: str) -> str | None:
        size = len(value)
        return None if size <= limit else f"is {size} characters long; the limit is {limit}"

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
