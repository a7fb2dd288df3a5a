"""The simplest way in: validate and estimate with every installed plugin.

``atlas.load_spec`` and ``atlas.estimate`` use a registry built once from the plugins installed
in this environment; pass ``registry=`` to use another (tests, or a curated set of plugins).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from atlas.cost.engine import estimate_spec
from atlas.cost.estimate import Estimate
from atlas.model.infrastructure import InfrastructureSpec
from atlas.plugins.manager import default_plugins
from atlas.providers.declarations import Purpose
from atlas.providers.registry import ProviderRegistry
from atlas.spec.validate import validate_spec

__all__ = ["SpecSource", "default_registry", "estimate", "load_spec"]

#: Anything a spec can be read from.
SpecSource = Mapping[str, Any] | str | bytes | os.PathLike[str]


@functools.cache
def default_registry() -> ProviderRegistry:
    """The registry of every plugin installed in this environment (built once)."""
    return ProviderRegistry.from_plugins(default_plugins())


def load_spec(
    source: SpecSource,
    *,
    purpose: Purpose = "create",
    registry: ProviderRegistry | None = None,
    pin: tuple[str, str] | None = None,
) -> InfrastructureSpec:
    """Read and validate a spec; :class:`~atlas.SpecValidationError` lists every problem.

    A portable spec is placed first (``pin``, a recorded ``(provider, region)``, is kept while
    its constraints allow it); see :func:`atlas.spec.validate_spec`."""
    return validate_spec(source, registry=registry or default_registry(), purpose=purpose, pin=pin)


def estimate(
    source: SpecSource | InfrastructureSpec, *, registry: ProviderRegistry | None = None
) -> Estimate:
    """What a spec will cost per month and per hour, with a breakdown per resource.

    Validates for ``purpose="estimate"``, so only what prices depend on is required.
    """
    registry = registry or default_registry()
    if isinstance(source, InfrastructureSpec):
        spec = source
    else:
        spec = validate_spec(source, registry=registry, purpose="estimate")
    return estimate_spec(spec, registry)
