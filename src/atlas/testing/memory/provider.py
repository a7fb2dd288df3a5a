"""MemoryProvider: the live provider of the memory cloud, written on the public SPI only.

It is a :class:`~atlas.providers.HandlerProvider`: the three handlers say how to create, find,
poll, change and delete one kind each, and the core adds the rules that make it safe
(creates in doubt adopted, never repeated; ids reported batch by batch; batched polls; the
visibility grace; deletes verified). A plugin author can read it as the smallest complete
example of a live provider.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from atlas.credentials import CredentialChain, CredentialSpec, Secret
from atlas.http import RetryPolicy
from atlas.providers.contract import ProviderConfig
from atlas.providers.handlers import HandlerProvider, KindHandler, Timing
from atlas.testing.memory.api import MemoryAPI
from atlas.testing.memory.clock import Clock, RealClock
from atlas.testing.memory.cloud import Latencies, MemoryCloud
from atlas.testing.memory.handlers import HANDLERS

__all__ = ["TOKEN", "MemoryProvider", "default_cloud", "timing_for"]

#: Where the memory cloud's token comes from: ``ATLAS_MEMORY_TOKEN``, then the Context
#: Manager key ``memory_token``.
TOKEN = CredentialSpec("memory cloud token", ("ATLAS_MEMORY_TOKEN",), "memory_token")


@functools.cache
def default_cloud() -> MemoryCloud:
    """The process-wide cloud the plugin's factory connects to: real time, transitions at a
    tenth of the usual pace, any non-empty token accepted."""
    return MemoryCloud(latencies=Latencies().scaled(0.1))


def timing_for(clock: Clock) -> Timing:
    """How a provider paces itself on ``clock``: polls a second apart on a manual clock
    (it costs nothing), a tenth of a second in real time."""
    if isinstance(clock, RealClock):
        return Timing(poll_interval=0.1, visibility_grace=5.0, action_timeout=60.0)
    return Timing(poll_interval=1.0, visibility_grace=30.0, clock=clock, sleep=clock.sleep)


class MemoryProvider(HandlerProvider):
    """An account on a :class:`MemoryCloud`.

    :param cloud: the cloud to talk to.
    :param token: the token to present; else ``credentials`` is resolved on first use.
    :param credentials: a chain built by the core from :data:`TOKEN`.
    :param timing: pacing; default :func:`timing_for` the cloud's clock.
    :param retry: how rate-limited and failed calls are retried; default the HTTP layer's.
    """

    name = "memory"

    def __init__(
        self,
        cloud: MemoryCloud,
        *,
        token: Secret | str | None = None,
        credentials: CredentialChain | None = None,
        timing: Timing | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(timing or timing_for(cloud.clock))
        self.cloud = cloud
        self._chain = credentials or TOKEN.chain(token, env={})
        self._retry = retry or RetryPolicy(max_total_wait=300.0)

    @classmethod
    def from_config(cls, config: ProviderConfig) -> MemoryProvider:
        """The provider as the core builds it (:data:`atlas.providers.ProviderFactory`)."""
        return cls(default_cloud(), credentials=config.credentials)

    def __repr__(self) -> str:
        return f"MemoryProvider(cloud={self.cloud!r})"

    async def build_handlers(self) -> Mapping[str, KindHandler]:
        token = await self._chain.resolve()
        api = MemoryAPI(self.cloud, token, retry=self._retry, sleep=self.timing.sleep)
        return {h.type: h(api, self.timing) for h in HANDLERS}
