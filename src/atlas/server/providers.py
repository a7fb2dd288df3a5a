"""Live providers shared by the requests and operations of one workspace.

A provider instance is one account seen through one credential, and it shares what an account
allows sharing: the polling rounds of a kind (one list per round for every operation waiting)
and the account's pre-flight reads (prices, limits). A provider built per request would share
neither, so :class:`ProviderPool` keeps one per (provider, workspace):

- never across workspaces: a workspace's credential comes from the Context Manager with a JWT
  of that workspace (or from the environment), and only that workspace's callers are served
  with the instance that resolved it. Within a workspace, every caller uses the credential the
  first caller's chain resolved, as every operation of an ``AsyncAtlas`` does in the library;
- a refusal is never kept: a lease given back with a :class:`~atlas.exceptions.CredentialsError`
  (no credential found) or an :class:`~atlas.exceptions.AuthenticationError` (the cloud refused
  it) retires the instance, so the next caller builds a fresh one with their own JWT;
- leases are counted: an instance nobody holds is closed after ``idle`` seconds, and one older
  than ``max_age`` is lent no more (a rotated credential is picked up by its successor) and
  closed once its last holder is done. :meth:`ProviderPool.aclose` closes all at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import attrs

from atlas.exceptions import AuthenticationError, CredentialsError
from atlas.providers.contract import Provider
from atlas.server.auth import Principal
from atlas.server.settings import (
    DEFAULT_PROVIDER_IDLE,
    DEFAULT_PROVIDER_MAX_AGE,
    CallerProviderFactory,
)

__all__ = ["Lease", "ProviderPool"]

logger = logging.getLogger("atlas.server")


@attrs.define(eq=False)
class Lease:
    """One pooled instance: its provider, when it was built, and how many hold it now."""

    key: tuple[str, str]
    provider: Provider
    born: float
    holders: int = 0
    idle_since: float = 0.0
    #: No longer lent (too old, or its credential failed); closed when its holders are done.
    retired: bool = False
    closed: bool = False


class ProviderPool:
    """Instances by (provider, workspace); see the module docstring."""

    def __init__(
        self,
        factory: CallerProviderFactory,
        *,
        idle: float = DEFAULT_PROVIDER_IDLE,
        max_age: float = DEFAULT_PROVIDER_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._idle = idle
        self._max_age = max_age
        self._clock = clock
        self._lent: dict[tuple[str, str], Lease] = {}
        #: Retired instances still held: closed when their last holder is done, or at shutdown.
        self._draining: set[Lease] = set()

    def __len__(self) -> int:
        """Instances open: those lent and those retired that someone still holds."""
        return len(self._lent) + len(self._draining)

    def lease(self, name: str, principal: Principal) -> Lease:
        """The workspace's instance of ``name`` (built with the caller's JWT when none is
        current), held until :meth:`release`. A factory's error is the caller's: nothing is
        kept."""
        key = (name, principal.workspace)
        now = self._clock()
        current = self._lent.get(key)
        if current is not None and now - current.born >= self._max_age:
            self._retire(current)
            current = None
        if current is None:
            current = Lease(key, self._factory(name, principal.jwt), born=now)
            self._lent[key] = current
        current.holders += 1
        return current

    async def release(self, lease: Lease, error: BaseException | None = None) -> None:
        """Give ``lease`` back; ``error`` is what ended its holder's work, if anything did
        (a credential refused retires the instance)."""
        lease.holders -= 1
        if isinstance(error, (CredentialsError, AuthenticationError)):
            self._retire(lease)
        if lease.holders == 0:
            lease.idle_since = self._clock()
            if lease.retired:
                self._draining.discard(lease)
                await _close(lease)
        await self.sweep()

    async def sweep(self) -> int:
        """Close the instances nobody holds that have been idle ``idle`` seconds, or are past
        ``max_age``; how many were closed."""
        now = self._clock()
        done = [
            lease
            for lease in self._lent.values()
            if lease.holders == 0
            and (now - lease.idle_since >= self._idle or now - lease.born >= self._max_age)
        ]
        for lease in done:  # out of the pool before the first await: no one is lent them
            del self._lent[lease.key]
        for lease in done:
            await _close(lease)
        return len(done)

    async def run(self, stopping: asyncio.Event) -> None:
        """Until ``stopping`` is set, :meth:`sweep` often enough that an idle instance is
        closed within a quarter of ``idle`` of its time."""
        every = min(max(self._idle / 4, 0.5), 30.0)
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)
            await self.sweep()

    async def aclose(self) -> None:
        """Close every instance (at shutdown, once the operations have stopped)."""
        leases = [*self._lent.values(), *self._draining]
        self._lent.clear()
        self._draining.clear()
        for lease in leases:
            lease.retired = True
            await _close(lease)

    def _retire(self, lease: Lease) -> None:
        if lease.retired:
            return
        lease.retired = True
        if self._lent.get(lease.key) is lease:
            del self._lent[lease.key]
        if lease.holders:
            self._draining.add(lease)


async def _close(lease: Lease) -> None:
    if lease.closed:  # closed at shutdown while held: its last holder gave it back since
        return
    lease.closed = True
    try:
        await lease.provider.aclose()
    except Exception:  # closing must not hide the answer, the operation's end or a shutdown
        logger.warning("closing provider %s failed", lease.provider.name, exc_info=True)
