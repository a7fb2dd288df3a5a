"""Delivering the outbox: every pending event to every plugin hook and sink, at least once.

Each pass reads the oldest pending events and hands each one, in order, to every
``atlas_on_event`` implementation (one call per plugin, so one that raises does not keep the
event from the others) and then to every sink. An event is marked delivered only once every
target has accepted it; otherwise it stays pending, the failure is reported, and the next pass
tries again.

At least once, not exactly once: a crash (or a store error) between delivering and marking
means the event is delivered again, with the same ``id`` — receivers dedupe on it. Within one
dispatcher, a target that already accepted an event is not sent it again while other targets
catch up. A sink that is unreachable after its retries is not tried again for the rest of the
pass, so it receives events in outbox order; an event that failed is redelivered on a later
pass, after events that followed it may already have arrived — receivers who need order sort by
``time``.

An event a target refuses (a webhook's 4xx) stays pending too, and is offered to that target
again, once, on every pass: a receiver fixed later then gets it. Setting such events aside for
good (dead letters) needs the store's help.

The store's methods are synchronous and short; they are called on the event loop. Hook
implementations run on the loop too: keep them quick, or make them ``async def`` (their
coroutine is awaited).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import attrs
import pluggy

from atlas.exceptions import DeliveryError
from atlas.model.records import EventRecord
from atlas.plugins.manager import Plugins

__all__ = [
    "DeliveryError",
    "DeliveryFailure",
    "DeliveryReport",
    "EventDispatcher",
    "EventOutbox",
    "EventSink",
]

logger = logging.getLogger("atlas.events")

_REASON_LIMIT = 300  # a plugin's exception text can be long; a report line should not be


class EventSink(Protocol):
    """Somewhere events go besides the plugin hook (a webhook, a queue)."""

    @property
    def name(self) -> str:
        """A short, secret-free name for reports and logs; unique among a dispatcher's sinks."""
        ...

    async def send(self, event: EventRecord) -> None:
        """Deliver one event, retrying as the sink sees fit; raise
        :class:`DeliveryError` when it cannot."""
        ...


class EventOutbox(Protocol):
    """The part of :class:`~atlas.store.base.StateStore` the dispatcher uses."""

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]: ...

    def mark_delivered(self, event_ids: Sequence[str]) -> None: ...


@attrs.frozen
class DeliveryFailure:
    """One event one target did not accept: which, where, and why (never a secret)."""

    event_id: str
    event_type: str
    target: str
    reason: str
    #: The target refused the event itself; sending it again unchanged will not help.
    permanent: bool = False
    #: False when the target was skipped because it had failed earlier in the pass.
    attempted: bool = True

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "transient" if self.attempted else "skipped"
        return f"{self.event_type} {self.event_id} -> {self.target}: {kind}: {self.reason}"


@attrs.frozen
class DeliveryReport:
    """What one pass did: events marked delivered, events left pending and why."""

    delivered: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    failures: tuple[DeliveryFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every event read was delivered everywhere."""
        return not self.pending

    def __str__(self) -> str:
        head = f"{len(self.delivered)} delivered, {len(self.pending)} pending"
        return "\n  ".join([head, *map(str, self.failures)])


@attrs.frozen
class _Target:
    name: str
    deliver: Callable[[EventRecord], Awaitable[None]]
    is_sink: bool


def _hook_target(name: str, function: Callable[..., object], argnames: Sequence[str]) -> _Target:
    async def deliver(event: EventRecord) -> None:
        # The hook has one argument, `event`; pluggy lets an implementation take fewer.
        arguments = {"event": event}
        result = function(*(arguments[arg] for arg in argnames))
        if inspect.isawaitable(result):
            await result

    return _Target(name, deliver, is_sink=False)


class EventDispatcher:
    """Delivers pending events from ``store`` to ``pm``'s hook and to ``sinks``.

    :param store: the outbox (any :class:`~atlas.store.base.StateStore`).
    :param pm: the plugins (a :class:`~atlas.plugins.Plugins`, or a plugin manager) whose
        ``atlas_on_event`` implementations receive events; ``None`` for none. Implementations
        are looked up on every pass, so plugins registered later are included. Hook wrappers
        are not run: each implementation is called on its own.
    :param sinks: further targets, each with a unique ``name``.
    """

    def __init__(
        self,
        store: EventOutbox,
        pm: Plugins | pluggy.PluginManager | None = None,
        sinks: Iterable[EventSink] = (),
    ) -> None:
        self._store = store
        self._plugins = Plugins(pm) if isinstance(pm, pluggy.PluginManager) else pm
        self._sinks = tuple(sinks)
        names = [sink.name for sink in self._sinks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"sink names must be unique (pass name=...), repeated: {', '.join(duplicates)}"
            )
        # event id -> targets that accepted it, so a retry spares them (until a restart).
        self._accepted: dict[str, set[str]] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"EventDispatcher(sinks={[sink.name for sink in self._sinks]!r})"

    async def deliver_pending(self, limit: int = 100) -> DeliveryReport:
        """One pass over up to ``limit`` of the oldest pending events; see the module docs.

        Raises only what the store raises (the pass stops; what was accepted is remembered).
        """
        async with self._lock:  # two overlapping passes would deliver everything twice
            events = self._store.pending_events(limit=limit)
            targets = self._targets()
            delivered: list[str] = []
            pending: list[str] = []
            failures: list[DeliveryFailure] = []
            down: dict[str, str] = {}  # sinks out of retries this pass -> why
            for event in events:
                failed = await self._deliver_one(event, targets, down)
                failures += failed
                if failed:
                    pending.append(event.id)
                    continue
                self._store.mark_delivered([event.id])
                self._accepted.pop(event.id, None)
                delivered.append(event.id)
            # Forget events no longer pending (marked by another dispatcher, say).
            self._accepted = {key: self._accepted[key] for key in pending if key in self._accepted}
            return DeliveryReport(tuple(delivered), tuple(pending), tuple(failures))

    async def _deliver_one(
        self, event: EventRecord, targets: Sequence[_Target], down: dict[str, str]
    ) -> list[DeliveryFailure]:
        accepted = self._accepted.setdefault(event.id, set())
        failures: list[DeliveryFailure] = []
        for target in targets:
            if target.name in accepted:
                continue
            if target.name in down:
                reason = f"not tried: failed earlier in this pass ({down[target.name]})"
                failures.append(_failure(event, target, reason, attempted=False))
                continue
            failure = await self._attempt(event, target)
            if failure is None:
                accepted.add(target.name)
                continue
            failures.append(failure)
            if target.is_sink and not failure.permanent:
                down[target.name] = failure.reason
        return failures

    async def _attempt(self, event: EventRecord, target: _Target) -> DeliveryFailure | None:
        try:
            await target.deliver(event)
        except DeliveryError as exc:
            failure = _failure(event, target, str(exc), permanent=exc.permanent)
            logger.warning("event %s (%s) not delivered: %s", event.id, event.type, failure)
            return failure
        except Exception as exc:
            # Whatever a plugin raises only keeps the event pending; it never stops the pass.
            reason = f"{type(exc).__name__}: {exc}"
            if len(reason) > _REASON_LIMIT:
                reason = reason[: _REASON_LIMIT - 3] + "..."
            failure = _failure(event, target, reason)
            # A plugin author needs the traceback; the sinks' own errors say enough.
            logger.warning(
                "event %s (%s) not delivered: %s",
                event.id,
                event.type,
                failure,
                exc_info=not target.is_sink,
            )
            return failure
        logger.debug("event %s (%s) delivered to %s", event.id, event.type, target.name)
        return None

    def _targets(self) -> list[_Target]:
        targets: list[_Target] = []
        if self._plugins is not None:
            for listener in self._plugins.event_listeners():
                targets.append(_hook_target(listener.name, listener.function, listener.argnames))
        targets += [_Target(sink.name, sink.send, is_sink=True) for sink in self._sinks]
        return targets

    async def run(self, interval: float, stop_event: asyncio.Event, *, limit: int = 100) -> None:
        """Deliver until ``stop_event`` is set: a pass, then ``interval`` seconds' rest (none
        while a full batch made progress, to drain a backlog). A pass that raises is logged
        and tried again after the rest; the loop itself only ends when told to."""
        while not stop_event.is_set():
            report: DeliveryReport | None = None
            try:
                report = await self.deliver_pending(limit)
            except Exception:
                logger.exception("event delivery pass failed; trying again in %gs", interval)
            if (
                report is not None
                and report.delivered
                and len(report.delivered) + len(report.pending) >= limit
            ):
                continue  # a full batch that made progress: more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), interval)


def _failure(
    event: EventRecord,
    target: _Target,
    reason: str,
    *,
    permanent: bool = False,
    attempted: bool = True,
) -> DeliveryFailure:
    return DeliveryFailure(event.id, event.type, target.name, reason, permanent, attempted)
