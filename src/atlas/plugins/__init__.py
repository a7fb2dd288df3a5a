"""Plugins: the hook specifications and the plugin manager factory."""

from __future__ import annotations

from atlas.plugins.hookspecs import hookimpl, hookspec
from atlas.plugins.manager import DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP, get_plugin_manager

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]
