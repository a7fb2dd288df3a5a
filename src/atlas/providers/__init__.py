"""Providers as plugins describe them, and the registry that collects them."""

from __future__ import annotations

from atlas.providers.base import (
    CheckContext,
    CliCommand,
    ProviderInfo,
    Purpose,
    ResourceKind,
    Sandbox,
)
from atlas.providers.registry import KNOWN_PACKAGES, ProviderRegistry

__all__ = [
    "KNOWN_PACKAGES",
    "CheckContext",
    "CliCommand",
    "ProviderInfo",
    "ProviderRegistry",
    "Purpose",
    "ResourceKind",
    "Sandbox",
]
