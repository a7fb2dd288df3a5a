"""Checks of a whole GCP spec: the region."""

from __future__ import annotations

from collections.abc import Iterator

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.declarations import CheckContext
from atlas_gcp.catalog import regions
from atlas_gcp.resources.common import nearest

__all__ = ["check_spec"]


def check_spec(spec: InfrastructureSpec, ctx: CheckContext) -> Iterator[Problem]:
    del ctx  # this check needs only the spec
    known = regions()
    if spec.region not in known:
        yield Problem(
            "region",
            f"atlas has no GCP prices for region {spec.region!r}{nearest(spec.region, known)}",
        )
