"""Saying when requests are held back, so that whoever watches an operation can say so too.

The client-side rate limiter and the retry after a 429 can keep every request waiting for
seconds, in the middle of an apply: a display that says nothing then looks hung. Both announce
each wait here, with its length and why; a listener (the CLI's progress display, a log) hears
every announcement in the process::

    with atlas.http.hold_listener(lambda seconds, reason: print(f"held {seconds:.1f}s: {reason}")):
        await atlas_.apply(spec)

Listeners are process-wide because the limiters are (one per credential, shared by every client
using it). A listener is called in the thread of the waiting request, must be quick, and must
not raise: what it raises is logged and dropped, never passed to the request.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

__all__ = [
    "HoldListener",
    "add_hold_listener",
    "announce_hold",
    "hold_listener",
    "remove_hold_listener",
]

logger = logging.getLogger("atlas.http")

#: Called as ``listener(seconds, reason)`` when requests are about to wait ``seconds``.
HoldListener = Callable[[float, str], None]

_listeners: list[HoldListener] = []
_lock = threading.Lock()


def add_hold_listener(listener: HoldListener) -> None:
    """Hear every hold announced from now on (see :func:`remove_hold_listener`)."""
    with _lock:
        _listeners.append(listener)


def remove_hold_listener(listener: HoldListener) -> None:
    """Stop hearing holds; removing a listener that is not there does nothing."""
    with _lock, contextlib.suppress(ValueError):
        _listeners.remove(listener)


@contextlib.contextmanager
def hold_listener(listener: HoldListener) -> Iterator[None]:
    """Hear holds for the duration of a ``with`` block."""
    add_hold_listener(listener)
    try:
        yield
    finally:
        remove_hold_listener(listener)


def announce_hold(seconds: float, reason: str) -> None:
    """Tell every listener that requests wait ``seconds`` now, for ``reason`` (the rate
    limiter and the client call this; a listener's failure never reaches them)."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(seconds, reason)
        except Exception:  # a display must never break a request
            logger.exception("hold listener failed")
