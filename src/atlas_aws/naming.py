"""How atlas names and tags what it creates on AWS.

Everything atlas makes on EC2 is tagged in the create call itself (``TagSpecifications``), so
that an object whose create answer was lost carries its marks from the first moment:

- ``atlas:owner`` = the owner's uid (the infrastructure);
- ``atlas:resource`` = ``<uid>:<resource>`` (the spec resource);
- ``atlas:first`` = the index of the first object of the ``RunInstances`` call that made it, so
  that the objects of one counted resource keep their index order across calls (each
  instance's index is ``atlas:first`` plus its ``AmiLaunchIndex``);
- ``Name`` = ``<infrastructure>-<resource>`` (``-<n>`` for one of several), as the console
  shows it; security groups also get it as their ``GroupName``, with the uid, since group
  names must be unique per VPC.

An instance's root volume is tagged ``atlas:root-of`` = ``<uid>:<resource>`` instead of the two
ownership marks: it goes with its instance and is no volume resource of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "DB_IDENTIFIER",
    "ELB_NAME",
    "ELB_NAME_MAX",
    "FIRST_TAG",
    "INFRA_NAME",
    "MAX_TAGS",
    "NAME_TAG",
    "OWNER_TAG",
    "RESOURCE_TAG",
    "ROOT_TAG",
    "db_identifier",
    "elb_name",
    "group_name",
    "object_name",
    "ownership_tags",
    "resource_mark",
    "resource_of",
    "tag_dict",
    "tag_problem",
    "target_group_name",
]

OWNER_TAG = "atlas:owner"
RESOURCE_TAG = "atlas:resource"
FIRST_TAG = "atlas:first"
#: On an instance's root volume: whose it is (``<uid>:<resource>``).
ROOT_TAG = "atlas:root-of"
NAME_TAG = "Name"
#: AWS allows 50 tags per resource; atlas uses up to four of them.
MAX_TAGS = 50
ATLAS_TAGS = 4
#: Infrastructure names start every object's name.
INFRA_NAME = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")
#: Letters, digits, spaces and ``+ - = . _ : / @`` (the tag rule of most AWS services).
_TAG_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$")


def object_name(infrastructure: str, resource: str, index: int | None = None) -> str:
    """``<infrastructure>-<resource>``, with ``-<index>`` (from 1) for one of several."""
    base = f"{infrastructure}-{resource}"
    return base if index is None else f"{base}-{index}"


def group_name(infrastructure: str, uid: str, resource: str) -> str:
    """A security group's ``GroupName``: unique per VPC, so the uid is part of it."""
    return f"{infrastructure}-{resource}-{uid}"


def resource_mark(uid: str, resource: str) -> str:
    """The value of ``atlas:resource`` on the objects of one resource."""
    return f"{uid}:{resource}"


def ownership_tags(uid: str, infrastructure: str, resource: str) -> dict[str, str]:
    """atlas's own tags for an object of ``resource`` (without ``atlas:first``)."""
    return {
        OWNER_TAG: uid,
        RESOURCE_TAG: resource_mark(uid, resource),
        NAME_TAG: object_name(infrastructure, resource),
    }


def resource_of(uid: str, tags: Mapping[str, str]) -> str | None:
    """Which resource of the owner ``uid`` an object carrying ``tags`` belongs to."""
    mark = tags.get(RESOURCE_TAG, "")
    prefix = f"{uid}:"
    return mark[len(prefix) :] if mark.startswith(prefix) and len(mark) > len(prefix) else None


def tag_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """EC2's ``[{"Key", "Value"}]`` as a dict."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or ()}


def tag_problem(key: str, value: str) -> str | None:
    """Why AWS would refuse the tag ``key=value``, or ``None``."""
    if key.lower().startswith("aws:"):
        return "keys starting with 'aws:' are reserved by AWS"
    if key.startswith("atlas:"):
        return "keys starting with 'atlas:' are atlas's own ownership marks"
    if not 1 <= len(key) <= 128:
        return f"a tag key is 1 to 128 characters; this one is {len(key)}"
    if len(value) > 256:
        return f"a tag value is at most 256 characters; this one is {len(value)}"
    if not (_TAG_CHARS.match(key) and _TAG_CHARS.match(value)):
        return "tags take letters, digits, spaces and + - = . _ : / @ only"
    return None


#: RDS identifiers: 1 to 63 letters, digits and hyphens, a letter first, no ``--``, no
#: hyphen last (AWS lowercases them).
DB_IDENTIFIER = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-))*(?<!-)$")
DB_IDENTIFIER_MAX = 63


def db_identifier(infrastructure: str, uid: str, resource: str) -> str:
    """A DB instance's ``DBInstanceIdentifier`` (and its subnet group's name): unique per
    account and region, so it ends in a digest of the resource's mark; what can be kept of
    ``<infrastructure>-<resource>`` comes first, as the console shows it."""

    digest = hashlib.sha256(resource_mark(uid, resource).encode()).hexdigest()[:10]
    base = re.sub(r"[^a-z0-9]+", "-", f"{infrastructure}-{resource}".lower()).strip("-")
    if not base[:1].isalpha():
        base = f"db-{base}".rstrip("-")
    base = base[: DB_IDENTIFIER_MAX - len(digest) - 1].rstrip("-")
    return f"{base}-{digest}"


# -- ELBv2 names ----------------------------------------------------------------------------

#: ELBv2's limit for load balancer and target group names.
ELB_NAME_MAX = 32
ELB_NAME = re.compile(r"^(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$")


def _elb_part(text: str, size: int) -> str:
    """``text`` cut to ``size`` characters of letters, digits and single hyphens."""
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-zA-Z0-9-]", "-", text)).strip("-")
    return cleaned[:size].rstrip("-")


def _digest(*parts: str, size: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:size]


def elb_name(infrastructure: str, uid: str, resource: str) -> str:
    """A load balancer's name: ``<infrastructure>-<resource>`` cut to fit, then eight hex
    digits of the resource's mark, so it is unique per owner and resource, within ELB's 32
    characters and never starting with ``internal-`` (ELB's prefix for internal DNS names)."""
    readable = _elb_part(f"{infrastructure}-{resource}", ELB_NAME_MAX - 9)
    if readable.lower().startswith("internal"):
        readable = _elb_part("lb-" + readable, ELB_NAME_MAX - 9)
    digest = _digest(resource_mark(uid, resource))
    return f"{readable}-{digest}" if readable else f"lb-{digest}"


def target_group_name(uid: str, resource: str, listener: str) -> str:
    """A target group's name: ``tg-`` and hex digits of the resource's mark and of the
    listener it serves (``listener`` says protocol and ports): a listener changed in a way
    a target group cannot follow gets a new group."""
    return f"tg-{_digest(resource_mark(uid, resource), size=12)}-{_digest(listener, size=8)}"
