"""The stored format does not move: a store written before currencies were recorded reads back
the same records, and records are written to the byte as then, their currency beside them."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from atlas.exceptions import StateError
from atlas.model.records import BudgetRecord
from atlas.store import SQLiteStore, codec
from atlas.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from tests.atlas.store.factories import (
    T0,
    cloud_object,
    event,
    infrastructure,
    operation,
    resource,
    step,
)

LATER = T0 + dt.timedelta(seconds=90)
T0_TEXT = "2026-11-26T09:30:00.123456+00:00"
LATER_TEXT = "2026-11-26T09:31:30.123456+00:00"
OBJECT_TEXT = (
    '{"id":"%s","name":"web-app-%s","status":"%s","attributes":'
    '{"ipv4":"203.0.113.7","size":"s-1vcpu-1gb","tags":["atlas"],"n":1.5}}'
)

#: Rows as version 1 of the schema held them, text for text (what the hand-written codec of
#: that version wrote for the records of EXPECTED).
VERSION_1_ROWS: dict[str, dict[str, Any]] = {
    "infrastructures": {
        "id": "inf-1",
        "workspace": "ws-a",
        "name": "web",
        "provider": "digitalocean",
        "region": "nyc3",
        "status": "active",
        "spec": '{"name":"web","resources":[{"type":"droplet","name":"app"}],"tags":[]}',
        "monthly_cost": "0.00893",
        "created_at": T0_TEXT,
        "updated_at": LATER_TEXT,
    },
    "resources": {
        "infrastructure_id": "inf-1",
        "name": "app",
        "type": "droplet",
        "status": "active",
        "spec": '{"size":"s-1vcpu-1gb","count":1}',
        "objects": "["
        + OBJECT_TEXT % ("101", "101", "active")
        + ","
        + OBJECT_TEXT % ("102", "102", "creating")
        + "]",
        "monthly_cost": "12.0000",
        "operation_id": "op-1",
        "updated_at": T0_TEXT,
    },
    "operations": {
        "id": "op-1",
        "workspace": "ws-a",
        "infrastructure_id": "inf-1",
        "kind": "apply",
        "status": "failed",
        "total_steps": 2,
        "completed_steps": 1,
        "current_step": "app",
        "created_resources": '["app","db"]',
        "cost_change": "-0.00893",
        "error": "the cloud said no",
        "started_at": T0_TEXT,
        "finished_at": LATER_TEXT,
        "spec": '{"name":"web"}',
    },
    "steps": {
        "operation_id": "op-1",
        "idx": 1,
        "resource": "r1",
        "type": "droplet",
        "action": "delete",
        "status": "done",
        "provider_ids": '["9","10"]',
        "error": None,
        "started_at": T0_TEXT,
        "finished_at": LATER_TEXT,
    },
    "events": {
        "id": "ev-1",
        "type": "deployment.started",
        "time": T0_TEXT,
        "workspace": "ws-a",
        "infrastructure_id": "inf-1",
        "infrastructure_name": "web",
        "operation_id": "op-1",
        "cost_change": "6.00",
        "data": '{"steps":2,"nested":{"list":[1,"two"]}}',
        "delivered_at": LATER_TEXT,
    },
}

#: The records those rows hold; a version 1 store held dollars only.
EXPECTED = {
    "infrastructures": infrastructure(monthly_cost=Decimal("0.00893"), updated_at=LATER),
    "resources": resource(
        objects=(cloud_object("101"), cloud_object("102", status="creating")),
        monthly_cost=Decimal("12.0000"),
    ),
    "operations": operation(
        status="failed",
        completed_steps=1,
        current_step="app",
        created_resources=("app", "db"),
        cost_change=Decimal("-0.00893"),
        error="the cloud said no",
        finished_at=LATER,
    ),
    "steps": step(
        1,
        action="delete",
        status="done",
        provider_ids=("9", "10"),
        started_at=T0,
        finished_at=LATER,
    ),
    "events": event(data={"steps": 2, "nested": {"list": [1, "two"]}}, delivered_at=LATER),
}


def _version_1_store(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert migrate(conn, MIGRATIONS[:1]) == 1
        for table, row in VERSION_1_ROWS.items():
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - constants
            conn.execute(insert, tuple(row.values()))


def _stored(path: Path, table: str) -> dict[str, Any]:
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        (row,) = conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - a constant
    return {k: row[k] for k in row.keys() if k != "seq"}  # noqa: SIM118 - a Row, not a dict


#: The columns later migrations added, with the values a version-1 row reads back with.
_ADDED_SINCE_V1: dict[str, dict[str, Any]] = {
    "infrastructures": {"currency": "USD"},
    "resources": {"currency": "USD", "imported": 0},
    "operations": {"currency": "USD"},
    "steps": {"note": None},
    "events": {"currency": "USD"},
}


def _read_all(store: SQLiteStore) -> dict[str, Any]:
    return {
        "infrastructures": store.get_infrastructure("ws-a", "inf-1"),
        "resources": store.list_resources("inf-1")[0],
        "operations": store.get_operation("ws-a", "op-1"),
        "steps": store.steps("op-1")[0],
        "events": store.events_of("ws-a", "op-1")[0],
    }


def test_a_version_1_store_is_migrated_and_reads_back_the_same_records(db_path: Path) -> None:
    _version_1_store(db_path)
    with SQLiteStore(db_path) as store:
        assert store.check()["schema_version"] == SCHEMA_VERSION
        assert _read_all(store) == EXPECTED
        # Its rows were in dollars, and say so now.
        assert {r.currency for r in _read_all(store).values() if hasattr(r, "currency")} == {"USD"}
    for table, row in VERSION_1_ROWS.items():  # and nothing stored was rewritten
        assert _stored(db_path, table) == {**row, **_ADDED_SINCE_V1[table]}


def test_records_are_stored_to_the_byte_as_before_with_their_currency(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.save_infrastructure(EXPECTED["infrastructures"])
        store.save_resource(EXPECTED["resources"])
        store.start_operation(EXPECTED["operations"], [EXPECTED["steps"]], EXPECTED["events"])
        assert _read_all(store) == EXPECTED
    for table, row in VERSION_1_ROWS.items():
        assert _stored(db_path, table) == {**row, **_ADDED_SINCE_V1[table]}


def test_records_in_euros_keep_their_currency(store: SQLiteStore) -> None:
    euros = {
        "infrastructures": infrastructure(currency="EUR", monthly_cost=Decimal("4.51")),
        "resources": resource(currency="EUR", monthly_cost=Decimal("4.51")),
        "operations": operation(currency="EUR", cost_change=Decimal("4.51")),
        "steps": step(0),
        "events": event(currency="EUR", cost_change=Decimal("4.51")),
    }
    store.save_infrastructure(euros["infrastructures"])
    store.save_resource(euros["resources"])
    store.start_operation(euros["operations"], [euros["steps"]], euros["events"])
    assert _read_all(store) == euros
    updated = store.update_operation("op-1", cost_change=Decimal("-1.20"))
    assert (updated.cost_change, updated.currency) == (Decimal("-1.20"), "EUR")


def test_a_currency_is_an_iso_4217_code() -> None:
    with pytest.raises(ValueError, match="'currency' must match"):
        infrastructure(currency="eur")
    with pytest.raises(ValueError, match="'currency' must match"):
        event(currency="EURO")


def test_a_row_that_is_not_a_record_is_a_state_error_naming_the_column(db_path: Path) -> None:
    _version_1_store(db_path)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute("UPDATE resources SET status = 'gone'")
    with SQLiteStore(db_path) as store, pytest.raises(StateError, match=r"ResourceRecord.*status"):
        store.list_resources("inf-1")


def test_a_budget_is_stored_as_before_and_its_thresholds_read_from_text_or_a_list() -> None:
    record = BudgetRecord("ws-a", Decimal("10.50"), "USD", (50, 80, 100), False, T0)
    # What set_budget wrote by hand before the record existed, to the byte.
    row = {
        "workspace": "ws-a",
        "monthly_limit": "10.50",
        "currency": "USD",
        "thresholds": "[50,80,100]",
        "include_forecast": 0,
        "updated_at": T0_TEXT,
    }
    assert codec.SQLITE.params(record) == row
    assert codec.SQLITE.from_row(row, BudgetRecord) == record
    # psycopg parses a json column unless told to keep its text: both read back the same.
    native = codec.POSTGRES.params(record)
    assert (native["thresholds"], native["include_forecast"]) == ("[50,80,100]", False)
    for thresholds in ("[50,80,100]", [50, 80, 100]):
        back = codec.POSTGRES.from_row({**native, "thresholds": thresholds}, BudgetRecord)
        assert back == record
        assert type(back.thresholds) is tuple
    for bad in ('["50"]', [True], '{"a":1}'):
        with pytest.raises(StateError, match="a stored BudgetRecord cannot be read"):
            codec.POSTGRES.from_row({**native, "thresholds": bad}, BudgetRecord)
