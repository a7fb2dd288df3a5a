"""Plugins: the hook specifications, the plugin manager factory and its typed facade."""

from __future__ import annotations

from atlas.plugins.hookspecs import hookimpl, hookspec
from atlas.plugins.manager import (
    DISABLE_AUTOLOAD_ENV,
    DISABLE_PLUGINS_ENV,
    ENTRY_POINT_GROUP,
    EventListener,
    Plugins,
    default_plugins,
    get_plugin_manager,
)

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "DISABLE_PLUGINS_ENV",
    "ENTRY_POINT_GROUP",
    "EventListener",
    "Plugins",
    "default_plugins",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]
