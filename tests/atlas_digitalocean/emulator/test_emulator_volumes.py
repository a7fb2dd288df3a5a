"""Block storage volumes: synchronous creates, and actions that complete after a latency."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atlas_digitalocean.emulator import ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import Api


def _act(api: Api, volume_id: str, **body: Any) -> httpx.Response:
    return api.client.post(f"/v2/volumes/{volume_id}/actions", json=body)


def _volume(api: Api, volume_id: str) -> dict[str, Any]:
    volume: dict[str, Any] = api.client.get(f"/v2/volumes/{volume_id}").json()["volume"]
    return volume


def test_a_create_is_synchronous_and_complete(api: Api) -> None:
    volume = api.volume(
        "data-1", description="logs", filesystem_type="xfs", filesystem_label="logs", tags=["db"]
    )
    assert volume["droplet_ids"] == []
    assert volume["region"]["slug"] == "nyc3"
    assert (volume["size_gigabytes"], volume["filesystem_type"]) == (10, "xfs")
    assert _volume(api, volume["id"]) == volume
    assert api.client.get("/v2/tags/db").json()["tag"]["resources"]["volumes"]["count"] == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": "Data_1"}, 422, "name"),
        ({"size_gigabytes": 0}, 422, "size_gigabytes"),
        ({"size_gigabytes": 16385}, 422, "size_gigabytes"),
        ({"region": "mars1"}, 422, "region"),
        ({"filesystem_type": "ntfs"}, 422, "filesystem_type"),
        ({"filesystem_type": "xfs", "filesystem_label": "much-too-long"}, 422, "filesystem_label"),
        ({"snapshot_id": "0a1b2c"}, 404, "snapshot"),
    ],
)
def test_invalid_creates_name_the_problem(
    api: Api, change: dict[str, Any], status: int, field: str
) -> None:
    body = {"name": "data-1", "size_gigabytes": 10, "region": "nyc3", **change}
    response = api.client.post("/v2/volumes", json=body)
    assert response.status_code == status
    assert field in response.json()["message"]


def test_names_are_unique_per_region(api: Api) -> None:
    api.volume("data")
    again = api.client.post(
        "/v2/volumes", json={"name": "data", "size_gigabytes": 1, "region": "nyc3"}
    )
    assert again.status_code == 409
    assert api.volume("data", region="fra1")["region"]["slug"] == "fra1"


def test_list_filters_by_name_and_region(api: Api) -> None:
    api.volume("a")
    api.volume("b")
    api.volume("a", region="fra1")
    listed = api.client.get("/v2/volumes", params={"name": "a"}).json()
    assert listed["meta"]["total"] == 2
    both = api.client.get("/v2/volumes", params={"name": "a", "region": "fra1"}).json()
    assert [v["region"]["slug"] for v in both["volumes"]] == ["fra1"]


def test_attach_completes_after_the_latency_and_updates_both_sides(
    api: Api, clock: ManualClock
) -> None:
    droplet, volume = api.droplet(), api.volume()
    response = _act(api, volume["id"], type="attach", droplet_id=droplet["id"], region="nyc3")
    assert response.status_code == 202
    action = response.json()["action"]
    assert (action["type"], action["status"]) == ("attach_volume", "in-progress")
    assert _volume(api, volume["id"])["droplet_ids"] == []
    clock.advance(1)
    assert _volume(api, volume["id"])["droplet_ids"] == [droplet["id"]]
    droplet_now = api.client.get(f"/v2/droplets/{droplet['id']}").json()["droplet"]
    assert droplet_now["volume_ids"] == [volume["id"]]
    done = api.client.get(f"/v2/volumes/{volume['id']}/actions/{action['id']}").json()["action"]
    assert done["status"] == "completed"


def test_an_attached_volume_cannot_be_deleted_until_detached(api: Api, clock: ManualClock) -> None:
    droplet, volume = api.droplet(), api.volume()
    _act(api, volume["id"], type="attach", droplet_id=droplet["id"])
    clock.advance(1)
    refused = api.client.delete(f"/v2/volumes/{volume['id']}")
    assert refused.status_code == 409
    assert "detach" in refused.json()["message"]
    assert _act(api, volume["id"], type="detach", droplet_id=droplet["id"]).status_code == 202
    clock.advance(1)
    assert api.client.get(f"/v2/droplets/{droplet['id']}").json()["droplet"]["volume_ids"] == []
    assert api.client.delete(f"/v2/volumes/{volume['id']}").status_code == 204
    assert api.client.get(f"/v2/volumes/{volume['id']}").status_code == 404


def test_attach_rules(api: Api, clock: ManualClock) -> None:
    here, there = api.droplet("here"), api.droplet("there", region="fra1")
    volume = api.volume()
    assert _act(api, volume["id"], type="attach", droplet_id=there["id"]).status_code == 422
    assert _act(api, volume["id"], type="attach", droplet_id=999).status_code == 422
    assert _act(api, volume["id"], type="detach", droplet_id=here["id"]).status_code == 422
    assert (
        _act(api, volume["id"], type="attach", droplet_id=here["id"], region="fra1").status_code
        == 422
    )
    assert _act(api, volume["id"], type="attach", droplet_id=here["id"]).status_code == 202
    busy = _act(api, volume["id"], type="resize", size_gigabytes=20)
    assert busy.status_code == 422
    clock.advance(1)
    other = api.droplet("other")
    assert _act(api, volume["id"], type="attach", droplet_id=other["id"]).status_code == 422


def test_resize_only_grows(api: Api, clock: ManualClock) -> None:
    volume = api.volume()
    assert _act(api, volume["id"], type="resize", size_gigabytes=5).status_code == 422
    assert _act(api, volume["id"], type="resize", size_gigabytes=100).status_code == 202
    assert _volume(api, volume["id"])["size_gigabytes"] == 10
    clock.advance(1)
    assert _volume(api, volume["id"])["size_gigabytes"] == 100
    actions = api.client.get(f"/v2/volumes/{volume['id']}/actions").json()["actions"]
    assert [a["type"] for a in actions] == ["resize_volume"]


def test_delete_by_name_and_region(api: Api) -> None:
    api.volume("scratch")
    params = {"name": "scratch", "region": "nyc3"}
    assert api.client.delete("/v2/volumes", params=params).status_code == 204
    assert api.client.delete("/v2/volumes", params=params).status_code == 404
    assert api.client.delete("/v2/volumes", params={"name": "scratch"}).status_code == 400


def test_droplets_can_attach_volumes_at_create(api: Api) -> None:
    volume = api.volume()
    droplet = api.droplet(volumes=[volume["id"]])
    assert droplet["volume_ids"] == [volume["id"]]
    assert _volume(api, volume["id"])["droplet_ids"] == [droplet["id"]]
