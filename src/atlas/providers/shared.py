"""Reads of account-wide facts shared by every operation of one provider instance.

Several infrastructures applied at once by one process each ask the account the same things
before they start (the price list, the account's limits, whether a region has what the plan
needs). A provider instance is one account, so one answer serves them all: every such read
costs a request from the same rate budget as the creates, and twenty applies that each read
three facts spend sixty requests on answers one would give. :class:`SharedReads` makes one
fetch per fact at a time (those asking while it is in flight wait for its answer) and keeps the
answer for a short time after; a failed fetch is not kept, so the next ask tries again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import attrs

__all__ = ["SharedReads"]

T = TypeVar("T")


@attrs.define
class _Entry:
    """The fetch in flight (on ``loop``), or the answer it gave and when that was."""

    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    value: Any = None
    at: float | None = None


class SharedReads:
    """One fetch per key at a time, its answer kept ``ttl`` seconds for every later ask.

    :param clock: the provider's clock (tests inject a fake one), in seconds.

    An answer is shared, not copied: callers must not change what they are given. A fetch
    keeps going when one of its askers is cancelled, since the others still wait for it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, ttl: float) -> T:
        """The answer of ``fetch`` for ``key``: the one kept, if younger than ``ttl`` seconds;
        else the fetch in flight on this event loop; else a new fetch."""
        entry = self._entries.get(key)
        if entry is not None and entry.at is not None and self._clock() - entry.at < ttl:
            value: T = entry.value
            return value
        loop = asyncio.get_running_loop()
        if entry is None or entry.task is None or entry.loop is not loop:
            task = loop.create_task(self._fetch(key, fetch))
            task.add_done_callback(_retrieve)  # askers all cancelled: nobody else reads it
            entry = self._entries[key] = _Entry(loop, task)
        assert entry.task is not None
        result: T = await asyncio.shield(entry.task)
        return result

    async def _fetch(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await fetch()
        except BaseException:
            self._drop(key)  # a failure is its askers' alone: the next ask fetches again
            raise
        entry = self._entries.get(key)
        if entry is not None and entry.task is asyncio.current_task():
            entry.task, entry.loop, entry.value, entry.at = None, None, value, self._clock()
        return value

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.task is asyncio.current_task():
            del self._entries[key]

    def forget(self, key: Hashable) -> None:
        """Drop the answer kept for ``key`` (something changed it); a fetch in flight goes on
        for those already waiting, but later asks start a new one."""
        self._entries.pop(key, None)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
