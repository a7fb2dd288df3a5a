"""A registry of the GCP plugin alone."""

from __future__ import annotations

import pytest

import atlas_gcp.plugin
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry


@pytest.fixture(scope="session")
def gcp_registry() -> ProviderRegistry:
    pm = get_plugin_manager(plugins=[atlas_gcp.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)
