"""Checks of a whole Azure spec: the region (location)."""

from __future__ import annotations

from collections.abc import Iterator

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.declarations import CheckContext
from atlas_azure.catalog import regions

__all__ = ["check_spec"]


def check_spec(spec: InfrastructureSpec, ctx: CheckContext) -> Iterator[Problem]:
    del ctx  # this check needs only the spec
    known = regions()
    if spec.region not in known:
        yield Problem(
            "region",
            f"atlas has Azure prices only for {', '.join(known)} (its source table covers "
            f"US regions alone), not {spec.region!r}",
        )
