"""An :class:`~atlas.AsyncAtlas` for one caller: their workspace, their cloud credentials.

Every AsyncAtlas shares the store, the registry and the event dispatcher; what differs is the
workspace and the providers. A provider is leased from the workspace's pool
(:mod:`atlas.server.providers`) on first use: the workspace's instance, or one built with the
caller's JWT so its credential comes from the Context Manager for that workspace (or from the
environment), and given back when the request or the operation it served is over. Shared
providers (a sandbox's fake cloud) serve every workspace and are never closed here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from atlas.credentials import Secret
from atlas.events import EventDispatcher
from atlas.exceptions import CredentialsError
from atlas.facade import AsyncAtlas, CpuRunner
from atlas.providers.contract import Provider
from atlas.providers.registry import ProviderRegistry
from atlas.server.auth import Principal
from atlas.server.providers import Lease, ProviderPool
from atlas.server.settings import CallerProviderFactory, CredentialProbe, Settings

__all__ = ["Workspaces", "known_credentials", "plugin_provider_factory"]


def plugin_provider_factory(
    registry: ProviderRegistry, env: Mapping[str, str] | None = None
) -> CallerProviderFactory:
    """Each plugin's own factory, its credential chain built with the caller's JWT."""

    def build(name: str, jwt: Secret | None) -> Provider:
        return registry.build(name, jwt=jwt, env=env)

    return build


def known_credentials(
    registry: ProviderRegistry, env: Mapping[str, str] | None = None
) -> CredentialProbe:
    """A probe of each provider's declared credential chain (the environment, then the
    Context Manager with the caller's JWT); ``LookupError`` for a provider that declares none."""

    async def probe(provider: str, jwt: Secret | None) -> str | None:
        if registry.get(provider).credentials is None:
            raise LookupError(provider)
        try:
            await registry.credentials(provider, jwt=jwt, env=env).resolve()
        except CredentialsError as exc:
            return str(exc)
        return None

    return probe


class Workspaces:
    """Opens an AsyncAtlas per caller (see the module docstring)."""

    def __init__(
        self, settings: Settings, events: EventDispatcher, *, run_cpu: CpuRunner | None = None
    ) -> None:
        self._settings = settings
        self._events = events
        self._run_cpu = run_cpu
        factory = settings.provider_factory or plugin_provider_factory(
            settings.registry, settings.env
        )
        #: The workspaces' live providers, lent to each request and operation.
        self.providers = ProviderPool(
            factory,
            idle=settings.provider_idle,
            max_age=settings.provider_max_age,
            clock=settings.timer,
        )

    @contextlib.asynccontextmanager
    async def open(self, principal: Principal) -> AsyncIterator[AsyncAtlas]:
        leases: list[Lease] = []

        def provider(name: str) -> Provider:
            shared = self._settings.shared_providers.get(name)
            if shared is not None:
                return shared
            # AsyncAtlas asks once per provider name: one lease each.
            leases.append(self.providers.lease(name, principal))
            return leases[-1].provider

        atlas = AsyncAtlas(
            store=self._settings.store,
            registry=self._settings.registry,
            workspace=principal.workspace,
            provider_factory=provider,
            events=self._events,
            run_cpu=self._run_cpu,
        )
        error: BaseException | None = None
        try:
            yield atlas
        except BaseException as exc:
            error = exc  # a credential refused must not stay lent (see atlas.server.providers)
            raise
        finally:
            for lease in leases:
                await self.providers.release(lease, error)
