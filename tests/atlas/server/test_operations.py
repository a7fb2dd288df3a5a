"""``/api/v1/operations/{id}`` and its event stream."""

from __future__ import annotations

import json

import httpx

from tests.atlas.server.conformance import parse_sse
from tests.atlas.server.conftest import spec, wait_for


async def test_an_operation_is_read_with_its_steps(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/infrastructure", json=spec())
    op = await wait_for(client, r.json()["operation"]["id"])
    assert [(s["resource"], s["action"], s["status"]) for s in op["steps"]] == [
        ("net", "create", "done"),
        ("data", "create", "done"),
        ("web", "create", "done"),
    ]
    assert all(s["provider_ids"] for s in op["steps"])
    assert op["finished_at"] is not None
    assert op["current_step"] is None
    assert op["error"] is None


async def test_an_unknown_operation_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/operations/nope", "/api/v1/operations/nope/events"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json()["code"] == "RESOURCE_NOT_FOUND"


async def test_the_event_stream_follows_the_operation_to_its_end(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/v1/infrastructure", json=spec())
    operation_id = r.json()["operation"]["id"]
    # The stream is read while the operation runs; it closes by itself once it has ended.
    stream = await client.get(f"/api/v1/operations/{operation_id}/events")
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(stream.text)
    names = [e["event"] for e in events]
    assert names[-1] == "end"
    assert json.loads(events[-1]["data"]) == {
        "operation_id": operation_id,
        "status": "completed",
        "error": None,
    }
    assert names.index("deployment.started") < names.index("deployment.completed")
    assert names.index("deployment.completed") < names.index("end")
    assert "infrastructure.created" in names
    last_op = json.loads([e for e in events if e["event"] == "operation"][-1]["data"])
    assert (last_op["status"], last_op["completed_steps"]) == ("completed", 3)
    done = {json.loads(e["data"])["resource"] for e in events if e["event"] == "step"
            and json.loads(e["data"])["status"] == "done"}  # fmt: skip
    assert done == {"net", "web", "data"}
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))


async def test_the_stream_of_an_ended_operation_replays_it(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/infrastructure", json=spec(resources=[]))
    operation_id = r.json()["operation"]["id"]
    await wait_for(client, operation_id)
    events = parse_sse((await client.get(f"/api/v1/operations/{operation_id}/events")).text)
    assert [e["event"] for e in events] == [
        "deployment.started",
        "deployment.completed",
        "infrastructure.created",
        "operation",
        "end",
    ]
