"""How atlas names and tags what it creates on DigitalOcean, and the rules DigitalOcean enforces.

Every cloud object gets a deterministic name, ``<infrastructure>-<resource>`` (plus ``-<n>`` for
each of several identical droplets), so that a create whose answer was lost can be found again.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["NAME_RULES", "TAG_PATTERN", "NameRule", "cloud_name", "spec_tag"]

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
    """The name atlas gives a resource on DigitalOcean (``index`` counts from 1)."""
    base = f"{infrastructure}-{resource}"
    return base if index is None else f"{base}-{index}"


def spec_tag(key: str, value: str) -> str:
    """A spec tag ``{key: value}`` as a DigitalOcean tag string."""
    return f"{key}:{value}" if value else key
