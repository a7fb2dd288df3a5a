"""Managed databases: status transitions, connections, the unpaginated list, resizes."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_digitalocean.emulator import ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import Api


def _database(api: Api, database_id: str) -> dict[str, Any]:
    database: dict[str, Any] = api.client.get(f"/v2/databases/{database_id}").json()["database"]
    return database


def test_a_cluster_is_creating_until_the_latency_passes_then_online(
    api: Api, clock: ManualClock
) -> None:
    database = api.database()
    assert database["status"] == "creating"
    clock.advance(9.9)
    assert _database(api, database["id"])["status"] == "creating"
    clock.advance(0.1)
    assert _database(api, database["id"])["status"] == "online"


def test_a_cluster_carries_connections_with_a_fake_password(api: Api) -> None:
    database = api.database(num_nodes=2, size="db-s-1vcpu-2gb")
    connection = database["connection"]
    assert connection["password"]
    assert connection["uri"].startswith("postgresql://doadmin:")
    assert connection["password"] in connection["uri"]
    assert database["private_connection"]["host"].startswith("private-")
    assert database["standby_connection"]["host"].startswith("replica-")
    assert database["users"] == [
        {"name": "doadmin", "role": "primary", "password": connection["password"]}
    ]
    assert database["db_names"] == ["defaultdb"]


def test_a_cluster_lands_in_the_region_default_vpc_unless_told(api: Api) -> None:
    vpc = api.vpc()
    in_default = api.database("a")
    in_vpc = api.database("b", private_network_uuid=vpc["id"])
    assert in_vpc["private_network_uuid"] == vpc["id"]
    assert in_default["private_network_uuid"] == vpc["id"]  # the first VPC in nyc3 is default
    elsewhere = api.client.post(
        "/v2/databases",
        json={"name": "c", "engine": "pg", "num_nodes": 1, "size": "db-s-1vcpu-1gb",
              "region": "fra1", "private_network_uuid": vpc["id"]},
    )  # fmt: skip
    assert elsewhere.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"engine": "oracle"}, "engine"),
        ({"engine": "redis"}, "valkey"),
        ({"size": "db-huge"}, "size"),
        ({"num_nodes": 4}, "num_nodes"),
        ({"num_nodes": 2}, "standby"),
        ({"region": "mars1"}, "region"),
        ({"name": None}, "name"),
    ],
)
def test_invalid_creates_name_the_problem(api: Api, change: dict[str, Any], field: str) -> None:
    body = {
        "name": "db",
        "engine": "pg",
        "num_nodes": 1,
        "size": "db-s-1vcpu-1gb",
        "region": "nyc3",
    }
    body = {key: value for key, value in {**body, **change}.items() if value is not None}
    response = api.client.post("/v2/databases", json=body)
    assert response.status_code == 422
    assert field in response.json()["message"]


def test_the_list_is_unpaginated_and_filters_by_tag(api: Api) -> None:
    tagged = api.database("a", tags=["prod"])
    api.database("b")
    everything = api.client.get("/v2/databases").json()
    assert set(everything) == {"databases"}
    assert len(everything["databases"]) == 2
    prod = api.client.get("/v2/databases", params={"tag_name": "prod"}).json()["databases"]
    assert [d["id"] for d in prod] == [tagged["id"]]


def test_resize_answers_202_without_a_body_and_passes_through_resizing(
    api: Api, clock: ManualClock
) -> None:
    database = api.database()
    path = f"/v2/databases/{database['id']}/resize"
    early = api.client.put(path, json={"size": "db-s-2vcpu-4gb", "num_nodes": 2})
    assert early.status_code == 422  # still creating
    clock.advance(10)
    response = api.client.put(path, json={"size": "db-s-2vcpu-4gb", "num_nodes": 2})
    assert response.status_code == 202
    assert response.content == b""
    assert _database(api, database["id"])["status"] == "resizing"
    clock.advance(10)
    resized = _database(api, database["id"])
    assert (resized["status"], resized["size"], resized["num_nodes"]) == (
        "online", "db-s-2vcpu-4gb", 2,
    )  # fmt: skip
    assert api.client.put(path, json={"size": "db-s-2vcpu-4gb"}).status_code == 422


def test_delete(api: Api) -> None:
    database = api.database()
    assert api.client.delete(f"/v2/databases/{database['id']}").status_code == 204
    assert api.client.get(f"/v2/databases/{database['id']}").status_code == 404
    assert api.client.delete(f"/v2/databases/{database['id']}").status_code == 404


@pytest.mark.parametrize(
    ("engine", "scheme"),
    [("mysql", "mysql://"), ("valkey", "rediss://"), ("mongodb", "mongodb+srv://")],
)
def test_each_engine_gets_its_own_connection_form(api: Api, engine: str, scheme: str) -> None:
    assert api.database(engine=engine)["connection"]["uri"].startswith(scheme)
