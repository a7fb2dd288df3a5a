"""Checks of a whole AWS spec: the region, the infrastructure's name, the tags."""

from __future__ import annotations

from collections.abc import Iterator

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.declarations import CheckContext
from atlas_aws.naming import ATLAS_TAGS, INFRA_NAME, MAX_TAGS, tag_problem
from atlas_aws.prices import load_offerings
from atlas_aws.resources.common import nearest

__all__ = ["check_spec"]


def check_spec(spec: InfrastructureSpec, ctx: CheckContext) -> Iterator[Problem]:
    del ctx  # this check needs only the spec
    regions = load_offerings().regions
    if spec.region not in regions:
        yield Problem(
            "region",
            f"atlas knows no AWS region {spec.region!r} offline{nearest(spec.region, regions)}",
        )
    if not INFRA_NAME.match(spec.name):
        yield Problem("name", f"{spec.name!r} cannot start AWS names: use letters, digits and '-'")
    if len(spec.tags) > MAX_TAGS - ATLAS_TAGS:
        yield Problem("tags", f"AWS allows {MAX_TAGS} tags, {ATLAS_TAGS} of them atlas's own")
    for key, value in spec.tags.items():
        why = tag_problem(key, value)
        if why is not None:
            yield Problem(f"tags.{key}", why)
