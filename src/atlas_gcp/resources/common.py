"""What the GCP kinds share: their declaration (the core's kind factory, bound to "gcp"),
the core's small field checks, and GCP's zone rule."""

from __future__ import annotations

import re
from collections.abc import Iterator

from atlas.exceptions import Problem
from atlas.providers.declarations import CheckContext
from atlas.providers.kinds import at_least, between, kind_factory, nearest

__all__ = ["at_least", "between", "kind", "nearest", "zone_problems"]

#: A zone is its region and a letter: ``us-central1-a``.
_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+\d+)-[a-z]$")

#: Declares a GCP resource kind (see :func:`atlas.providers.kinds.kind_factory`).
kind = kind_factory("gcp")


def zone_problems(ctx: CheckContext, zone: str | None, path: str) -> Iterator[Problem]:
    """``zone`` must be a zone of the spec's region (``<region>-<letter>``)."""
    if zone is None:
        return
    match = _ZONE.match(zone)
    if match is None:
        yield Problem(path, f"{zone!r} is not a zone name such as {ctx.spec.region}-a")
    elif match["region"] != ctx.spec.region:
        yield Problem(path, f"{zone!r} is not a zone of {ctx.spec.region}")
