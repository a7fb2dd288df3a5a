"""Records with sensible defaults, so each test spells out only what it is about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs

from atlas.model.cloud import CloudObject
from atlas.model.records import (
    AuditEntry,
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    ResourceRecord,
    StepRecord,
)

T0 = dt.datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=dt.UTC)
WS = "ws-a"


class FakeClock:
    """A clock that moves only when told to (leases are tested without sleeping)."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def infrastructure(**changes: Any) -> InfrastructureRecord:
    base = InfrastructureRecord(
        id="inf-1",
        workspace=WS,
        name="web",
        provider="digitalocean",
        region="nyc3",
        status="active",
        spec={"name": "web", "resources": [{"type": "droplet", "name": "app"}], "tags": []},
        monthly_cost=Decimal("6.00"),
        currency="USD",
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(base, **changes)


def cloud_object(id_: str = "101", **changes: Any) -> CloudObject:
    base = CloudObject(
        id=id_,
        name=f"web-app-{id_}",
        status="active",
        attributes={"ipv4": "203.0.113.7", "size": "s-1vcpu-1gb", "tags": ["atlas"], "n": 1.5},
    )
    return attrs.evolve(base, **changes)


def resource(**changes: Any) -> ResourceRecord:
    base = ResourceRecord(
        infrastructure_id="inf-1",
        name="app",
        type="droplet",
        status="active",
        spec={"size": "s-1vcpu-1gb", "count": 1},
        objects=(cloud_object(),),
        monthly_cost=Decimal("6.00"),
        currency="USD",
        operation_id="op-1",
        updated_at=T0,
    )
    return attrs.evolve(base, **changes)


def operation(**changes: Any) -> OperationRecord:
    base = OperationRecord(
        id="op-1",
        workspace=WS,
        infrastructure_id="inf-1",
        kind="apply",
        status="in_progress",
        total_steps=2,
        completed_steps=0,
        current_step=None,
        created_resources=(),
        cost_change=Decimal("6.00"),
        currency="USD",
        error=None,
        started_at=T0,
        finished_at=None,
        spec={"name": "web"},
    )
    return attrs.evolve(base, **changes)


def step(index: int = 0, **changes: Any) -> StepRecord:
    base = StepRecord(
        operation_id="op-1",
        index=index,
        resource=f"r{index}",
        type="droplet",
        action="create",
        status="pending",
        provider_ids=(),
        error=None,
        started_at=None,
        finished_at=None,
    )
    return attrs.evolve(base, **changes)


def event(id_: str = "ev-1", **changes: Any) -> EventRecord:
    base = EventRecord(
        id=id_,
        type="deployment.started",
        time=T0,
        workspace=WS,
        infrastructure_id="inf-1",
        infrastructure_name="web",
        operation_id="op-1",
        cost_change=Decimal("6.00"),
        currency="USD",
        data={"steps": 2},
    )
    return attrs.evolve(base, **changes)


def audit_entry(n: int = 1, *, workspace: str | None = WS, **changes: Any) -> AuditEntry:
    """The ``n``-th entry a test appends (the store numbers and seals it)."""
    base = AuditEntry(
        id=f"audit-{n}",
        time=T0,
        workspace=workspace,
        actor="user-7",
        auth_method="jwt",
        remote_address="203.0.113.9",
        request_id=f"req-{n}",
        action="POST /api/v1/infrastructure",
        infrastructure_id="inf-1",
        infrastructure_name="web",
        operation_id="op-1",
        outcome="ok",
        status_code=201,
        error_code=None,
        summary={"changes": {"create": 2}, "cost_change": "12.00", "currency": "USD"},
    )
    return attrs.evolve(base, **changes)
