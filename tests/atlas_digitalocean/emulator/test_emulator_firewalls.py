"""Firewalls: waiting with pending changes, then succeeded; full-representation PUTs."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_digitalocean.emulator import ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import SSH_RULE, Api


def _firewall(api: Api, firewall_id: str) -> dict[str, Any]:
    firewall: dict[str, Any] = api.client.get(f"/v2/firewalls/{firewall_id}").json()["firewall"]
    return firewall


def test_a_create_waits_with_a_pending_change_per_droplet_then_succeeds(
    api: Api, clock: ManualClock
) -> None:
    tagged, listed = api.droplet("a", tags=["web"]), api.droplet("b")
    firewall = api.firewall(droplet_ids=[listed["id"]], tags=["web"])
    assert firewall["status"] == "waiting"
    assert firewall["pending_changes"] == [
        {"droplet_id": droplet_id, "removing": False, "status": "waiting"}
        for droplet_id in sorted([tagged["id"], listed["id"]])
    ]
    clock.advance(1)
    settled = _firewall(api, firewall["id"])
    assert (settled["status"], settled["pending_changes"]) == ("succeeded", [])


def test_a_later_change_is_not_settled_by_an_earlier_ones_timer(
    api: Api, clock: ManualClock
) -> None:
    droplet = api.droplet()
    firewall = api.firewall()
    clock.advance(0.5)
    api.client.post(
        f"/v2/firewalls/{firewall['id']}/droplets", json={"droplet_ids": [droplet["id"]]}
    )
    clock.advance(0.6)
    assert _firewall(api, firewall["id"])["status"] == "waiting"
    clock.advance(0.5)
    assert _firewall(api, firewall["id"])["status"] == "succeeded"


def test_removing_a_droplet_is_a_pending_removal(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    firewall = api.firewall(droplet_ids=[droplet["id"]])
    clock.advance(1)
    api.client.request(
        "DELETE", f"/v2/firewalls/{firewall['id']}/droplets", json={"droplet_ids": [droplet["id"]]}
    )
    current = _firewall(api, firewall["id"])
    assert current["droplet_ids"] == []
    assert current["pending_changes"] == [
        {"droplet_id": droplet["id"], "removing": True, "status": "waiting"}
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "-bad"}, "name"),
        ({"inbound_rules": []}, "inbound_rules or outbound_rules"),
        ({"inbound_rules": [{**SSH_RULE, "protocol": "sctp"}]}, "protocol"),
        ({"inbound_rules": [{**SSH_RULE, "ports": "70000"}]}, "ports"),
        ({"inbound_rules": [{**SSH_RULE, "sources": {}}]}, "sources"),
        ({"droplet_ids": [31337]}, "31337"),
        ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
    ],
)
def test_invalid_bodies_are_a_400_naming_the_problem(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = api.client.post(
        "/v2/firewalls", json={"name": "fw", "inbound_rules": [SSH_RULE], **change}
    )
    assert response.status_code == 400
    assert response.json()["id"] == "bad_request"
    assert field in response.json()["message"]


def test_put_replaces_rules_droplets_and_tags(api: Api) -> None:
    droplet = api.droplet()
    firewall = api.firewall(droplet_ids=[droplet["id"]], tags=["web"])
    egress = {"protocol": "udp", "ports": "53", "destinations": {"addresses": ["0.0.0.0/0"]}}
    response = api.client.put(
        f"/v2/firewalls/{firewall['id']}", json={"name": "fw-2", "outbound_rules": [egress]}
    )
    assert response.status_code == 200
    updated = response.json()["firewall"]
    assert updated["name"] == "fw-2"
    assert (updated["inbound_rules"], updated["outbound_rules"]) == ([], [egress])
    assert (updated["droplet_ids"], updated["tags"]) == ([], [])
    assert updated["pending_changes"] == [
        {"droplet_id": droplet["id"], "removing": True, "status": "waiting"}
    ]
    missing_name = api.client.put(
        f"/v2/firewalls/{firewall['id']}", json={"outbound_rules": [egress]}
    )
    assert missing_name.status_code == 400


def test_tags_and_rules_can_be_added_and_removed(api: Api) -> None:
    firewall = api.firewall()
    path = f"/v2/firewalls/{firewall['id']}"
    assert api.client.post(f"{path}/tags", json={"tags": ["web"]}).status_code == 204
    assert _firewall(api, firewall["id"])["tags"] == ["web"]
    api.client.request("DELETE", f"{path}/tags", json={"tags": ["web"]})
    assert _firewall(api, firewall["id"])["tags"] == []
    http = {"protocol": "tcp", "ports": "80", "sources": {"addresses": ["0.0.0.0/0"]}}
    api.client.post(f"{path}/rules", json={"inbound_rules": [http]})
    assert _firewall(api, firewall["id"])["inbound_rules"] == [SSH_RULE, http]
    api.client.request("DELETE", f"{path}/rules", json={"inbound_rules": [SSH_RULE]})
    assert _firewall(api, firewall["id"])["inbound_rules"] == [http]


def test_a_firewall_holds_at_most_ten_droplets(api: Api) -> None:
    names = [f"d{index}" for index in range(10)]
    body = {"size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "nyc3"}
    created = api.client.post("/v2/droplets", json={**body, "names": names}).json()["droplets"]
    firewall = api.firewall(droplet_ids=[d["id"] for d in created])
    extra = api.droplet("extra")
    response = api.client.post(
        f"/v2/firewalls/{firewall['id']}/droplets", json={"droplet_ids": [extra["id"]]}
    )
    assert response.status_code == 400


def test_list_and_delete(api: Api) -> None:
    first, second = api.firewall("fw-a"), api.firewall("fw-b")
    listed = api.client.get("/v2/firewalls").json()
    assert [f["id"] for f in listed["firewalls"]] == [first["id"], second["id"]]
    assert api.client.delete(f"/v2/firewalls/{first['id']}").status_code == 204
    assert api.client.get(f"/v2/firewalls/{first['id']}").status_code == 404
