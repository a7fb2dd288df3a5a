"""Hearing every call a provider makes to its cloud, whatever client it speaks through.

A provider reports each attempt of each cloud API call (:class:`ApiCall`) and each wait its
client imposes before one (:class:`ApiWait`) with :func:`report_call`; the core's
:class:`~atlas.http.ApiClient` does so for every provider built on it, and a provider on
another client (AWS's aiobotocore) calls :func:`report_call` itself. Whoever wants to hear
them (the server's metrics and its degradation tracker) wraps the work in
:func:`observe_calls`::

    with atlas.http.observe_calls(lambda event: print(event)):
        await atlas_.apply(spec)

Observers are held in a context variable, not process-wide: a task started inside the block
(an operation, a polling round) inherits them, and two apps in one process each hear the calls
their own work makes. What is reported is bounded and secret-free by construction: the
provider's name, the method, the route as a template (``/v2/droplets/{droplet_id}``, never a
raw path with ids or names in it), the status and the class name of the error. An observer is
called on the event loop, must be quick and must not raise (what it raises is logged and
dropped).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Callable, Iterable, Iterator

import attrs

__all__ = [
    "OTHER_ROUTE",
    "ApiCall",
    "ApiEvent",
    "ApiWait",
    "CallObserver",
    "RouteTemplates",
    "observe_calls",
    "report_call",
]

logger = logging.getLogger("atlas.http")

#: The route of a call no template matches: counted, but never by its raw path.
OTHER_ROUTE = "other"


@attrs.frozen
class ApiCall:
    """One attempt of one cloud API call, as it ended.

    :param provider: the provider's registered name (``"digitalocean"``).
    :param method: the HTTP method (``"POST"`` for every EC2 action).
    :param route: the route as a template (``"/v2/droplets/{droplet_id}"``), or the API's own
        name for the action (``"DescribeVpcs"``); :data:`OTHER_ROUTE` when none is known.
    :param status: the HTTP status answered; ``None`` when no answer came (the connection
        failed, dropped, or timed out).
    :param error: the class name of the atlas error the attempt ended in (``"ServerError"``,
        ``"ConnectError"``), ``None`` when it succeeded. Never a message: one could carry
        something the cloud echoed back.
    :param throttled: the cloud refused it to slow the caller down (429, or a throttling
        code such as EC2's ``RequestLimitExceeded``, which comes with a 503).
    """

    provider: str
    method: str
    route: str
    status: int | None
    error: str | None = None
    throttled: bool = False

    @property
    def failed(self) -> bool:
        """Whether the cloud looks unwell: no answer at all, or a server error (5xx) that
        is not a throttling answer. A 4xx is the cloud working, and a 429 the cloud asking
        for patience; neither counts."""
        if self.throttled:
            return False
        return self.status is None or self.status >= 500

    @property
    def status_label(self) -> str:
        """The status as a label: the number, or ``"none"`` when no answer came."""
        return "none" if self.status is None else str(self.status)


@attrs.frozen
class ApiWait:
    """Seconds a call was held back before being sent: by the client-side rate limiter
    (``reason="rate_limiter"``) or after the cloud asked for a pause (``"retry_after"``)."""

    provider: str
    seconds: float
    reason: str


ApiEvent = ApiCall | ApiWait
#: Called with each :class:`ApiCall` and :class:`ApiWait` reported within its block.
CallObserver = Callable[[ApiEvent], None]

_observers: contextvars.ContextVar[tuple[CallObserver, ...]] = contextvars.ContextVar(
    "atlas_call_observers", default=()
)


@contextlib.contextmanager
def observe_calls(observer: CallObserver) -> Iterator[None]:
    """Hear every call reported within the block, and within the tasks started in it. An
    observer already hearing this context is not added twice (so nested blocks of the same
    observer report each call once)."""
    current = _observers.get()
    if observer in current:
        yield
        return
    token = _observers.set((*current, observer))
    try:
        yield
    finally:
        _observers.reset(token)


def report_call(event: ApiEvent) -> None:
    """Tell the observers of the current context about ``event`` (a provider's client
    calls this once per attempt, and once per wait)."""
    for observer in _observers.get():
        try:
            observer(event)
        except Exception:  # hearing a call must never break it
            logger.exception("call observer failed")


_PLACEHOLDER = re.compile(r"\{\w+\}")


def _compile(template: str) -> re.Pattern[str]:
    literals = _PLACEHOLDER.split(template)
    return re.compile("[^/]+".join(re.escape(part) for part in literals))


class RouteTemplates:
    """A provider's route templates, to name a request path by its template.

    ``RouteTemplates(["/v2/droplets", "/v2/droplets/{droplet_id}"])``; a placeholder matches
    one path segment. The first template that matches the whole path wins; a path none
    matches is :data:`OTHER_ROUTE`, so a path the provider did not declare never becomes a
    label of its own.
    """

    def __init__(self, templates: Iterable[str]) -> None:
        self.templates = tuple(templates)
        self._compiled = [(_compile(t), t) for t in self.templates]

    def __repr__(self) -> str:
        return f"RouteTemplates({len(self.templates)} templates)"

    def match(self, path: str) -> str:
        """The template ``path`` (no query) matches, or :data:`OTHER_ROUTE`."""
        for pattern, template in self._compiled:
            if pattern.fullmatch(path):
                return template
        return OTHER_ROUTE
