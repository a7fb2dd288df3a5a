"""VPCs: unique names, defaults per region, protected deletes, PUT and PATCH."""

from __future__ import annotations

from typing import Any

import pytest

from tests.atlas_digitalocean.emulator.emulator_support import Api


def _vpc(api: Api, vpc_id: str) -> dict[str, Any]:
    vpc: dict[str, Any] = api.client.get(f"/v2/vpcs/{vpc_id}").json()["vpc"]
    return vpc


def test_a_create_is_synchronous_and_the_first_in_a_region_is_its_default(api: Api) -> None:
    first = api.vpc("net-1", description="main")
    second = api.vpc("net-2")
    assert first["default"] is True
    assert second["default"] is False
    assert first["urn"] == f"do:vpc:{first['id']}"
    assert first["ip_range"].endswith("/20")
    assert first["ip_range"] != second["ip_range"]
    assert _vpc(api, first["id"]) == first


def test_names_are_unique_in_the_account(api: Api) -> None:
    api.vpc("net")
    response = api.client.post("/v2/vpcs", json={"name": "net", "region": "fra1"})
    assert response.status_code == 409
    assert response.json()["id"] == "conflict"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "bad name"}, "name"),
        ({"region": "mars1"}, "region"),
        ({"ip_range": "8.8.8.0/24"}, "RFC 1918"),
        ({"ip_range": "10.0.0.0/8"}, "/16"),
        ({"ip_range": "10.0.0.0/29"}, "/28"),
        ({"ip_range": "not-a-cidr"}, "ip_range"),
        ({"description": "x" * 256}, "description"),
    ],
)
def test_invalid_creates_name_the_problem(api: Api, change: dict[str, Any], field: str) -> None:
    response = api.client.post("/v2/vpcs", json={"name": "net", "region": "nyc3", **change})
    assert response.status_code == 422
    assert field in response.json()["message"]


def test_ranges_may_not_overlap(api: Api) -> None:
    api.vpc("a", ip_range="10.10.0.0/16")
    response = api.client.post(
        "/v2/vpcs", json={"name": "b", "region": "fra1", "ip_range": "10.10.4.0/24"}
    )
    assert response.status_code == 422
    assert "overlaps" in response.json()["message"]


def test_put_resets_the_description_and_patch_keeps_it(api: Api) -> None:
    vpc = api.vpc("net", description="first")
    patched = api.client.patch(f"/v2/vpcs/{vpc['id']}", json={"name": "net-2"}).json()["vpc"]
    assert (patched["name"], patched["description"]) == ("net-2", "first")
    put = api.client.put(f"/v2/vpcs/{vpc['id']}", json={"name": "net-3"}).json()["vpc"]
    assert (put["name"], put["description"]) == ("net-3", "")
    assert api.client.put(f"/v2/vpcs/{vpc['id']}", json={"description": "x"}).status_code == 422
    other = api.vpc("other")
    taken = api.client.patch(f"/v2/vpcs/{other['id']}", json={"name": "net-3"})
    assert taken.status_code == 409


def test_the_default_moves_but_is_never_unset(api: Api) -> None:
    first, second = api.vpc("a"), api.vpc("b")
    unset = api.client.patch(f"/v2/vpcs/{first['id']}", json={"default": False})
    assert unset.status_code == 422
    moved = api.client.patch(f"/v2/vpcs/{second['id']}", json={"default": True})
    assert moved.json()["vpc"]["default"] is True
    assert _vpc(api, first["id"])["default"] is False
    assert api.droplet()["vpc_uuid"] == second["id"]


def test_a_default_vpc_or_one_with_members_cannot_be_deleted(api: Api) -> None:
    default, other = api.vpc("a"), api.vpc("b")
    forbidden = api.client.delete(f"/v2/vpcs/{default['id']}")
    assert forbidden.status_code == 403
    assert forbidden.json()["id"] == "forbidden"
    droplet = api.droplet(vpc_uuid=other["id"])
    assert api.client.delete(f"/v2/vpcs/{other['id']}").status_code == 403
    api.client.delete(f"/v2/droplets/{droplet['id']}")
    assert api.client.delete(f"/v2/vpcs/{other['id']}").status_code == 204
    assert api.client.get(f"/v2/vpcs/{other['id']}").status_code == 404


def test_members_lists_what_lives_in_the_vpc(api: Api) -> None:
    vpc = api.vpc()
    droplet = api.droplet()
    api.database()
    api.load_balancer()
    members = api.client.get(f"/v2/vpcs/{vpc['id']}/members").json()
    assert members["meta"]["total"] == 3
    droplets = api.client.get(
        f"/v2/vpcs/{vpc['id']}/members", params={"resource_type": "droplet"}
    ).json()["members"]
    assert droplets == [
        {"urn": f"do:droplet:{droplet['id']}", "name": droplet["name"],
         "created_at": droplet["created_at"]}
    ]  # fmt: skip
