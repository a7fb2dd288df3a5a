"""The memory cloud's calls as the provider makes them: with its token, retried by the same
:class:`atlas.http.RetryPolicy` the HTTP layer applies.

Each call is given the HTTP method it would be on a REST API, so the policy's one rule holds:
any call refused as rate limited is sent again after the advised wait; a create that failed
in doubt is not (the core looks for what it made instead); reads, changes and deletes that
failed with a server error or a dropped connection are sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from tenacity import RetryCallState

from atlas.credentials import Secret
from atlas.exceptions import NotFoundError
from atlas.http import RetryPolicy
from atlas.testing.memory.cloud import MemoryCloud, MemoryObject, NewObject

__all__ = ["MemoryAPI"]

logger = logging.getLogger("atlas.testing.memory")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class MemoryAPI:
    """One token's view of a :class:`MemoryCloud`."""

    def __init__(
        self, cloud: MemoryCloud, token: Secret, *, retry: RetryPolicy, sleep: Sleep
    ) -> None:
        self.cloud = cloud
        self._token = token
        self._retry = retry
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"MemoryAPI(cloud={self.cloud!r})"  # never the token

    async def create(self, kind: str, items: Sequence[NewObject]) -> list[MemoryObject]:
        return await self._call(
            "POST", f"create {kind}", lambda t: self.cloud.create(t, kind, items)
        )

    async def get(self, kind: str, object_id: str) -> MemoryObject | None:
        """The object, or ``None`` when it does not exist."""
        try:
            return await self._call(
                "GET", f"get {kind}", lambda t: self.cloud.get(t, kind, object_id)
            )
        except NotFoundError:
            return None

    async def list(
        self,
        kind: str,
        *,
        marks: Mapping[str, str] | None = None,
        name_prefix: str | None = None,
    ) -> list[MemoryObject]:
        return await self._call(
            "GET",
            f"list {kind}",
            lambda t: self.cloud.list(t, kind, marks=marks, name_prefix=name_prefix),
        )

    async def update(
        self,
        kind: str,
        object_id: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        marks: Mapping[str, str] | None = None,
    ) -> MemoryObject:
        # Setting attributes to given values is idempotent: a PUT.
        return await self._call(
            "PUT",
            f"update {kind}",
            lambda t: self.cloud.update(t, kind, object_id, attributes=attributes, marks=marks),
        )

    async def delete(self, kind: str, object_id: str) -> None:
        """Ask for the delete; an object already gone is not an error."""
        try:
            await self._call(
                "DELETE", f"delete {kind}", lambda t: self.cloud.delete(t, kind, object_id)
            )
        except NotFoundError:
            return

    async def _call(self, method: str, what: str, call: Callable[[str], Awaitable[T]]) -> T:
        def before_sleep(state: RetryCallState) -> None:
            outcome = state.outcome
            failure = type(outcome.exception()).__name__ if outcome and outcome.failed else "?"
            logger.debug("%s: retrying in %.2fs after %s", what, state.upcoming_sleep, failure)

        retrying = self._retry.retrying(method, sleep=self._sleep, before_sleep=before_sleep)
        async for attempt in retrying:
            with attempt:
                return await call(self._token.reveal())
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover
