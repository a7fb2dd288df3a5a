"""Workspace isolation: another workspace's infrastructure or operation answers exactly like
a missing one, on every route with an id and every method."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atlas.server.openapi import OPERATIONS, Op
from atlas.testing.memory import MemoryCloud
from tests.atlas.server.conftest import created, spec

ID_ROUTES = [op for op in OPERATIONS if "{id}" in op.path]


def test_every_route_with_an_id_is_covered() -> None:
    assert {(op.method, op.path) for op in ID_ROUTES} == {
        ("GET", "/api/v1/infrastructure/{id}"),
        ("PUT", "/api/v1/infrastructure/{id}"),
        ("DELETE", "/api/v1/infrastructure/{id}"),
        ("GET", "/api/v1/infrastructure/{id}/operations"),
        ("GET", "/api/v1/infrastructure/{id}/costs"),
        ("GET", "/api/v1/operations/{id}"),
        ("GET", "/api/v1/operations/{id}/events"),
    }


async def _call(client: httpx.AsyncClient, op: Op, key: str) -> tuple[int, dict[str, Any]]:
    body = spec() if op.body else None
    r = await client.request(op.method, op.path.replace("{id}", key), json=body)
    data = r.json()
    data.pop("request_id")
    data["message"] = data["message"].replace(key, "<key>")
    return r.status_code, data


@pytest.mark.parametrize("op", ID_ROUTES, ids=lambda op: f"{op.method} {op.path}")
async def test_a_foreign_id_answers_like_a_missing_one(
    op: Op, client: httpx.AsyncClient, other: httpx.AsyncClient, cloud: MemoryCloud
) -> None:
    infra = await created(client)
    [operation] = (await client.get(f"/api/v1/infrastructure/{infra['id']}/operations")).json()[
        "operations"
    ]
    objects = cloud.objects("server")
    foreign = [infra["id"], infra["name"]] if "infrastructure" in op.path else [operation["id"]]
    missing = await _call(other, op, "0b9d7c52-0000-4000-8000-000000000000")
    assert missing[0] == 404
    assert missing[1]["code"] == "RESOURCE_NOT_FOUND"
    for key in foreign:
        assert await _call(other, op, key) == missing, key
    # Nothing of the first workspace moved.
    again = (await client.get(f"/api/v1/infrastructure/{infra['id']}")).json()["infrastructure"]
    assert again == infra
    assert cloud.objects("server") == objects
    ops = (await client.get(f"/api/v1/infrastructure/{infra['id']}/operations")).json()
    assert ops["count"] == 1


async def test_lists_and_stats_show_only_the_callers_workspace(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await created(client)
    assert (await other.get("/api/v1/infrastructure")).json()["count"] == 0
    assert (await other.get("/api/v1/stats")).json()["stats"]["total_infrastructures"] == 0
    # The same name in another workspace is another infrastructure (in the same cloud account
    # here, its objects named apart by the workspace's owner mark).
    theirs = await created(other, spec())
    mine = (await client.get("/api/v1/infrastructure/shop")).json()["infrastructure"]
    assert theirs["id"] != mine["id"]
    assert (theirs["workspace_id"], mine["workspace_id"]) == ("ws-b", "ws-a")
