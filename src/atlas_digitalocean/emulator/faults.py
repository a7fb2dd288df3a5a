"""Fault injection: make chosen requests fail the ways real clouds fail.

A :class:`Fault` names a kind, which requests it applies to (method and a path regex) and how
many times. The failure modes are the ones a crash-safe client has to survive: a server
error before anything happened, one after the change was made, a connection that drops
after the change was made, an object that is not readable right after its create, and a
sudden burst of rate limiting.
"""

from __future__ import annotations

import enum
import re

import attrs
import httpx


class FaultKind(enum.Enum):
    ERROR_BEFORE = "error_before"
    """Answer 500 without applying the request."""
    ERROR_AFTER = "error_after"
    """Apply the request, then answer 500."""
    DROP_AFTER = "drop_after"
    """Apply the request, then drop the connection without an answer."""
    NOT_FOUND_AFTER_CREATE = "not_found_after_create"
    """Apply a create, then answer 404 to the next ``times`` reads of the new object."""
    RATE_LIMIT_BURST = "rate_limit_burst"
    """Answer the next ``times`` requests with a burst-limit 429 and ``retry-after``."""


def _kind(value: FaultKind | str) -> FaultKind:
    return value if isinstance(value, FaultKind) else FaultKind(value)


def _upper(value: str) -> str:
    return value.upper()


def _check_pattern(_instance: object, _attribute: object, value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"path {value!r} is not a regular expression: {exc}") from exc


@attrs.frozen
class Fault:
    """One planned failure.

    :param kind: what goes wrong (a :class:`FaultKind` or its string value).
    :param method: the HTTP method it applies to, or ``"*"`` for any.
    :param path: a regular expression the whole request path must match, e.g.
        ``"/v2/droplets"`` or ``"/v2/(droplets|volumes)"``.
    :param times: how many matching requests fail; for ``not_found_after_create``, the
        next matching create is affected and ``times`` is how many reads answer 404.
    :param retry_after: seconds in the ``retry-after`` header of ``rate_limit_burst`` 429s.

    Errors and drops only fire on requests that would have succeeded, so a fault is not
    spent on a request the emulator rejects anyway.
    """

    kind: FaultKind = attrs.field(converter=_kind)
    method: str = attrs.field(default="*", converter=_upper)
    path: str = attrs.field(default=".*", validator=_check_pattern)
    times: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    retry_after: int = attrs.field(default=1, validator=attrs.validators.ge(0))

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return re.fullmatch(self.path, path) is not None


class ConnectionDropped(httpx.RemoteProtocolError):
    """The emulator dropped the connection: what httpx raises when a server hangs up."""


@attrs.define
class _Armed:
    fault: Fault
    remaining: int


class FaultBook:
    """Registered faults, how many uses each has left, and objects currently hidden."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []
        self._hidden: dict[str, int] = {}

    def add(self, fault: Fault) -> None:
        self._armed.append(_Armed(fault, fault.times))

    def clear(self) -> None:
        self._armed.clear()
        self._hidden.clear()

    def pending(self) -> list[tuple[Fault, int]]:
        """Each registered fault that has uses left, with how many."""
        return [(armed.fault, armed.remaining) for armed in self._armed]

    def take(self, kind: FaultKind, method: str, path: str, *, whole: bool = False) -> Fault | None:
        """Spend one use (or all of them, with ``whole``) of the first matching fault."""
        for armed in self._armed:
            if armed.fault.kind is kind and armed.fault.matches(method, path):
                armed.remaining = 0 if whole else armed.remaining - 1
                if armed.remaining <= 0:
                    self._armed.remove(armed)
                return armed.fault
        return None

    def hide(self, path: str, reads: int) -> None:
        self._hidden[path] = reads

    def hidden(self, path: str) -> bool:
        """Whether a read of ``path`` must answer 404; spends one hidden read if so."""
        left = self._hidden.get(path, 0)
        if left <= 0:
            return False
        if left == 1:
            del self._hidden[path]
        else:
            self._hidden[path] = left - 1
        return True
