"""Injected time: a clock returns seconds, a sleep waits that many (tests pass fakes for both)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["Clock", "Sleep"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
