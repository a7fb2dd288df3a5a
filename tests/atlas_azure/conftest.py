"""A registry of the Azure plugin alone."""

from __future__ import annotations

import pytest

import atlas_azure.plugin
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry


@pytest.fixture(scope="session")
def azure_registry() -> ProviderRegistry:
    pm = get_plugin_manager(plugins=[atlas_azure.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)
