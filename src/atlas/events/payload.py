"""Making events, and their shape on the wire.

An event is made with :func:`new_event` by the code that changes state, and committed to the
store's outbox in the same transaction as the change. :func:`event_to_json` is the one JSON shape
every receiver sees (webhook bodies, the HTTP API)::

    {
      "id": "3f0c...",                     # uuid4, stable across redeliveries: dedupe on it
      "type": "infrastructure.created",
      "time": "2025-01-02T03:04:05.123456Z",
      "workspace_id": "ws-1",
      "infrastructure_id": "inf-1",
      "infrastructure_name": "web",
      "operation_id": "op-1",              # null for an event outside an operation
      "cost_change": 12.35,                # a month, rounded half-up to the cent
      "cost_change_exact": "12.345",       # the exact decimal, for whoever adds them up
      "currency": "EUR",                   # ISO 4217: what the provider bills in
      "data": {...}                        # type-specific details, JSON-safe
    }
"""

from __future__ import annotations

import datetime as dt
import json
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from atlas.cost.money import Money
from atlas.model.records import EventRecord, EventType, utcnow

__all__ = ["EVENT_TYPES", "event_body", "event_to_json", "new_event"]

#: Every event type, in the order the platform documents them.
EVENT_TYPES: tuple[str, ...] = typing.get_args(EventType)

Clock = Callable[[], dt.datetime]


def new_event(
    type: EventType,  # named like the wire field, shadowing the builtin only in here
    *,
    workspace: str,
    infrastructure_id: str,
    infrastructure_name: str,
    operation_id: str | None,
    cost_change: Money,
    data: Mapping[str, Any] | None = None,
    clock: Clock = utcnow,
) -> EventRecord:
    """A new event with a fresh uuid4 id and the current UTC time.

    Checked here, where the change is made, rather than at delivery: an event that cannot be
    sent (an unknown type, a naive time, data that is not JSON) would otherwise sit in the
    outbox failing forever.

    :param cost_change: the change in monthly cost, with its currency (a bare number would
        leave a receiver to guess it).
    :param data: type-specific details; must survive ``json.dumps``.
    :param clock: returns the current time, timezone-aware (tests pass a fixed one).
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; expected one of {', '.join(EVENT_TYPES)}")
    time = clock()
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError("the event clock must return a timezone-aware time")
    if not isinstance(cost_change, Money):
        raise TypeError(
            f"cost_change must be Money (an amount and its currency), not {cost_change!r}"
        )
    payload = dict(data or {})
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"event data must be JSON-safe: {exc}") from None
    return EventRecord(
        id=str(uuid.uuid4()),
        type=type,
        time=time.astimezone(dt.UTC),
        workspace=workspace,
        infrastructure_id=infrastructure_id,
        infrastructure_name=infrastructure_name,
        operation_id=operation_id,
        cost_change=cost_change.amount,
        currency=cost_change.currency,
        data=payload,
    )


def event_to_json(event: EventRecord) -> dict[str, Any]:
    """The event as the JSON object every receiver sees (see the module docstring)."""
    return {
        "id": event.id,
        "type": event.type,
        "time": _iso_utc(event.time),
        "workspace_id": event.workspace,
        "infrastructure_id": event.infrastructure_id,
        "infrastructure_name": event.infrastructure_name,
        "operation_id": event.operation_id,
        # JSON has no decimals; rounded first (half-up, like invoices), so the float carries
        # no extra digits (+0: no "-0.0"). The exact figure rides along as a string.
        "cost_change": float(Money(event.cost_change, event.currency).rounded().amount + 0),
        "cost_change_exact": format(event.cost_change, "f"),
        "currency": event.currency,
        "data": dict(event.data),
    }


def event_body(event: EventRecord) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON of :func:`event_to_json`."""
    text = json.dumps(event_to_json(event), separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _iso_utc(time: dt.datetime) -> str:
    if time.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    text = time.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return text.removesuffix("+00:00") + "Z"
