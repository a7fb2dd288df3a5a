"""The memory plugin: hook implementations only.

It is not registered under the ``atlas`` entry point (users never see a ``memory`` provider);
tests register it explicitly, with :func:`atlas.testing.memory.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence

from atlas.cost.catalog import PriceCatalog
from atlas.plugins import hookimpl
from atlas.providers.declarations import ProviderInfo, ResourceKind, Sandbox
from atlas.testing.memory.kinds import KINDS, check_spec
from atlas.testing.memory.provider import TOKEN, MemoryProvider

__all__ = ["PROVIDER"]

PROVIDER = ProviderInfo(
    name="memory",
    title="Memory cloud (for tests)",
    package="atlas-infra",
    check=check_spec,
    factory=MemoryProvider.from_config,
    credentials=TOKEN,
    ready_timeouts={"network": 60.0, "server": 120.0, "disk": 60.0},
    currency="USD",
    example={
        "name": "web-app",
        "provider": "memory",
        "region": "mem-1",
        "resources": [
            {"type": "network", "name": "lan", "specifications": {"ip_range": "10.20.0.0/16"}},
            {
                "type": "server",
                "name": "web",
                "specifications": {"size": "small", "image": "debian-12", "network": "lan"},
            },
        ],
        "tags": {"env": "dev"},
    },
)


@hookimpl
def atlas_add_providers() -> Sequence[ProviderInfo]:
    return [PROVIDER]


@hookimpl
def atlas_add_resource_kinds() -> Sequence[ResourceKind]:
    return KINDS


@hookimpl
def atlas_add_price_catalogs() -> Sequence[PriceCatalog]:
    return [PriceCatalog.from_package("atlas.testing.memory.data", "prices.toml")]


@hookimpl
def atlas_sandbox(provider: str) -> Sandbox | None:
    if provider != PROVIDER.name:
        return None
    from atlas.testing.memory.sandbox import make_sandbox  # noqa: PLC0415 - only when asked

    return make_sandbox()
