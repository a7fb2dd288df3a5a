"""Fixtures shared by every test: a registry built from explicitly chosen plugins, and a
PostgreSQL store of its own for a test that asks (``postgres_url``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import atlas_digitalocean.plugin
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry

# A PostgreSQL database for the run, a schema per test: for every test that asks.
from tests.postgres import postgres_database, postgres_url  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def registry() -> ProviderRegistry:
    """The DigitalOcean plugin alone, registered explicitly (no entry-point scan)."""
    pm = get_plugin_manager(plugins=[atlas_digitalocean.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)
