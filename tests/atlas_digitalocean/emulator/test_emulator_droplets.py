"""Droplets: creates, transitions on the clock, filters, deletes and actions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import BASE_URL, TOKEN, Api

CREATE = {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3"}


def _get(api: Api, droplet_id: int) -> dict[str, Any]:
    response = api.client.get(f"/v2/droplets/{droplet_id}")
    assert response.status_code == 200, response.text
    droplet: dict[str, Any] = response.json()["droplet"]
    return droplet


def _act(api: Api, droplet_id: int, **body: Any) -> httpx.Response:
    return api.client.post(f"/v2/droplets/{droplet_id}/actions", json=body)


# -- create -----------------------------------------------------------------------------------


def test_a_single_create_answers_202_with_the_droplet_and_its_create_action(
    api: Api,
) -> None:
    response = api.client.post("/v2/droplets", json={**CREATE, "name": "web-1"})
    assert response.status_code == 202
    body = response.json()
    droplet, (link,) = body["droplet"], body["links"]["actions"]
    assert droplet["name"] == "web-1"
    assert droplet["status"] == "new"
    assert link["rel"] == "create"
    assert link["href"] == f"{BASE_URL}/v2/actions/{link['id']}"
    action = api.client.get(link["href"]).json()["action"]
    assert action["type"] == "create"
    assert action["resource_id"] == droplet["id"]
    assert action["status"] == "in-progress"


def test_a_multi_create_answers_every_droplet_with_one_action_each(api: Api) -> None:
    names = [f"web-{index}" for index in range(10)]
    body = api.client.post("/v2/droplets", json={**CREATE, "names": names}).json()
    assert [droplet["name"] for droplet in body["droplets"]] == names
    assert len({link["id"] for link in body["links"]["actions"]}) == 10


@pytest.mark.parametrize("names", [[f"n{index}" for index in range(11)], []])
def test_multi_create_takes_one_to_ten_names(api: Api, names: list[str]) -> None:
    response = api.client.post("/v2/droplets", json={**CREATE, "names": names})
    assert response.status_code == 422
    assert "names" in response.json()["message"]
    assert api.client.get("/v2/droplets").json()["meta"]["total"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "bad_name!"}, "name"),
        ({"size": None}, "size"),
        ({"size": "s-64vcpu-1tb"}, "size"),
        ({"image": "windows-95"}, "image"),
        ({"image": None}, "image"),
        ({"region": "mars1"}, "region"),
        ({"region": "nyc2"}, "nyc2"),
        ({"tags": ["bad tag"]}, "tags[0]"),
        ({"backups": "yes"}, "backups"),
        ({"vpc_uuid": "7b0e5f6a-0000-4000-8000-000000000000"}, "vpc_uuid"),
        ({"ipv6": True, "public_networking": False}, "ipv6"),
    ],
)
def test_invalid_creates_are_a_422_naming_the_problem(
    api: Api, change: dict[str, Any], field: str
) -> None:
    body = {**CREATE, "name": "web-1", **change}
    response = api.client.post(
        "/v2/droplets", json={k: v for k, v in body.items() if v is not None}
    )
    assert response.status_code == 422, response.text
    assert field.lower() in response.json()["message"].lower()


def test_creates_honour_the_account_droplet_limit(clock: ManualClock) -> None:
    emulator = Emulator(EmulatorConfig(droplet_limit=3, latency_scale=0), clock=clock)
    with httpx.Client(
        base_url=BASE_URL,
        transport=emulator.transport(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        ok = client.post("/v2/droplets", json={**CREATE, "names": ["a", "b"]})
        too_many = client.post("/v2/droplets", json={**CREATE, "names": ["c", "d"]})
        assert client.get("/v2/account").json()["account"]["droplet_limit"] == 3
    assert ok.status_code == 202
    assert too_many.status_code == 422
    assert "limit" in too_many.json()["message"]


def test_a_region_prefix_or_no_region_picks_an_open_region(api: Api) -> None:
    assert api.droplet("a", region="ams")["region"]["slug"] == "ams3"
    assert api.droplet("b", region=None)["region"]["available"] is True


def test_tags_named_on_create_come_into_existence(api: Api) -> None:
    api.droplet(tags=["web", "env:prod"])
    tag = api.client.get("/v2/tags/env:prod").json()["tag"]
    assert tag["resources"]["droplets"]["count"] == 1


def test_each_region_gets_one_default_vpc_lazily(api: Api, emulator: Emulator) -> None:
    assert emulator.objects("vpcs") == []
    first = api.droplet("a")
    second = api.droplet("b")
    other_region = api.droplet("c", region="fra1")
    vpcs = {vpc["id"]: vpc for vpc in emulator.objects("vpcs")}
    assert first["vpc_uuid"] == second["vpc_uuid"] != other_region["vpc_uuid"]
    assert len(vpcs) == 2
    assert all(vpc["default"] for vpc in vpcs.values())


def test_an_explicit_vpc_is_used_and_must_be_in_the_region(api: Api) -> None:
    vpc = api.vpc(region="nyc3")
    assert api.droplet(vpc_uuid=vpc["id"])["vpc_uuid"] == vpc["id"]
    elsewhere = {**CREATE, "name": "x", "region": "fra1", "vpc_uuid": vpc["id"]}
    assert api.client.post("/v2/droplets", json=elsewhere).status_code == 422


def test_the_size_is_embedded_with_current_prices(api: Api) -> None:
    droplet = api.droplet(size="s-2vcpu-4gb")
    assert droplet["size_slug"] == "s-2vcpu-4gb"
    assert droplet["size"]["price_monthly"] == 24.0
    assert droplet["size"]["price_hourly"] == 0.03571
    assert (droplet["memory"], droplet["vcpus"], droplet["disk"]) == (4096, 2, 80)


def test_a_droplet_boots_after_the_boot_latency_and_only_then_lists_addresses(
    api: Api, clock: ManualClock
) -> None:
    droplet = api.droplet(ipv6=True)
    assert droplet["networks"] == {"v4": [], "v6": []}
    clock.advance(2.9)
    assert _get(api, droplet["id"])["status"] == "new"
    clock.advance(0.1)
    booted = _get(api, droplet["id"])
    assert booted["status"] == "active"
    assert {net["type"] for net in booted["networks"]["v4"]} == {"public", "private"}
    assert booted["networks"]["v6"][0]["type"] == "public"
    create = api.client.get(
        f"/v2/actions/{api.client.get('/v2/actions').json()['actions'][0]['id']}"
    )
    assert create.json()["action"]["status"] == "completed"
    assert create.json()["action"]["completed_at"] is not None


def test_private_addresses_come_from_the_vpc_range(api: Api, clock: ManualClock) -> None:
    vpc = api.vpc(ip_range="192.168.7.0/24")
    droplet = api.droplet(vpc_uuid=vpc["id"])
    clock.advance(3)
    private = [n for n in _get(api, droplet["id"])["networks"]["v4"] if n["type"] == "private"]
    assert private[0]["ip_address"].startswith("192.168.7.")
    assert private[0]["netmask"] == "255.255.255.0"


def test_public_networking_off_means_no_public_address(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet(public_networking=False)
    clock.advance(3)
    assert [n["type"] for n in _get(api, droplet["id"])["networks"]["v4"]] == ["private"]


# -- list and delete --------------------------------------------------------------------------


def test_list_filters_by_tag_and_by_name_case_insensitively(api: Api) -> None:
    tagged = api.droplet("web-1", tags=["web"])
    named = api.droplet("DB-1")
    by_tag = api.client.get("/v2/droplets", params={"tag_name": "web"}).json()
    by_name = api.client.get("/v2/droplets", params={"name": "db-1"}).json()
    assert [d["id"] for d in by_tag["droplets"]] == [tagged["id"]]
    assert [d["id"] for d in by_name["droplets"]] == [named["id"]]
    assert api.client.get("/v2/droplets", params={"type": "gpus"}).json()["droplets"] == []
    combined = api.client.get("/v2/droplets", params={"tag_name": "web", "name": "web-1"})
    assert combined.status_code == 422


def test_delete_removes_the_droplet_and_detaches_what_referred_to_it(
    api: Api, clock: ManualClock
) -> None:
    droplet = api.droplet()
    volume = api.volume()
    api.client.post(
        f"/v2/volumes/{volume['id']}/actions", json={"type": "attach", "droplet_id": droplet["id"]}
    )
    clock.advance(5)
    assert api.client.delete(f"/v2/droplets/{droplet['id']}").status_code == 204
    assert api.client.get(f"/v2/droplets/{droplet['id']}").status_code == 404
    assert api.client.delete(f"/v2/droplets/{droplet['id']}").status_code == 404
    assert api.client.get(f"/v2/volumes/{volume['id']}").json()["volume"]["droplet_ids"] == []


def test_delete_by_tag_removes_every_tagged_droplet(api: Api) -> None:
    api.client.post("/v2/droplets", json={**CREATE, "names": ["a", "b", "c"], "tags": ["batch"]})
    keep = api.droplet("keep")
    assert api.client.delete("/v2/droplets", params={"tag_name": "batch"}).status_code == 204
    remaining = api.client.get("/v2/droplets").json()["droplets"]
    assert [d["id"] for d in remaining] == [keep["id"]]
    assert api.client.delete("/v2/droplets", params={"tag_name": "never-made"}).status_code == 404
    assert api.client.delete("/v2/droplets").status_code == 400


# -- actions ----------------------------------------------------------------------------------


def test_power_off_completes_after_the_action_latency(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    clock.advance(3)
    response = _act(api, droplet["id"], type="power_off")
    assert response.status_code == 201
    action = response.json()["action"]
    assert (action["type"], action["status"]) == ("power_off", "in-progress")
    assert _get(api, droplet["id"])["status"] == "active"
    clock.advance(2)
    assert _get(api, droplet["id"])["status"] == "off"
    done = api.client.get(f"/v2/droplets/{droplet['id']}/actions/{action['id']}").json()["action"]
    assert done["status"] == "completed"


def test_resize_needs_the_droplet_off_then_changes_its_size(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    clock.advance(3)
    refused = _act(api, droplet["id"], type="resize", size="s-2vcpu-4gb")
    assert refused.status_code == 422
    assert "powered off" in refused.json()["message"]
    _act(api, droplet["id"], type="power_off")
    clock.advance(2)
    assert _act(api, droplet["id"], type="resize", size="s-2vcpu-4gb").status_code == 201
    clock.advance(2)
    resized = _get(api, droplet["id"])
    assert (resized["size_slug"], resized["memory"], resized["disk"]) == ("s-2vcpu-4gb", 4096, 25)
    assert resized["status"] == "off"


def test_a_disk_resize_grows_the_disk_and_cannot_be_undone(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    clock.advance(3)
    _act(api, droplet["id"], type="power_off")
    clock.advance(2)
    _act(api, droplet["id"], type="resize", size="s-2vcpu-4gb", disk=True)
    clock.advance(2)
    assert _get(api, droplet["id"])["disk"] == 80
    shrink = _act(api, droplet["id"], type="resize", size="s-1vcpu-1gb")
    assert shrink.status_code == 422


def test_rename_power_cycle_and_backups(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    clock.advance(3)
    for body in ({"type": "rename", "name": "renamed"}, {"type": "enable_backups"}):
        assert _act(api, droplet["id"], **body).status_code == 201
        clock.advance(2)
    current = _get(api, droplet["id"])
    assert current["name"] == "renamed"
    assert "backups" in current["features"]
    assert current["next_backup_window"] is not None
    _act(api, droplet["id"], type="disable_backups")
    clock.advance(2)
    assert _get(api, droplet["id"])["next_backup_window"] is None
    for kind, status in (("shutdown", "off"), ("power_on", "active"), ("reboot", "active")):
        _act(api, droplet["id"], type=kind)
        clock.advance(2)
        assert _get(api, droplet["id"])["status"] == status


def test_a_droplet_takes_one_action_at_a_time(api: Api, clock: ManualClock) -> None:
    droplet = api.droplet()
    busy = _act(api, droplet["id"], type="reboot")
    assert busy.status_code == 422
    assert busy.json()["message"] == "Droplet already has a pending event."
    clock.advance(3)
    assert _act(api, droplet["id"], type="reboot").status_code == 201
    assert _act(api, droplet["id"], type="reboot").status_code == 422


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"type": "teleport"}, "not a droplet action"),
        ({"type": "snapshot", "name": "s"}, "does not implement"),
        ({"type": "rename"}, "name"),
        ({}, "type"),
    ],
)
def test_bad_actions_are_a_422(
    api: Api, clock: ManualClock, body: dict[str, Any], problem: str
) -> None:
    droplet = api.droplet()
    clock.advance(3)
    response = _act(api, droplet["id"], **body)
    assert response.status_code == 422
    assert problem in response.json()["message"]


def test_action_lookups_are_scoped_to_their_droplet(api: Api, clock: ManualClock) -> None:
    first, second = api.droplet("a"), api.droplet("b")
    clock.advance(3)
    action = _act(api, first["id"], type="reboot").json()["action"]
    assert api.client.get(f"/v2/droplets/{second['id']}/actions/{action['id']}").status_code == 404
    listed = api.client.get(f"/v2/droplets/{first['id']}/actions").json()
    assert [a["type"] for a in listed["actions"]] == ["create", "reboot"]
    assert api.client.get(f"/v2/actions/{action['id']}").json()["action"]["id"] == action["id"]


def test_a_batch_that_does_not_fit_its_vpc_is_refused_whole(api: Api) -> None:
    vpc = api.vpc(ip_range="10.9.9.0/28")  # 16 addresses: 13 usable after .0, .1 and .15
    names = [f"n{index}" for index in range(10)]
    body = {**CREATE, "names": names, "vpc_uuid": vpc["id"]}
    assert api.client.post("/v2/droplets", json=body).status_code == 202
    refused = api.client.post("/v2/droplets", json=body)
    assert refused.status_code == 422
    assert "free addresses" in refused.json()["message"]
    assert api.client.get("/v2/droplets").json()["meta"]["total"] == 10
