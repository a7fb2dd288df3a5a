"""The plugin manager factory. Importing this module does nothing; calling the factory does."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pluggy

from atlas.exceptions import PluginError
from atlas.plugins import hookspecs

__all__ = ["DISABLE_AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "get_plugin_manager"]

#: Distributions advertise plugins under this entry-point group.
ENTRY_POINT_GROUP = "atlas"
#: Set to a non-empty value to load no plugin from entry points (explicit ones still load).
DISABLE_AUTOLOAD_ENV = "ATLAS_DISABLE_PLUGIN_AUTOLOAD"


def get_plugin_manager(
    *, plugins: Iterable[object] = (), autoload: bool | None = None
) -> pluggy.PluginManager:
    """A fresh plugin manager with atlas's hooks, ``plugins`` registered and, unless disabled,
    every plugin installed under the ``atlas`` entry-point group.

    :param plugins: modules or objects with ``@hookimpl`` functions.
    :param autoload: load entry-point plugins; ``None`` means yes unless
        ``ATLAS_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    try:
        if autoload:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for plugin in plugins:
            # A plugin both installed and passed explicitly is registered once.
            if not pm.is_registered(plugin):
                pm.register(plugin)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        # A misspelt or mistyped hook in one plugin: say which, instead of a traceback.
        raise PluginError(f"plugin {exc.plugin!r} is invalid: {exc}") from exc
    return pm
