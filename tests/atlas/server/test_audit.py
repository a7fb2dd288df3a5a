"""The HTTP API's audit trail: one entry per mutating request, refused ones too, one when the
operation it started ends; a workspace reads its own; no credential in any entry."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.cli import main
from atlas.exceptions import StateError
from atlas.model.records import AuditEntry
from atlas.server import create_app
from atlas.store import SQLiteStore
from atlas.store.audit import entry_json, verify_store
from tests.atlas.server.conftest import (
    SECRET,
    TOKEN,
    MakeSettings,
    Served,
    bearer,
    spec,
    token,
    wait_for,
)


def _entries(store: SQLiteStore, request_id: str) -> list[dict[str, Any]]:
    return [
        entry_json(e) for e in store.audit_entries(None, limit=1000) if e.request_id == request_id
    ]


async def _ended(store: SQLiteStore, operation_id: str, timeout: float = 10) -> dict[str, Any]:
    """The entry of the operation's end (written as its task finishes)."""
    deadline = time.monotonic() + timeout
    while True:
        for e in store.audit_entries(None, limit=1000):
            if e.operation_id == operation_id and e.action.startswith("operation."):
                return entry_json(e)
        assert time.monotonic() < deadline, "no audit entry for the operation's end"
        await asyncio.sleep(0.005)


async def test_each_mutating_route_leaves_one_entry_naming_the_caller(
    served: Served, store: SQLiteStore
) -> None:
    jwt = token("ws-a", user="user-42")
    async with served.client({"Authorization": f"Bearer {jwt}"}) as client:
        created = await client.post("/api/v1/infrastructure", json=spec())
        assert created.status_code == 201
        op_id = created.json()["operation"]["id"]
        infra_id = created.json()["infrastructure"]["id"]
        await wait_for(client, op_id)
        grown = spec(
            resources=[
                *spec()["resources"],
                {"type": "disk", "name": "logs", "specifications": {"size_gb": 10}},
            ]
        )
        updated = await client.put(f"/api/v1/infrastructure/{infra_id}", json=grown)
        assert updated.status_code == 200
        await wait_for(client, updated.json()["operation"]["id"])
        destroyed = await client.delete(f"/api/v1/infrastructure/{infra_id}")
        assert destroyed.status_code == 200
        await wait_for(client, destroyed.json()["operation"]["id"])
    for response, action, status in (
        (created, "POST /api/v1/infrastructure", 201),
        (updated, "PUT /api/v1/infrastructure/{id}", 200),
        (destroyed, "DELETE /api/v1/infrastructure/{id}", 200),
    ):
        request_id = response.headers["x-request-id"]
        requested = [e for e in _entries(store, request_id) if not e["action"].startswith("op")]
        assert len(requested) == 1, requested
        entry = requested[0]
        assert (entry["actor"], entry["workspace"], entry["auth_method"]) == (
            "user-42",
            "ws-a",
            "jwt",
        )
        assert (entry["action"], entry["status_code"], entry["outcome"]) == (action, status, "ok")
        assert entry["infrastructure_id"] == infra_id
        assert entry["infrastructure_name"] == "shop"
        assert entry["operation_id"] == response.json()["operation"]["id"]
        assert entry["remote_address"] == "127.0.0.1"
        ended = await _ended(store, entry["operation_id"])
        assert ended["outcome"] == "completed"
        assert (ended["actor"], ended["workspace"]) == ("user-42", "ws-a")
        assert ended["request_id"] == request_id
    first = _entries(store, created.headers["x-request-id"])[0]
    assert first["summary"] == {
        "kind": "apply",
        "changes": {"create": 3},
        "cost_change": "22.00",
        "currency": "USD",
    }
    ended = await _ended(store, first["operation_id"])
    assert ended["summary"]["cost_change"] == "22.00"
    assert verify_store(store).ok


async def test_refused_requests_leave_an_entry_too(
    served: Served, client: httpx.AsyncClient, store: SQLiteStore
) -> None:
    await wait_for(
        client, (await client.post("/api/v1/infrastructure", json=spec())).json()["operation"]["id"]
    )
    async with served.client() as anonymous:
        no_token = await anonymous.post("/api/v1/infrastructure", json=spec())
    refusals = [
        (no_token, 401, "UNAUTHORIZED"),
        (await client.post("/api/v1/infrastructure", json=spec()), 409, "INFRASTRUCTURE_EXISTS"),
        (await client.post("/api/v1/infrastructure", json={"name": "x"}), 422, "VALIDATION_ERROR"),
        (await client.put("/api/v1/infrastructure/nope", json=spec()), 404, "RESOURCE_NOT_FOUND"),
        (await client.delete("/api/v1/infrastructure/nope"), 404, "RESOURCE_NOT_FOUND"),
    ]
    for response, status, code in refusals:
        assert response.status_code == status, response.text
        (entry,) = _entries(store, response.headers["x-request-id"])
        assert (entry["status_code"], entry["error_code"], entry["outcome"]) == (
            status,
            code,
            "refused",
        )
        assert entry["operation_id"] is None
    anonymous_entry = _entries(store, no_token.headers["x-request-id"])[0]
    assert (anonymous_entry["workspace"], anonymous_entry["actor"]) == (None, None)
    assert anonymous_entry["auth_method"] == "refused"
    not_found = _entries(store, refusals[3][0].headers["x-request-id"])[0]
    assert (not_found["workspace"], not_found["actor"]) == ("ws-a", "user-1")
    assert not_found["infrastructure_id"] == "nope"  # what was asked for


async def test_reads_and_plans_leave_no_entry(
    client: httpx.AsyncClient, store: SQLiteStore
) -> None:
    await client.get("/api/v1/infrastructure")
    await client.get("/api/v1/stats")
    await client.post("/api/v1/plan", json=spec())
    await client.post("/api/v1/estimate-cost", json=spec())
    await client.get("/api/v1/audit")
    assert store.audit_entries(None) == []


async def test_a_workspace_sees_only_its_own_entries_a_page_at_a_time(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    for name in ("a", "b", "c"):
        await client.post("/api/v1/infrastructure", json=spec(name=name, resources=[]))
    await other.post("/api/v1/infrastructure", json=spec(name="theirs", resources=[]))
    await other.delete("/api/v1/infrastructure/a")  # 404 in ws-b: its entry is ws-b's
    mine = (await client.get("/api/v1/audit")).json()
    theirs = (await other.get("/api/v1/audit")).json()
    assert {e["workspace"] for e in mine["entries"]} == {"ws-a"}
    assert {e["workspace"] for e in theirs["entries"]} == {"ws-b"}
    assert [e["action"] for e in theirs["entries"] if e["status_code"]] == [
        "POST /api/v1/infrastructure",
        "DELETE /api/v1/infrastructure/{id}",
    ]
    assert {e["infrastructure_name"] for e in mine["entries"]} == {"a", "b", "c"}
    seqs = [e["seq"] for e in mine["entries"]]
    assert seqs == sorted(seqs)
    page = (await client.get("/api/v1/audit", params={"limit": 2})).json()
    assert [e["seq"] for e in page["entries"]] == seqs[:2]
    assert page["next_after"] == seqs[1]
    rest = (await client.get("/api/v1/audit", params={"after": page["next_after"]})).json()
    assert [e["seq"] for e in rest["entries"]] == seqs[2:]
    assert rest["next_after"] is None


async def test_the_audit_route_needs_credentials(served: Served) -> None:
    async with served.client() as anonymous:
        assert (await anonymous.get("/api/v1/audit")).status_code == 401


async def test_no_credential_is_in_any_entry(served: Served, store: SQLiteStore) -> None:
    jwt = token("ws-a")
    headers = {"Authorization": f"Bearer {jwt}", "X-Request-ID": "req-1"}
    async with served.client(headers) as client:
        r = await client.post("/api/v1/infrastructure", json=spec())
        await wait_for(client, r.json()["operation"]["id"])
        await client.post("/api/v1/infrastructure", json=spec(name="bad", provider="nope"))
        await _ended(store, r.json()["operation"]["id"])
    async with served.client({"Authorization": "Bearer " + jwt[:-4] + "AAAA"}) as forged:
        await forged.post("/api/v1/infrastructure", json=spec())
    entries = store.audit_entries(None)
    assert len(entries) == 4
    text = json.dumps([entry_json(e) for e in entries]) + repr(entries)
    for secret in (jwt, jwt.split(".")[1], jwt[:-4] + "AAAA", SECRET, TOKEN):
        assert secret not in text


async def test_a_store_that_cannot_append_does_not_change_the_answer(
    client: httpx.AsyncClient,
    store: SQLiteStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(entry: AuditEntry) -> AuditEntry:
        raise StateError("the state store failed: database or disk is full")

    monkeypatch.setattr(store, "append_audit", refuse)
    r = await client.post("/api/v1/infrastructure", json=spec(resources=[]))
    assert r.status_code == 201
    assert "could not append to the audit trail (POST /api/v1/infrastructure)" in caplog.text


async def test_atlas_audit_verifies_what_the_server_wrote_and_names_a_row_edited_by_hand(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    path = str(tmp_path / "state.db")
    with SQLiteStore(path) as store:
        app = create_app(make_settings(store=store))
        async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
            r = await c.post("/api/v1/infrastructure", json=spec())
            await wait_for(c, r.json()["operation"]["id"])
            await _ended(store, r.json()["operation"]["id"])
            await c.delete("/api/v1/infrastructure/shop")
            await c.delete("/api/v1/infrastructure/nope")  # refused: 404
        count = len(store.audit_entries(None))
    out = io.StringIO()
    assert main(["audit", "--verify", "--state", path], out=out, err=io.StringIO()) == 0
    assert out.getvalue().startswith(f"audit trail whole: {count} entries")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
    out = io.StringIO()
    assert main(["audit", "--verify", "--state", path], out=out, err=io.StringIO()) == 1
    assert out.getvalue().startswith("audit trail broken at seq 2 (entry ")
