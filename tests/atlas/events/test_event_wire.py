"""The event record factory and the JSON shape every receiver sees."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from atlas.cost import Money
from atlas.events import EVENT_TYPES, event_body, event_to_json, new_event
from tests.atlas.events.fakes import T0, make_event

# The names other agents of the platform subscribe to (shared/reference/controlvector-ecosystem).
PLATFORM_EVENTS = {
    "infrastructure.created",
    "infrastructure.updated",
    "infrastructure.destroyed",
    "deployment.started",
    "deployment.completed",
    "deployment.failed",
}


def _new(**overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "workspace": "ws-1",
        "infrastructure_id": "inf-1",
        "infrastructure_name": "web",
        "operation_id": "op-1",
        "cost_change": Money("1.00", "USD"),
        "clock": lambda: T0,
    }
    arguments.update(overrides)
    event_type = arguments.pop("type", "deployment.started")
    return new_event(event_type, **arguments)


def test_the_event_types_are_the_platforms() -> None:
    # The platform's six, and the budget alert of issue 17 (documented in docs/lifecycle.md).
    assert set(EVENT_TYPES) == PLATFORM_EVENTS | {"cost.threshold_crossed"}


def test_the_wire_shape() -> None:
    event = make_event("deployment.completed", cost="12.345", currency="EUR", resources=["web-1"])

    assert event_to_json(event) == {
        "id": event.id,
        "type": "deployment.completed",
        "time": "2025-01-02T03:04:05.123456Z",
        "workspace_id": "ws-1",
        "infrastructure_id": "inf-1",
        "infrastructure_name": "web",
        "operation_id": "op-1",
        "cost_change": 12.35,
        "cost_change_exact": "12.345",
        "currency": "EUR",
        "data": {"resources": ["web-1"]},
    }


def test_the_body_is_compact_json_of_the_wire_shape() -> None:
    event = make_event(note="naïve ☃")
    body = event_body(event)

    assert json.loads(body) == event_to_json(event)
    assert b": " not in body
    assert b", " not in body


@pytest.mark.parametrize(
    ("exact", "number", "text"),
    [
        ("12.345", 12.35, "12.345"),  # half-up, the way invoices round
        ("12.344", 12.34, "12.344"),
        ("-3.335", -3.34, "-3.335"),  # a saving rounds away from zero too
        ("-0.004", 0.0, "-0.004"),  # never "-0.0" on the wire
        ("0", 0.0, "0"),
        ("1E+2", 100.0, "100"),  # no exponent in the exact string
        ("0.000001", 0.0, "0.000001"),
        ("1234567.899", 1234567.9, "1234567.899"),
    ],
)
def test_cost_change_is_rounded_to_the_cent_and_kept_exact(
    exact: str, number: float, text: str
) -> None:
    wire = json.loads(event_body(make_event(cost=exact)))

    assert wire["cost_change"] == number
    assert str(wire["cost_change"]) != "-0.0"
    assert wire["cost_change_exact"] == text
    assert Decimal(wire["cost_change_exact"]) == Decimal(exact)


def test_new_event_has_a_fresh_uuid4_and_the_time_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    first = _new(clock=lambda: dt.datetime(2025, 1, 2, 4, 4, 5, tzinfo=paris))
    second = _new()

    assert uuid.UUID(first.id).version == 4
    assert first.id != second.id
    assert first.time == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert first.time.utcoffset() == dt.timedelta(0)
    assert event_to_json(first)["time"] == "2025-01-02T03:04:05.000000Z"
    assert first.delivered_at is None


def test_new_event_keeps_every_field() -> None:
    event = _new(type="infrastructure.destroyed", operation_id=None, data={"a": 1})

    assert event.type == "infrastructure.destroyed"
    assert (event.workspace, event.infrastructure_id, event.infrastructure_name) == (
        "ws-1",
        "inf-1",
        "web",
    )
    assert event.operation_id is None
    assert event_to_json(event)["operation_id"] is None
    assert event.data == {"a": 1}


def test_new_event_copies_its_data() -> None:
    data = {"a": 1}
    event = _new(data=data)
    data["a"] = 2

    assert event.data == {"a": 1}


def test_cost_change_keeps_its_currency() -> None:
    event = _new(cost_change=Money("-4.5", "EUR"))
    assert (event.cost_change, event.currency) == (Decimal("-4.5"), "EUR")
    assert json.loads(event_body(event))["currency"] == "EUR"


@pytest.mark.parametrize("cost", [Decimal("1.00"), 0.1, True, "1.00"])
def test_cost_change_without_its_currency_is_refused(cost: object) -> None:
    with pytest.raises(TypeError, match="cost_change must be Money"):
        _new(cost_change=cost)
