"""A reference provider on a small in-process cloud, for atlas's tests and plugin authors.

    registry = atlas.testing.memory.registry()       # the memory plugin alone
    sandbox = atlas.testing.memory.make_sandbox()    # a provider on a fresh cloud, fake clock

:class:`MemoryCloud` (``cloud.py``) is the "API": objects with ids, names, marks and
statuses that take time to settle, a token check, a call log, rate limits and fault
injection. :class:`MemoryProvider` (``provider.py`` and ``handlers.py``) is a live provider
written on the public SPI only; ``kinds.py`` declares its kinds and ``plugin.py`` its hooks.
The plugin has no entry point: it is registered explicitly, never shown to users.
"""

from __future__ import annotations

from atlas.plugins.manager import get_plugin_manager
from atlas.providers.registry import ProviderRegistry
from atlas.testing.memory import plugin
from atlas.testing.memory.clock import ManualClock, RealClock
from atlas.testing.memory.cloud import Latencies, MemoryCloud, MemoryObject, NewObject, RateLimit
from atlas.testing.memory.kinds import KINDS
from atlas.testing.memory.provider import MemoryProvider
from atlas.testing.memory.sandbox import SAMPLES, make_sandbox

__all__ = [
    "KINDS",
    "SAMPLES",
    "Latencies",
    "ManualClock",
    "MemoryCloud",
    "MemoryObject",
    "MemoryProvider",
    "NewObject",
    "RateLimit",
    "RealClock",
    "make_sandbox",
    "plugin",
    "registry",
]


def registry() -> ProviderRegistry:
    """A registry of the memory plugin alone (no entry-point scan)."""
    return ProviderRegistry.from_plugin_manager(
        get_plugin_manager(plugins=[plugin], autoload=False)
    )
