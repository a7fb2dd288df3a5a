"""The plugin manager factory and :class:`Plugins`, the one typed face of it.

Importing this module does nothing; calling :func:`get_plugin_manager` or :func:`default_plugins`
loads plugins. The rest of atlas (the registry, the CLI, the sandbox, events) asks
:class:`Plugins` instead of calling ``pm.hook`` itself, so every hook call is typed in one place.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs
import pluggy

from atlas.exceptions import PluginError
from atlas.plugins import hookspecs

if TYPE_CHECKING:
    from atlas.cost.catalog import Price, PriceCatalog
    from atlas.portable.contract import PortableTranslator
    from atlas.providers.declarations import CliCommand, ProviderInfo, ResourceKind, Sandbox

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "DISABLE_PLUGINS_ENV",
    "ENTRY_POINT_GROUP",
    "EventListener",
    "Plugins",
    "default_plugins",
    "get_plugin_manager",
]

#: Distributions advertise plugins under this entry-point group.
ENTRY_POINT_GROUP = "atlas"
#: Set to a non-empty value to load no plugin from entry points (explicit ones still load).
DISABLE_AUTOLOAD_ENV = "ATLAS_DISABLE_PLUGIN_AUTOLOAD"
#: Comma-separated entry-point names of plugins not to load (``ATLAS_DISABLE_PLUGINS=nimbus``).
DISABLE_PLUGINS_ENV = "ATLAS_DISABLE_PLUGINS"


def get_plugin_manager(
    *,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
    blocked: Iterable[str] | None = None,
) -> pluggy.PluginManager:
    """A fresh plugin manager with atlas's hooks, ``plugins`` registered and, unless disabled,
    every plugin installed under the ``atlas`` entry-point group.

    :param plugins: modules or objects with ``@hookimpl`` functions.
    :param autoload: load entry-point plugins; ``None`` means yes unless
        ``ATLAS_DISABLE_PLUGIN_AUTOLOAD`` is set.
    :param blocked: entry-point names not to load (pluggy's ``set_blocked``); ``None`` means
        those listed in ``ATLAS_DISABLE_PLUGINS``.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    if blocked is None:
        blocked = [n for n in os.environ.get(DISABLE_PLUGINS_ENV, "").split(",") if n.strip()]
    for name in blocked:
        pm.set_blocked(name.strip())
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


class Plugins:
    """Every hook atlas calls, typed, over one plugin manager (as tox's ``plugin/manager.py``
    wraps ``pm.hook``)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    @classmethod
    def load(
        cls,
        *,
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        blocked: Iterable[str] | None = None,
    ) -> Plugins:
        """Plugins loaded as :func:`get_plugin_manager` loads them."""
        return cls(get_plugin_manager(plugins=plugins, autoload=autoload, blocked=blocked))

    def names(self) -> list[str]:
        """The names plugins are registered under (entry-point names for installed ones)."""
        return sorted(n for n, p in self.pm.list_name_plugin() if p is not None)

    def providers(self) -> list[ProviderInfo]:
        return [info for group in self.pm.hook.atlas_add_providers() for info in group]

    def resource_kinds(self) -> list[ResourceKind]:
        return [kind for group in self.pm.hook.atlas_add_resource_kinds() for kind in group]

    def price_catalogs(self) -> list[PriceCatalog]:
        return [c for group in self.pm.hook.atlas_add_price_catalogs() for c in group]

    def adjusts_prices(self) -> bool:
        """Whether any plugin adjusts prices (asked per price: skip the call when none does)."""
        return bool(self.pm.hook.atlas_adjust_price.get_hookimpls())

    def adjust_price(self, provider: str, sku: str, price: Price) -> Price | None:
        result: Price | None = self.pm.hook.atlas_adjust_price(
            provider=provider, sku=sku, price=price
        )
        return result

    def cli_commands(self) -> list[CliCommand]:
        return [c for group in self.pm.hook.atlas_cli_commands() for c in group]

    def emulator(self, provider: str) -> CliCommand | None:
        """The command serving ``provider``'s emulator, from the first plugin that has one."""
        found: CliCommand | None = self.pm.hook.atlas_emulator(provider=provider)
        return found

    def emulated(self) -> list[str]:
        """The providers (by name) some plugin offers an emulator of."""
        return sorted(i.name for i in self.providers() if self.emulator(i.name) is not None)

    def sandbox(self, provider: str) -> Sandbox | None:
        """A fresh sandbox for ``provider`` from the first plugin that offers one."""
        found: Sandbox | None = self.pm.hook.atlas_sandbox(provider=provider)
        return found

    def portable_translator(self, provider: str) -> PortableTranslator | None:
        """The translator of portable kinds for ``provider`` from the first plugin that
        offers one."""
        found: PortableTranslator | None = self.pm.hook.atlas_portable_translator(provider=provider)
        return found

    def event_listeners(self) -> list[EventListener]:
        """The ``atlas_on_event`` implementations, in pluggy's calling order (the last
        registered first), each to be delivered to on its own: one that fails keeps its
        events queued without holding back the others."""
        listeners: list[EventListener] = []
        seen: set[str] = set()
        for impl in reversed(self.pm.hook.atlas_on_event.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            name = f"hook:{impl.plugin_name}"
            while name in seen:  # one plugin implementing the hook twice (specname)
                name += "'"
            seen.add(name)
            listeners.append(EventListener(name, impl.function, tuple(impl.argnames)))
        return listeners


@attrs.frozen
class EventListener:
    """One plugin's ``atlas_on_event``: ``function`` takes the arguments named ``argnames``
    (pluggy lets an implementation take fewer than the hook offers)."""

    name: str
    function: Callable[..., object]
    argnames: tuple[str, ...]


@functools.cache
def default_plugins() -> Plugins:
    """The plugins installed in this environment, loaded once per process."""
    return Plugins.load()
