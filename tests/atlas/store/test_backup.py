"""The export format: what it holds, that it reads back as the very snapshot written, and that
a file that is not exactly an export is refused with every problem and its path."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest

from atlas.__about__ import __version__
from atlas.exceptions import SpecError, SpecValidationError
from atlas.model.infrastructure import Budget
from atlas.store import Snapshot, SQLiteStore
from atlas.store.backup import FORMAT, MARKER, export_document, read_export, snapshot_from
from atlas.store.base import StateStore
from tests.atlas.store.conftest import Backend
from tests.atlas.store.factories import T0, FakeClock, cloud_object, infrastructure, resource
from tests.atlas.store.test_snapshot import MONTH, fill, threshold_event
from tests.postgres import new_schema


def _export(store: StateStore) -> dict[str, Any]:
    return export_document(store.snapshot(), schema_version=3, now=lambda: T0)


def test_an_export_reads_back_as_the_snapshot_it_was_made_of(
    store: StateStore, clock: FakeClock
) -> None:
    fill(store, clock)
    text = json.dumps(_export(store), indent=2).encode()
    assert read_export(text, origin="backup.json") == store.snapshot()


def test_every_backend_writes_the_same_export_of_the_same_records(
    store: StateStore, clock: FakeClock
) -> None:
    fill(store, clock)
    with SQLiteStore(":memory:") as copied:
        copied.restore(store.snapshot())
        assert _export(copied) == _export(store)


def test_the_format_is_the_records_fields_grouped_by_workspace() -> None:
    with SQLiteStore(":memory:") as store:
        store.save_infrastructure(infrastructure(monthly_cost=Decimal("0.00893")))
        store.save_resource(resource(objects=(cloud_object("7", attributes={"n": 1.5}),)))
        doc = _export(store)
    assert doc == {
        MARKER: FORMAT,
        "atlas_version": __version__,
        "schema_version": 3,
        "exported_at": "2026-11-26T09:30:00.123456+00:00",
        "workspaces": [
            {
                "name": "ws-a",
                "infrastructures": [
                    {
                        "id": "inf-1",
                        "workspace": "ws-a",
                        "name": "web",
                        "provider": "digitalocean",
                        "region": "nyc3",
                        "status": "active",
                        "spec": {
                            "name": "web",
                            "resources": [{"type": "droplet", "name": "app"}],
                            "tags": [],
                        },
                        "monthly_cost": "0.00893",
                        "currency": "USD",
                        "created_at": "2026-11-26T09:30:00.123456+00:00",
                        "updated_at": "2026-11-26T09:30:00.123456+00:00",
                    }
                ],
                "resources": [
                    {
                        "infrastructure_id": "inf-1",
                        "name": "app",
                        "type": "droplet",
                        "status": "active",
                        "spec": {"size": "s-1vcpu-1gb", "count": 1},
                        "objects": [
                            {
                                "id": "7",
                                "name": "web-app-7",
                                "status": "active",
                                "attributes": {"n": 1.5},
                            }
                        ],
                        "monthly_cost": "6.00",
                        "currency": "USD",
                        "operation_id": "op-1",
                        "updated_at": "2026-11-26T09:30:00.123456+00:00",
                        "imported": False,
                    }
                ],
                "operations": [],
                "steps": [],
                "events": [],
                "budgets": [],
                "threshold_crossings": [],
            }
        ],
        "locks": [],
        "audit": [],
    }


def test_budgets_and_crossings_are_written_in_their_workspace() -> None:
    with SQLiteStore(":memory:", clock=lambda: T0) as store:
        store.set_budget("ws-c", Budget(Decimal("10.50"), "EUR", (25, 90), include_forecast=True))
        store.cross_threshold(
            "workspace", MONTH, 25, threshold_event("ev-25", 25, workspace="ws-c")
        )
        doc = _export(store)
    [ws] = doc["workspaces"]  # a workspace of a budget alone is a workspace of the file
    assert ws["name"] == "ws-c"
    assert [e["id"] for e in ws["events"]] == ["ev-25"]
    assert (ws["budgets"], ws["threshold_crossings"]) == (
        [
            {
                "workspace": "ws-c",
                "monthly_limit": "10.50",
                "currency": "EUR",
                "thresholds": [25, 90],
                "include_forecast": True,
                "updated_at": "2026-11-26T09:30:00.123456+00:00",
            }
        ],
        [
            {
                "workspace": "ws-c",
                "scope": "workspace",
                "month": "2026-11",
                "threshold": 25,
                "event_id": "ev-25",
                "crossed_at": "2026-11-26T09:30:00.123456+00:00",
            }
        ],
    )


@pytest.fixture
def exported(clock: FakeClock) -> dict[str, Any]:
    with SQLiteStore(":memory:", clock=clock) as store:
        fill(store, clock)
        return _export(store)


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecValidationError) as refused:
        snapshot_from(doc, origin="backup.json")
    return [str(p) for p in refused.value.problems]


def test_every_record_that_is_not_exactly_one_is_a_problem_with_its_path(
    exported: dict[str, Any],
) -> None:
    doc = copy.deepcopy(exported)
    ws_a = doc["workspaces"][0]
    ws_a["infrastructures"][0]["monthly_cost"] = 6.0
    ws_a["infrastructures"][1]["created_at"] = "2026-11-26T09:30:00"
    ws_a["resources"][0]["colour"] = "red"
    ws_a["operations"][0]["status"] = "paused"
    ws_a["steps"][0]["index"] = "0"
    ws_a["events"][0]["seq"] = 0
    doc["locks"][0]["holder"] = None
    assert _problems(doc) == [
        "workspaces[0].infrastructures[0].monthly_cost: expected an amount as a decimal string "
        '("6.00"), got a number (6.0): as a number it may lose digits',
        "workspaces[0].infrastructures[1].created_at: expected a time with its UTC offset, got "
        "a string ('2026-11-26T09:30:00')",
        "workspaces[0].resources[0].colour: unknown field; known fields: infrastructure_id, "
        "name, type, status, spec, objects, monthly_cost, currency, operation_id, updated_at, "
        "imported",
        "workspaces[0].operations[0].status: must be one of 'pending', 'in_progress', "
        "'completed', 'failed'; got 'paused'",
        "workspaces[0].steps[0].index: expected a whole number, got a string ('0')",
        "workspaces[0].events[0].seq: expected a whole number, 1 or more, got a number (0)",
        "locks[0].holder: expected a string, got null",
    ]


def test_references_to_records_the_file_does_not_hold_are_problems(
    exported: dict[str, Any],
) -> None:
    doc = copy.deepcopy(exported)
    ws_a, ws_b = doc["workspaces"]
    ws_a["resources"][1]["infrastructure_id"] = "inf-3"  # of the other workspace
    ws_b["operations"][0]["workspace"] = "ws-a"
    ws_b["steps"][0]["operation_id"] = "op-gone"
    ws_a["events"][1]["id"] = ws_a["events"][0]["id"]
    ws_a["infrastructures"].append(copy.deepcopy(ws_a["infrastructures"][1]))
    assert _problems(doc) == [
        "workspaces[0].infrastructures[2]: a second record of infrastructures with the same key",
        "workspaces[0].events[1].id: a second event with this id",
        "workspaces[0].infrastructures[2].name: a second live infrastructure of this name in "
        "the workspace",
        "workspaces[1].operations[0].workspace: 'ws-a' in the list of workspace 'ws-b'",
        "workspaces[0].resources[1].infrastructure_id: no infrastructure 'inf-3' in workspace "
        "'ws-a' of the file",
        "workspaces[1].steps[0].operation_id: no operation 'op-gone' in workspace 'ws-b' of "
        "the file",
    ]


NOT_ONE = "backup.json is not an atlas state export"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"{not json",
            "backup.json is not an atlas state export: not valid JSON (line 1, column 2",
        ),
        (
            b'{"name": "web"}',
            "backup.json is not an atlas state export (it has no 'atlas_state' key)",
        ),
        (b'{"atlas_state": "1"}', "backup.json is corrupt: atlas_state must be a format version"),
        (
            b'{"atlas_state": 4}',
            f"backup.json was written by a newer atlas (state format 4; this atlas, {__version__}, "
            "reads format 3): import it with that atlas",
        ),
    ],
)
def test_a_file_that_is_no_export_of_this_format_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(SpecError) as refused:
        read_export(data, origin="backup.json")
    assert str(refused.value).startswith(message)


def test_an_empty_export_is_an_empty_snapshot() -> None:
    assert snapshot_from({MARKER: FORMAT, "workspaces": [], "locks": []}) == Snapshot()
    later = T0 + dt.timedelta(days=1)
    with SQLiteStore(":memory:") as store:
        doc = export_document(store.snapshot(), schema_version=3, now=lambda: later)
    assert (doc["workspaces"], doc["locks"]) == ([], [])


def test_a_format_1_file_reads_as_a_store_without_an_audit_trail() -> None:
    assert snapshot_from({MARKER: 1, "workspaces": [], "locks": []}) == Snapshot()
    with pytest.raises(SpecValidationError) as refused:
        snapshot_from({MARKER: 1, "workspaces": [], "locks": [], "audit": []})
    assert [p.path for p in refused.value.problems] == ["audit"]


def test_an_audit_entry_twice_at_one_place_is_refused(store: StateStore, clock: FakeClock) -> None:
    fill(store, clock)
    doc = _export(store)
    doc["audit"][1]["seq"] = doc["audit"][0]["seq"]
    with pytest.raises(SpecValidationError) as refused:
        snapshot_from(doc)
    assert [p.path for p in refused.value.problems] == ["audit[1].seq"]


def _older(doc: dict[str, Any], version: int) -> dict[str, Any]:
    """``doc`` as an atlas of format ``version`` wrote it (2: before budgets; 1: before the
    audit trail too)."""
    old = copy.deepcopy(doc)
    old[MARKER] = version
    for ws in old["workspaces"]:
        del ws["budgets"], ws["threshold_crossings"]
    if version == 1:
        del old["audit"]
    return old


@pytest.mark.parametrize("version", [1, 2])
def test_a_file_of_an_older_format_imports_without_budgets(
    store: StateStore, exported: dict[str, Any], version: int
) -> None:
    written = snapshot_from(exported)
    read = snapshot_from(_older(exported, version))
    assert read.budgets == read.threshold_crossings == ()
    kept = {"budgets": (), "threshold_crossings": ()} | ({"audit": ()} if version == 1 else {})
    assert read == attrs.evolve(written, **kept)
    store.restore(read)
    assert store.snapshot() == read
    assert store.get_budget("ws-a") is None
    assert store.crossed_thresholds("ws-a", "workspace", MONTH) == []


def test_a_format_2_file_with_budgets_is_refused(exported: dict[str, Any]) -> None:
    doc = _older(exported, 2)
    doc["workspaces"][0]["budgets"] = exported["workspaces"][0]["budgets"]
    assert _problems(doc) == ["workspaces[0].budgets: unknown field"]


@pytest.mark.parametrize("target", ["memory", "postgres"])
def test_budgets_and_crossings_come_back_from_the_file_and_nothing_is_alerted_again(
    store: StateStore, clock: FakeClock, target: str, request: pytest.FixtureRequest
) -> None:
    fill(store, clock)
    text = json.dumps(_export(store)).encode()
    database = request.getfixturevalue("postgres_database") if target == "postgres" else ""
    location = new_schema(database) if target == "postgres" else ":memory:"
    with Backend(target, location).open(clock=clock) as other:
        other.restore(read_export(text, origin="backup.json"))
        assert other.snapshot() == store.snapshot()
        assert other.get_budget("ws-a") == store.get_budget("ws-a")
        before = other.pending_events()
        assert not other.cross_threshold("workspace", MONTH, 50, threshold_event("x", 50))
        assert other.pending_events() == before


def test_budgets_and_crossings_that_are_not_exactly_some_are_problems(
    exported: dict[str, Any],
) -> None:
    doc = copy.deepcopy(exported)
    ws_a, ws_b = doc["workspaces"]
    ws_a["budgets"].append({**ws_a["budgets"][0], "thresholds": "50,80"})
    ws_a["budgets"].append(copy.deepcopy(ws_a["budgets"][0]))
    ws_b["budgets"].append({**ws_a["budgets"][0]})  # ws-a's, in ws-b's list
    ws_a["threshold_crossings"][0]["threshold"] = 50.0
    ws_b["threshold_crossings"][0]["event_id"] = "ws-a-50"  # an event of the other workspace
    ws_b["threshold_crossings"].append(copy.deepcopy(ws_b["threshold_crossings"][0]))
    assert _problems(doc) == [
        "workspaces[0].budgets[1].thresholds: expected a list, got a string ('50,80')",
        "workspaces[0].threshold_crossings[0].threshold: expected a whole number, got a "
        "number (50.0)",
        "workspaces[0].budgets[2]: a second budget of this workspace",
        "workspaces[1].budgets[0]: a second budget of this workspace",
        "workspaces[1].threshold_crossings[1]: a second crossing of this threshold of this "
        "budget in this month",
        "workspaces[1].budgets[0].workspace: 'ws-a' in the list of workspace 'ws-b'",
        "workspaces[1].threshold_crossings[0].event_id: no event 'ws-a-50' in workspace "
        "'ws-b' of the file",
        "workspaces[1].threshold_crossings[1].event_id: no event 'ws-a-50' in workspace "
        "'ws-b' of the file",
    ]
