"""Faults the memory cloud can inject, in the provider-neutral form of
:class:`atlas.providers.Faults`.

The cloud consults :meth:`MemoryFaults.take_throttle` before it carries out a call and
:meth:`MemoryFaults.take_after_apply` once a create is applied; the rest of the protocol edits
objects behind the provider's back.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from atlas.testing.memory.cloud import MemoryCloud

__all__ = ["AfterApply", "MemoryFaults"]

#: How a create that was carried out is answered: a server error, or no answer at all.
AfterApply = Literal["error", "drop"]


class MemoryFaults:
    """Armed faults of one :class:`~atlas.testing.memory.MemoryCloud` (``cloud.faults``)."""

    def __init__(self, cloud: MemoryCloud, kinds: Collection[str]) -> None:
        self._cloud = cloud
        self._kinds = tuple(kinds)
        self._after: list[tuple[str, AfterApply]] = []
        self._throttle: list[float] = []

    # -- the Faults protocol -----------------------------------------------------------------

    def fail_after_apply(self, kind: str, *, times: int = 1) -> None:
        """The next ``times`` creates of ``kind`` are carried out, then answered 500."""
        self._arm(kind, "error", times)

    def drop_after_apply(self, kind: str, *, times: int = 1) -> None:
        """The next ``times`` creates of ``kind`` are carried out, then go unanswered."""
        self._arm(kind, "drop", times)

    def throttle(self, *, times: int = 1, retry_after: float = 0.0) -> None:
        """The next ``times`` calls are refused as over the rate limit."""
        _positive(times)
        if retry_after < 0:
            raise ValueError(f"retry_after must not be negative; got {retry_after}")
        self._throttle.extend([retry_after] * times)

    def delete_outside(self, kind: str, object_id: str) -> None:
        """The object is gone at once, as if someone deleted it in a console."""
        self._cloud.delete_outside(self._kind(kind), object_id)

    def change_outside(self, kind: str, object_id: str) -> None:
        """Servers change size, disks grow, networks gain a tag (what ``drift`` reports)."""
        self._cloud.change_outside(self._kind(kind), object_id)

    # -- what the cloud asks -----------------------------------------------------------------

    def armed(self) -> int:
        """How many faults are still waiting to strike."""
        return len(self._after) + len(self._throttle)

    def take_throttle(self) -> float | None:
        """The retry-after of the refusal the next call gets, if one is armed."""
        return self._throttle.pop(0) if self._throttle else None

    def take_after_apply(self, kind: str) -> AfterApply | None:
        """How an applied create of ``kind`` is answered, if a fault is armed for it."""
        for i, (armed_kind, mode) in enumerate(self._after):
            if armed_kind == kind:
                del self._after[i]
                return mode
        return None

    # -- helpers -----------------------------------------------------------------------------

    def _arm(self, kind: str, mode: AfterApply, times: int) -> None:
        _positive(times)
        self._after.extend([(self._kind(kind), mode)] * times)

    def _kind(self, kind: str) -> str:
        if kind not in self._kinds:
            raise ValueError(
                f"the memory cloud has no kind {kind!r}; it has {', '.join(self._kinds)}"
            )
        return kind


def _positive(times: int) -> None:
    if times < 1:
        raise ValueError(f"times must be at least 1; got {times}")
