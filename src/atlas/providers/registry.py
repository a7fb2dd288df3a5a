"""The providers, resource kinds and price catalogs that installed plugins registered."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pluggy

from atlas.cost.catalog import Price, PriceCatalog
from atlas.cost.estimate import PriceLookup
from atlas.credentials import CredentialChain, CredentialSpec, Secret
from atlas.exceptions import (
    DuplicateProviderError,
    DuplicateResourceKindError,
    PluginError,
    ProviderNotFoundError,
    ProvisioningUnavailableError,
)
from atlas.plugins.manager import (
    DISABLE_AUTOLOAD_ENV,
    DISABLE_PLUGINS_ENV,
    Plugins,
    default_plugins,
)
from atlas.providers.contract import Provider, ProviderConfig
from atlas.providers.declarations import ProviderInfo, ResourceKind, Sandbox

if TYPE_CHECKING:
    from atlas.portable.contract import PortableTranslator

__all__ = ["ProviderRegistry", "not_live_message"]


def not_live_message(info: ProviderInfo) -> str:
    """Why ``plan`` and ``apply`` refuse a provider whose plugin has no live side."""
    return (
        f"provisioning on {info.title} (provider {info.name!r}) is not available yet: its "
        "plugin can estimate and validate, not create resources; `atlas estimate` and "
        "`atlas validate` work for this spec"
    )


class ProviderRegistry:
    """An immutable view of what the plugins of one plugin manager registered."""

    def __init__(
        self,
        providers: Mapping[str, ProviderInfo],
        kinds: Mapping[str, Mapping[str, ResourceKind]],
        catalogs: Mapping[str, PriceCatalog],
        plugins: Plugins | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._kinds = {p: dict(k) for p, k in kinds.items()}
        self._catalogs = dict(catalogs)
        self._plugins = plugins
        self._adjusts = plugins is not None and plugins.adjusts_prices()

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager) -> ProviderRegistry:
        """The registrations of ``pm``'s plugins (see :meth:`from_plugins`)."""
        return cls.from_plugins(Plugins(pm))

    @classmethod
    def from_plugins(cls, plugins: Plugins) -> ProviderRegistry:
        """Collect registrations; two claims on one name are refused, never silently merged."""
        providers: dict[str, ProviderInfo] = {}
        for info in plugins.providers():
            if info.name in providers:
                first = providers[info.name].package
                raise DuplicateProviderError(
                    f"provider {info.name!r} is registered twice: by {first} and by "
                    f"{info.package}; uninstall one of them"
                )
            providers[info.name] = info
        kinds: dict[str, dict[str, ResourceKind]] = {name: {} for name in providers}
        for kind in plugins.resource_kinds():
            _add_kind(kinds, kind)
        catalogs: dict[str, PriceCatalog] = {}
        for catalog in plugins.price_catalogs():
            if catalog.provider in catalogs:
                raise PluginError(f"two price catalogs claim provider {catalog.provider!r}")
            claimant = providers.get(catalog.provider)
            if claimant is not None and catalog.currency != claimant.currency:
                # Records, events and budgets take the provider's currency: prices in
                # another would be summed with them.
                raise PluginError(
                    f"the price catalog of {catalog.provider!r} is in {catalog.currency}, but "
                    f"the provider declares {claimant.currency}; declare the same currency in both"
                )
            catalogs[catalog.provider] = catalog
        return cls(providers, kinds, catalogs, plugins)

    @property
    def plugins(self) -> Plugins | None:
        """The plugins the registrations came from (for hooks beyond registration)."""
        return self._plugins

    @property
    def plugin_manager(self) -> pluggy.PluginManager | None:
        """The plugin manager behind :attr:`plugins`."""
        return self._plugins.pm if self._plugins is not None else None

    def sandbox(self, provider: str) -> Sandbox | None:
        """A fresh sandbox for ``provider``, if a plugin offers one (a registry built by hand
        asks the installed plugins)."""
        plugins = self._plugins or default_plugins()
        return plugins.sandbox(self.get(provider).name)

    def portable_translator(self, provider: str) -> PortableTranslator | None:
        """The translator of portable kinds for ``provider``, if a plugin offers one (a
        registry built by hand asks the installed plugins)."""
        plugins = self._plugins or default_plugins()
        return plugins.portable_translator(self.get(provider).name)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._providers))

    def get(self, name: str) -> ProviderInfo:
        """The provider called ``name``, or an error that says what to install."""
        if name in self._providers:
            return self._providers[name]
        for info in self._providers.values():
            if name in info.aliases:
                return info
        # Provider plugins are published as ``atlas-<name>``, by convention.
        error = ProviderNotFoundError(name, available=self.names(), package=f"atlas-{name}")
        if self._plugins is not None and self._plugins.pm.is_blocked(name):
            error.add_note(f"the plugin {name!r} is disabled ({DISABLE_PLUGINS_ENV})")
            error.args = (f"{error.args[0]}; note that the plugin {name!r} is disabled",)
        elif os.environ.get(DISABLE_AUTOLOAD_ENV):
            error.add_note(f"{DISABLE_AUTOLOAD_ENV} is set: installed plugins are not loaded")
            error.args = (
                f"{error.args[0]}; note that {DISABLE_AUTOLOAD_ENV} is set, so "
                "installed plugins are not loaded",
            )
        raise error

    def kinds(self, provider: str) -> Mapping[str, ResourceKind]:
        return self._kinds.get(self.get(provider).name, {})

    def catalog(self, provider: str) -> PriceCatalog | None:
        return self._catalogs.get(self.get(provider).name)

    def replace_catalog(self, catalog: PriceCatalog) -> ProviderRegistry:
        """A copy using ``catalog`` (refreshed live prices, say) for its provider."""
        catalogs = {**self._catalogs, catalog.provider: catalog}
        return ProviderRegistry(self._providers, self._kinds, catalogs, self._plugins)

    def price_lookup(self, provider: str, *, region: str = "") -> PriceLookup:
        """The prices of ``provider`` as its kinds' pricers see them, for a spec in ``region``."""
        info = self.get(provider)
        catalog = self._catalogs.get(info.name)
        return PriceLookup(info.name, catalog, self._adjust, currency=info.currency, region=region)

    def credentials(
        self, provider: str, *, jwt: Secret | None = None, env: Mapping[str, str] | None = None
    ) -> CredentialChain:
        """The chain the provider's credential is looked up in: its declared sources (the
        environment ``env``, default ``os.environ``, then the Context Manager with ``jwt``)."""
        info = self.get(provider)
        spec = info.credentials or CredentialSpec(f"{info.title} credential", (), info.name)
        return spec.chain(jwt=jwt, env=env)

    def build(
        self, provider: str, *, jwt: Secret | None = None, env: Mapping[str, str] | None = None
    ) -> Provider:
        """A live provider from the plugin's factory; its credential is looked up on first use."""
        info = self.get(provider)
        if info.factory is None:
            raise ProvisioningUnavailableError(not_live_message(info))
        environ = os.environ if env is None else env
        config = ProviderConfig(self.credentials(info.name, jwt=jwt, env=environ), environ)
        return info.factory(config)

    def suggest(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, self.names(), n=3)

    def _adjust(self, provider: str, sku: str, price: Price) -> Price | None:
        # Asked for every price of every resource: skip the hook call when nobody listens.
        if not self._adjusts or self._plugins is None:
            return None
        return self._plugins.adjust_price(provider, sku, price)


def _add_kind(kinds: dict[str, dict[str, ResourceKind]], kind: ResourceKind) -> None:
    if kind.provider not in kinds:
        raise PluginError(
            f"resource kind {kind.type!r} is registered for provider {kind.provider!r}, "
            "which no plugin provides"
        )
    if kind.type in kinds[kind.provider]:
        raise DuplicateResourceKindError(
            f"resource kind {kind.type!r} of provider {kind.provider!r} is registered twice"
        )
    kinds[kind.provider][kind.type] = kind
