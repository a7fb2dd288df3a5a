"""The GCP plugin: hook implementations only.

Estimate-only for now: the provider has no live side (no ``factory``, no sandbox), so
``atlas plan`` and ``apply`` refuse it with a message while ``estimate`` and ``validate`` work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from atlas.cost.catalog import PriceCatalog
from atlas.plugins import hookimpl
from atlas.providers.declarations import ProviderInfo, ResourceKind
from atlas_gcp.catalog import load_price_catalog
from atlas_gcp.checks import check_spec
from atlas_gcp.resources import KINDS

if TYPE_CHECKING:
    from atlas.portable.contract import PortableTranslator

PROVIDER = ProviderInfo(
    name="gcp",
    title="Google Cloud",
    package="atlas-infra",
    check=check_spec,
    aliases=("google",),
    currency="USD",
    example={
        "name": "web-app",
        "provider": "gcp",
        "region": "us-central1",
        "resources": [
            {
                "type": "instance",
                "name": "web",
                "specifications": {"machine_type": "e2-small", "image": "debian-12"},
            }
        ],
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
    return [load_price_catalog()]


@hookimpl
def atlas_portable_translator(provider: str) -> PortableTranslator | None:
    if provider != PROVIDER.name:
        return None
    from atlas_gcp.portable import GcpTranslator  # noqa: PLC0415 - only for portable specs

    return GcpTranslator()
