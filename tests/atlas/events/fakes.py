"""Fakes for the event tests: an in-memory outbox, receivers and plugins that record.

A plain module (not conftest) so tests can import the classes by name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import httpx

from atlas.cost import Money
from atlas.events import new_event, verify_signature
from atlas.exceptions import StateError
from atlas.model.records import EventRecord, EventType
from atlas.plugins import hookimpl

# Made up, shaped like a webhook signing secret, so a leak is easy to spot.
CANARY = "whsec_" + "deadbeef" * 6 + "canary"
URL = "https://hooks.example.test/atlas/T0KEN-IN-PATH"
T0 = dt.datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)


def make_event(
    type: EventType = "infrastructure.created",
    *,
    cost: str = "12.345",
    currency: str = "USD",
    name: str = "web",
    **data: Any,
) -> EventRecord:
    return new_event(
        type,
        workspace="ws-1",
        infrastructure_id="inf-1",
        infrastructure_name=name,
        operation_id="op-1",
        cost_change=Money(cost, currency),
        data=data,
        clock=lambda: T0,
    )


class FakeOutbox:
    """Just the event methods of a state store, in commit order, like the SQLite one."""

    def __init__(self) -> None:
        self._events: dict[str, EventRecord] = {}

    def add_events(self, events: Sequence[EventRecord]) -> None:
        for event in events:
            self._events[event.id] = event

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        return [e for e in self._events.values() if e.delivered_at is None][: max(limit, 0)]

    def mark_delivered(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            event = self._events[event_id]
            if event.delivered_at is None:
                self._events[event_id] = attrs.evolve(event, delivered_at=T0)


class CrashingOutbox:
    """An outbox whose ``mark_delivered`` fails ``crashes`` times: the process "dies" after
    delivering and before marking."""

    def __init__(self, inner: Any, crashes: int = 1) -> None:
        self.inner = inner
        self.crashes = crashes

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        events: list[EventRecord] = self.inner.pending_events(limit=limit)
        return events

    def mark_delivered(self, event_ids: Sequence[str]) -> None:
        if self.crashes > 0:
            self.crashes -= 1
            raise StateError("the store went away")
        self.inner.mark_delivered(event_ids)


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Receiver:
    """A webhook receiver behind an ``httpx.MockTransport``: answers from a script (the last
    answer repeats), records every request and checks its signature."""

    def __init__(self, *answers: Answer, secret: str = CANARY) -> None:
        self.answers = list(answers) or [httpx.Response(204)]
        self.secret = secret
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return httpx.Response(answer.status_code, headers=answer.headers)
        return answer(request)

    @property
    def delivery_ids(self) -> list[str]:
        return [r.headers["X-Atlas-Delivery"] for r in self.requests]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def verifies(self, request: httpx.Request, now: float) -> bool:
        return verify_signature(
            self.secret,
            request.headers["X-Atlas-Timestamp"],
            request.content,
            request.headers["X-Atlas-Signature"],
            now=now,
        )


class Recorder:
    """A plugin that records the events it is given; ``fail_on`` names event ids it raises on."""

    def __init__(self, name: str, fail_on: Sequence[str] = (), log: list[str] | None = None):
        self.__name__ = name  # pluggy names a registered object after its __name__
        self.fail_on = set(fail_on)
        self.seen: list[str] = []
        self.log = log

    @hookimpl
    def atlas_on_event(self, event: EventRecord) -> None:
        self.seen.append(event.id)
        if self.log is not None:
            self.log.append(f"{self.__name__}:{event.id}")
        if event.id in self.fail_on:
            raise RuntimeError(f"{self.__name__} cannot take {event.type}")
