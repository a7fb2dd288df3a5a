"""What the DigitalOcean resource kinds share: their declaration and the checks every kind
(or several) makes."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator

from atlas.exceptions import Problem
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.declarations import CheckContext
from atlas.providers.kinds import between, kind_factory, max_bytes, max_chars, nearest
from atlas.spec import NAME_PATTERN
from atlas_digitalocean.naming import (
    INFRA_NAME,
    NAME_RULES,
    TAG_PATTERN,
    TAGGED,
    UID_LENGTH,
    object_name,
    resource_tag,
)

__all__ = [
    "between",
    "check_catalog_choice",
    "check_cloud_names",
    "check_size",
    "check_tags",
    "count_of",
    "kind",
    "max_bytes",
    "max_chars",
    "nearest",
    "valid_address",
]


def count_of(res: ResourceSpec) -> int:
    """How many objects a resource makes: a droplet's ``count``, one for any other kind."""
    return int(getattr(res.specifications, "count", 1))


#: An IPv4 address or CIDR block in its usual form (``203.0.113.0/24``): octets of 0 to 255
#: without leading zeros, a prefix of 0 to 32. All of them are valid; anything else is left to
#: :mod:`ipaddress`, which is exact but slow for firewalls of thousands of rules.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:3[0-2]|[12]?[0-9]))?")


def valid_address(value: str) -> str | None:
    """An IPv4/IPv6 address or network, as firewall rules take them."""
    if _PLAIN_IPV4.fullmatch(value):
        return None
    # With a colon it can only be IPv6 (``::/0``): no IPv4 attempt to fail first.
    parse = ipaddress.IPv6Network if ":" in value else ipaddress.ip_network
    try:
        parse(value, strict=False)
    except ValueError:
        return f"{value!r} is not an IP address or CIDR block"
    return None


def check_catalog_choice(
    value: str, choices: Iterable[str], what: str, path: str
) -> Iterator[Problem]:
    pool = tuple(choices)
    if pool and value not in pool:
        yield Problem(path, f"unknown {what} {value!r}{nearest(value, pool)}")


def check_size(ctx: CheckContext, kind_name: str, size: str) -> Iterator[Problem]:
    """``size`` must be one the price catalog knows for the kind, when there is a catalog."""
    if ctx.catalog is not None and ctx.catalog.price(f"{kind_name}:{size}") is None:
        sizes = ctx.catalog.variants(kind_name)  # only for the message: nearest choices
        yield from check_catalog_choice(size, sizes, f"{kind_name} size", "specifications.size")


def check_tags(tags: Iterable[str], path: str) -> Iterator[Problem]:
    """Each of ``tags`` (at ``path[i]``) must be a tag DigitalOcean accepts."""
    for i, tag in enumerate(tags):
        if not TAG_PATTERN.match(tag):
            yield Problem(f"{path}[{i}]", f"{tag!r} is not a valid tag")


def check_cloud_names(res: ResourceSpec, ctx: CheckContext) -> Iterator[Problem]:
    """The names and tags DigitalOcean will be given must be ones it accepts; the advice
    offered is a name that passes every one of those rules (and the spec's own)."""
    if not INFRA_NAME.match(ctx.spec.name):
        return  # reported once, at the top
    why = _name_refused(res.type, ctx.spec.name, res.name, count_of(res))
    if why is None:
        return
    better = _better_name(res.type, ctx.spec.name, res.name, count_of(res))
    advice = f"; try {better!r}" if better is not None else ""
    yield Problem("name", f"{why}{advice}")


def _name_refused(kind: str, infra: str, name: str, count: int) -> str | None:
    uid = "0" * UID_LENGTH  # every uid has this length and alphabet
    longest = object_name(kind, infra, uid, name, count if count > 1 else None)
    why = NAME_RULES[kind].refuses(longest)
    if why:
        return f"the DigitalOcean name {longest!r} {why}"
    if kind in TAGGED and not TAG_PATTERN.match(resource_tag(uid, name)):
        return f"{name!r} cannot be part of a DigitalOcean tag: letters, digits, '-' and '_' only"
    return None


def _better_name(kind: str, infra: str, name: str, count: int) -> str | None:
    """``name`` made acceptable: other characters become '-', lowercase where DigitalOcean
    wants DNS labels; ``None`` when no simple fix passes every rule."""
    candidate = re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")
    if NAME_RULES[kind].description.startswith("lowercase"):
        candidate = candidate.lower()
    if not candidate or candidate == name:
        return None
    if not NAME_PATTERN.match(candidate) or _name_refused(kind, infra, candidate, count):
        return None
    return candidate


#: Declares a DigitalOcean resource kind (see :func:`atlas.providers.kinds.kind_factory`):
#: each kind's own check runs after the one every kind shares, that the names and tags
#: DigitalOcean will be given are ones it accepts.
kind = kind_factory("digitalocean", every=check_cloud_names)
