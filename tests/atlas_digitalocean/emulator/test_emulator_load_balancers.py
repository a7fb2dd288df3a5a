"""Load balancers: new -> active, droplets by id or by tag, PUT resets what it leaves out."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_digitalocean.emulator import ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import HTTP_RULE, Api


def _lb(api: Api, lb_id: str) -> dict[str, Any]:
    lb: dict[str, Any] = api.client.get(f"/v2/load_balancers/{lb_id}").json()["load_balancer"]
    return lb


def test_a_balancer_is_new_without_an_ip_until_the_latency_passes(
    api: Api, clock: ManualClock
) -> None:
    lb = api.load_balancer()
    assert (lb["status"], lb["ip"]) == ("new", "")
    clock.advance(5)
    active = _lb(api, lb["id"])
    assert active["status"] == "active"
    assert active["ip"]


def test_defaults_fill_what_the_create_leaves_out(api: Api) -> None:
    lb = api.load_balancer()
    assert lb["size_unit"] == 1
    assert lb["health_check"]["protocol"] == "http"
    assert lb["sticky_sessions"] == {"type": "none"}
    assert lb["http_idle_timeout_seconds"] == 60
    assert lb["firewall"] == {"deny": [], "allow": []}
    assert (lb["network"], lb["type"], lb["algorithm"]) == ("EXTERNAL", "REGIONAL", "round_robin")
    assert lb["forwarding_rules"] == [{**HTTP_RULE, "certificate_id": "", "tls_passthrough": False}]
    assert lb["vpc_uuid"] == api.client.get("/v2/vpcs").json()["vpcs"][0]["id"]


def test_droplet_ids_and_tag_are_mutually_exclusive(api: Api) -> None:
    droplet = api.droplet()
    response = api.client.post(
        "/v2/load_balancers",
        json={"region": "nyc3", "forwarding_rules": [HTTP_RULE], "droplet_ids": [droplet["id"]],
              "tag": "web"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "mutually exclusive" in response.json()["message"]


def test_a_tag_selects_the_tagged_droplets_in_the_region_as_they_come_and_go(api: Api) -> None:
    lb = api.load_balancer(droplet_ids=None, tag="web")
    assert lb["droplet_ids"] == []
    first = api.droplet("a", tags=["web"])
    api.droplet("b", tags=["web"], region="fra1")
    api.droplet("c")
    assert _lb(api, lb["id"])["droplet_ids"] == [first["id"]]
    added = api.client.post(
        f"/v2/load_balancers/{lb['id']}/droplets", json={"droplet_ids": [first["id"]]}
    )
    assert added.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"forwarding_rules": []}, "forwarding_rules"),
        ({"forwarding_rules": [{**HTTP_RULE, "entry_protocol": "gopher"}]}, "entry_protocol"),
        ({"forwarding_rules": [{**HTTP_RULE, "entry_protocol": "https"}]}, "certificate_id"),
        ({"droplet_ids": [424242]}, "424242"),
        ({"region": "mars1"}, "region"),
        ({"size_unit": 0}, "size_unit"),
        ({"health_check": {"protocol": "smtp"}}, "health_check.protocol"),
        ({"http_idle_timeout_seconds": 5}, "http_idle_timeout_seconds"),
    ],
)
def test_invalid_creates_name_the_problem(api: Api, change: dict[str, Any], field: str) -> None:
    body = {"region": "nyc3", "forwarding_rules": [HTTP_RULE], **change}
    response = api.client.post("/v2/load_balancers", json=body)
    assert response.status_code == 422
    assert field in response.json()["message"]


def test_put_replaces_the_full_representation(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    lb = api.load_balancer(
        droplet_ids=[droplet["id"]],
        redirect_http_to_https=True,
        sticky_sessions={"type": "cookies", "cookie_name": "s", "cookie_ttl_seconds": 60},
        size_unit=3,
    )
    clock.advance(5)
    body = {"name": "renamed", "region": "nyc3", "forwarding_rules": [HTTP_RULE], "droplet_ids": []}
    response = api.client.put(f"/v2/load_balancers/{lb['id']}", json=body)
    assert response.status_code == 200
    updated = response.json()["load_balancer"]
    assert updated["name"] == "renamed"
    assert updated["redirect_http_to_https"] is False
    assert updated["sticky_sessions"] == {"type": "none"}
    assert updated["size_unit"] == 1
    assert updated["droplet_ids"] == []
    assert (updated["status"], updated["ip"]) == ("active", lb["ip"] or updated["ip"])
    moved = api.client.put(f"/v2/load_balancers/{lb['id']}", json={**body, "region": "fra1"})
    assert moved.status_code == 422


def test_droplets_and_rules_can_be_added_and_removed(api: Api) -> None:
    first, second = api.droplet("a"), api.droplet("b")
    lb = api.load_balancer(droplet_ids=[first["id"]])
    path = f"/v2/load_balancers/{lb['id']}"
    assert (
        api.client.post(f"{path}/droplets", json={"droplet_ids": [second["id"]]}).status_code == 204
    )
    assert _lb(api, lb["id"])["droplet_ids"] == [first["id"], second["id"]]
    api.client.request("DELETE", f"{path}/droplets", json={"droplet_ids": [first["id"]]})
    assert _lb(api, lb["id"])["droplet_ids"] == [second["id"]]
    tcp = {"entry_protocol": "tcp", "entry_port": 22, "target_protocol": "tcp", "target_port": 22}
    api.client.post(f"{path}/forwarding_rules", json={"forwarding_rules": [tcp]})
    assert len(_lb(api, lb["id"])["forwarding_rules"]) == 2
    api.client.request("DELETE", f"{path}/forwarding_rules", json={"forwarding_rules": [tcp]})
    last = api.client.request(
        "DELETE", f"{path}/forwarding_rules", json={"forwarding_rules": [HTTP_RULE]}
    )
    assert last.status_code == 422


def test_deleting_a_droplet_takes_it_out_of_the_balancer(api: Api) -> None:
    droplet = api.droplet()
    lb = api.load_balancer(droplet_ids=[droplet["id"]])
    api.client.delete(f"/v2/droplets/{droplet['id']}")
    assert _lb(api, lb["id"])["droplet_ids"] == []


def test_list_and_delete(api: Api) -> None:
    first, second = api.load_balancer("a"), api.load_balancer("b")
    listed = api.client.get("/v2/load_balancers").json()
    assert [lb["id"] for lb in listed["load_balancers"]] == [first["id"], second["id"]]
    assert api.client.delete(f"/v2/load_balancers/{first['id']}").status_code == 204
    assert api.client.get(f"/v2/load_balancers/{first['id']}").status_code == 404
    assert api.client.get("/v2/load_balancers").json()["meta"]["total"] == 1
