"""Fixtures for the AWS tests: a registry of the AWS plugin alone, and a sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import atlas_aws.plugin
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry, Sandbox
from atlas_aws.sandbox import make_sandbox


@pytest.fixture(scope="session")
def aws_registry() -> ProviderRegistry:
    """The AWS plugin alone, registered explicitly (no entry-point scan)."""
    pm = get_plugin_manager(plugins=[atlas_aws.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh account on the process's emulator."""
    import asyncio

    made = make_sandbox()
    yield made
    asyncio.run(made.provider.aclose())
