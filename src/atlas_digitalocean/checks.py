"""Checks of a whole spec that DigitalOcean would otherwise refuse: region, tags, names."""

from __future__ import annotations

from collections.abc import Iterator

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.declarations import CheckContext
from atlas_digitalocean.naming import INFRA_NAME, TAG_PATTERN, spec_tag
from atlas_digitalocean.prices import load_offerings
from atlas_digitalocean.resources.common import check_catalog_choice

__all__ = ["check_spec"]


def check_spec(spec: InfrastructureSpec, ctx: CheckContext) -> Iterator[Problem]:
    del ctx  # this check needs only the spec
    yield from check_catalog_choice(spec.region, load_offerings().regions, "region", "region")
    # The infrastructure name starts every object's name: no DigitalOcean name takes '_',
    # and tags take no '.'.
    if not INFRA_NAME.match(spec.name):
        yield Problem(
            "name", f"{spec.name!r} cannot start DigitalOcean names: use letters, digits and '-'"
        )
    for key, value in spec.tags.items():
        tag = spec_tag(key, value)
        if not TAG_PATTERN.match(tag):
            yield Problem(
                f"tags.{key}",
                f"becomes the DigitalOcean tag {tag!r}, which allows only letters, digits, "
                "'-', '_' and ':' (at most 255 characters)",
            )
