"""How atlas names and tags what it creates on DigitalOcean, and the rules DigitalOcean enforces.

Every cloud object gets a deterministic name, so that a create whose answer was lost can be
found again: droplets ``<infrastructure>-<resource>`` (``-<n>`` for each of several identical
ones); the kinds whose names must be unique in the account (volumes per region, databases,
load balancers, firewalls, VPCs) add the owner's uid, ``<infrastructure>-<resource>-<uid>``.
Droplets, volumes and databases also carry tags: ``atlas:<uid>`` for the infrastructure and
``atlas:<uid>:<resource>`` for the resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

__all__ = [
    "INFRA_NAME",
    "NAME_RULES",
    "TAGGED",
    "TAG_PATTERN",
    "UID_LENGTH",
    "NameRule",
    "cloud_name",
    "object_name",
    "owner_tag",
    "resource_named",
    "resource_of",
    "resource_tag",
    "spec_tag",
]

#: Length of :attr:`atlas.model.cloud.Owner.uid`.
UID_LENGTH = 8
#: Infrastructure names start every object's name (no DigitalOcean name takes '_') and go into
#: tags (which take no '.').
INFRA_NAME = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")
#: Kinds DigitalOcean lets atlas tag (the others are found by name).
TAGGED = frozenset({"droplet", "volume", "database"})
#: Kinds whose names atlas makes unique with the owner's uid.
UNIQUE_NAMED = frozenset({"volume", "database", "load_balancer", "firewall", "vpc"})

#: DigitalOcean tag names (``^[a-zA-Z0-9_\-\:]+$``, at most 255 characters).
TAG_PATTERN = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")


@attrs.frozen
class NameRule:
    """What DigitalOcean accepts as the name of one kind of object."""

    pattern: re.Pattern[str]
    max_length: int
    description: str

    def refuses(self, name: str) -> str | None:
        if len(name) > self.max_length:
            return f"is {len(name)} characters long; DigitalOcean allows {self.max_length}"
        if not self.pattern.match(name):
            return f"is refused by DigitalOcean: {self.description}"
        return None


_DNS = "lowercase letters, digits and '-', starting with a letter"
#: Patterns from DigitalOcean's OpenAPI document where it gives one; database names become part
#: of the cluster's host name, so they follow the DNS label rule.
NAME_RULES: dict[str, NameRule] = {
    "droplet": NameRule(
        re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$"),
        255,
        "letters, digits, '.' and '-', starting and ending with a letter or digit",
    ),
    "volume": NameRule(re.compile(r"^[a-z][a-z0-9-]*$"), 64, _DNS),
    "database": NameRule(re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$"), 63, _DNS),
    "load_balancer": NameRule(
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]*$"), 255, "letters, digits, '.' and '-'"
    ),
    "firewall": NameRule(
        re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]+$"), 255, "letters, digits, '.' and '-'"
    ),
    "vpc": NameRule(re.compile(r"^[a-zA-Z0-9\-.]+$"), 255, "letters, digits, '.' and '-'"),
}


def cloud_name(infrastructure: str, resource: str, index: int | None = None) -> str:
    """``<infrastructure>-<resource>``, with ``-<index>`` (counting from 1) when given."""
    base = f"{infrastructure}-{resource}"
    return base if index is None else f"{base}-{index}"


def object_name(
    kind: str, infrastructure: str, uid: str, resource: str, index: int | None = None
) -> str:
    """The name atlas gives one object of ``kind`` on DigitalOcean."""
    if kind in UNIQUE_NAMED:
        return f"{cloud_name(infrastructure, resource)}-{uid}"
    return cloud_name(infrastructure, resource, index)


def owner_tag(uid: str) -> str:
    """The tag on everything taggable that an infrastructure owns."""
    return f"atlas:{uid}"


def resource_tag(uid: str, resource: str) -> str:
    """The tag on the objects of one resource."""
    return f"atlas:{uid}:{resource}"


def spec_tag(key: str, value: str) -> str:
    """A spec tag ``{key: value}`` as a DigitalOcean tag string."""
    return f"{key}:{value}" if value else key


def resource_of(uid: str, tags: Iterable[str]) -> str | None:
    """Which resource of the owner ``uid`` an object carrying ``tags`` belongs to, if any."""
    prefix = resource_tag(uid, "")
    return next((tag[len(prefix) :] for tag in tags if tag.startswith(prefix)), None)


def resource_named(infrastructure: str, uid: str, name: str) -> str | None:
    """Which resource an object called ``name`` belongs to, for the kinds named
    ``<infrastructure>-<resource>-<uid>`` (those that cannot carry tags), if any."""
    prefix, suffix = f"{infrastructure}-", f"-{uid}"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    resource = name[len(prefix) : -len(suffix)]
    # The uid alone tells owners apart; checking the rebuilt name keeps out near misses.
    rebuilt = f"{cloud_name(infrastructure, resource)}{suffix}"
    return resource if resource and rebuilt == name else None
