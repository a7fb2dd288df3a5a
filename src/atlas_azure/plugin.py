"""The Azure plugin: hook implementations only.

Estimate-only for now: the provider has no live side (no ``factory``, no sandbox), so
``atlas plan`` and ``apply`` refuse it with a message while ``estimate`` and ``validate`` work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from atlas.cost.catalog import PriceCatalog
from atlas.plugins import hookimpl
from atlas.providers.declarations import ProviderInfo, ResourceKind
from atlas_azure.catalog import load_price_catalog
from atlas_azure.checks import check_spec
from atlas_azure.resources import KINDS

if TYPE_CHECKING:
    from atlas.portable.contract import PortableTranslator

PROVIDER = ProviderInfo(
    name="azure",
    title="Microsoft Azure",
    package="atlas-infra",
    check=check_spec,
    aliases=("az",),
    currency="USD",
    example={
        "name": "web-app",
        "provider": "azure",
        "region": "eastus",
        "resources": [
            {
                "type": "virtual_machine",
                "name": "web",
                "specifications": {"size": "Standard_B2s", "image": "Ubuntu2404"},
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
    from atlas_azure.portable import AzureTranslator  # noqa: PLC0415 - only for portable specs

    return AzureTranslator()
