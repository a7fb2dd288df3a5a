"""What the AWS resource kinds share: their declaration and the checks several make."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.declarations import CheckContext, KindCheck, Pricer, ResourceKind

__all__ = [
    "between",
    "cidr_problem",
    "kind",
    "max_bytes",
    "nearest",
    "network",
    "referenced",
    "zone_problems",
]

#: The prefix lengths EC2 accepts for a VPC's or a subnet's IPv4 block.
PREFIX_RANGE = (16, 28)


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
    """An AWS resource kind (see :class:`~atlas.providers.ResourceKind` for ``options``)."""
    return ResourceKind(
        provider="aws",
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


def max_bytes(limit: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        size = len(value.encode("utf-8"))
        return None if size <= limit else f"is {size} bytes long; EC2 allows {limit}"

    return check


def network(value: str) -> ipaddress.IPv4Network | None:
    """``value`` as an IPv4 network, or ``None`` when it is not one (see :func:`cidr_problem`)."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


def cidr_problem(value: str, *, sized: bool = True) -> str | None:
    """Why ``value`` is not an IPv4 CIDR block EC2 accepts (``sized``: for a VPC or subnet,
    /16 to /28), or ``None``."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"{value!r} is not a CIDR block ({exc})"
    if not isinstance(net, ipaddress.IPv4Network):
        return f"{value!r} is not an IPv4 CIDR block"
    low, high = PREFIX_RANGE
    if sized and not low <= net.prefixlen <= high:
        return f"EC2 takes a /{low} to /{high} block; {value!r} is a /{net.prefixlen}"
    return None


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


def zone_problems(ctx: CheckContext, zone: str | None, path: str) -> Iterator[Problem]:
    """``zone`` must be a zone of the spec's region."""
    from atlas_aws.prices import load_offerings  # noqa: PLC0415 - avoids an import cycle

    if zone is None:
        return
    zones = load_offerings().zones.get(ctx.spec.region)
    if zones is not None and zone not in zones:
        yield Problem(path, f"{zone!r} is not a zone of {ctx.spec.region}{nearest(zone, zones)}")
