"""An :class:`~atlas.AsyncAtlas` for one caller: their workspace, their cloud credentials.

Every AsyncAtlas shares the store, the registry and the event dispatcher; what differs is the
workspace and the providers. A provider is built for the caller on first use, handed the
caller's JWT so its credentials come from the Context Manager for that workspace (or from the
environment), and closed when the request or the operation it served is over. Shared providers
(a sandbox's fake cloud) serve every workspace and are never closed here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from atlas.credentials import Secret
from atlas.events import EventDispatcher
from atlas.exceptions import CredentialsError
from atlas.facade import AsyncAtlas, CpuRunner
from atlas.providers.contract import Provider
from atlas.providers.registry import ProviderRegistry
from atlas.server.auth import Principal
from atlas.server.settings import CallerProviderFactory, CredentialProbe, Settings

__all__ = ["Workspaces", "known_credentials", "plugin_provider_factory"]

logger = logging.getLogger("atlas.server")


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
        self._factory = settings.provider_factory or plugin_provider_factory(
            settings.registry, settings.env
        )

    @contextlib.asynccontextmanager
    async def open(self, principal: Principal) -> AsyncIterator[AsyncAtlas]:
        owned: list[Provider] = []

        def provider(name: str) -> Provider:
            shared = self._settings.shared_providers.get(name)
            if shared is not None:
                return shared
            built = self._factory(name, principal.jwt)
            owned.append(built)
            return built

        atlas = AsyncAtlas(
            store=self._settings.store,
            registry=self._settings.registry,
            workspace=principal.workspace,
            provider_factory=provider,
            events=self._events,
            run_cpu=self._run_cpu,
        )
        try:
            yield atlas
        finally:
            for built in owned:
                try:
                    await built.aclose()
                except Exception:  # closing must not hide the answer or the operation's end
                    logger.warning("closing provider %s failed", built.name, exc_info=True)
