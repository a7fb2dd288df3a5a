"""Sizes, regions, account, tags and actions: the emulated cloud's own catalog."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from atlas_digitalocean.prices import load_offerings
from tests.atlas_digitalocean.emulator.emulator_support import Api

REGIONS = {
    "nyc1", "nyc2", "nyc3", "ams2", "ams3", "sfo1", "sfo2", "sfo3",
    "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1", "ric1",
}  # fmt: skip


@pytest.mark.parametrize(
    ("slug", "monthly", "hourly"),
    [
        ("s-1vcpu-512mb-10gb", 4.0, 0.00595),
        ("s-1vcpu-1gb", 6.0, 0.00893),
        ("s-1vcpu-2gb", 12.0, 0.01786),
        ("s-2vcpu-2gb", 18.0, 0.02679),
        ("s-2vcpu-4gb", 24.0, 0.03571),
        ("s-4vcpu-8gb", 48.0, 0.07143),
        ("s-8vcpu-16gb", 96.0, 0.14286),
        ("s-1vcpu-1gb-amd", 7.0, 0.01042),
        ("s-1vcpu-2gb-intel", 14.0, 0.02083),
        ("s-2vcpu-2gb-amd", 21.0, 0.03125),
        ("s-2vcpu-4gb-intel", 28.0, 0.04167),
        ("s-4vcpu-8gb-amd", 56.0, 0.08333),
        ("s-8vcpu-16gb-intel", 112.0, 0.16667),
        ("g-2vcpu-8gb", 63.0, 0.09375),
    ],
)
def test_sizes_carry_current_prices(api: Api, slug: str, monthly: float, hourly: float) -> None:
    sizes = {s["slug"]: s for s in api.client.get("/v2/sizes?per_page=200").json()["sizes"]}
    assert sizes[slug]["price_monthly"] == monthly
    assert sizes[slug]["price_hourly"] == hourly


def test_every_hourly_price_is_the_monthly_price_over_672_hours(api: Api) -> None:
    for size in api.client.get("/v2/sizes?per_page=200").json()["sizes"]:
        expected = (Decimal(str(size["price_monthly"])) / 672).quantize(
            Decimal("0.00001"), ROUND_HALF_UP
        )
        assert Decimal(str(size["price_hourly"])) == expected, size["slug"]
        assert size["memory"] % 8 == 0
        assert size["available"] is True


def test_regions_list_availability_and_sizes(api: Api) -> None:
    regions = {r["slug"]: r for r in api.client.get("/v2/regions?per_page=200").json()["regions"]}
    assert set(regions) == REGIONS
    assert regions["nyc2"]["available"] is False
    assert regions["nyc2"]["sizes"] == []
    assert "s-1vcpu-1gb" in regions["atl1"]["sizes"]
    assert "g-2vcpu-8gb" in regions["fra1"]["sizes"]
    assert "g-2vcpu-8gb" not in regions["atl1"]["sizes"]
    assert regions["nyc3"]["name"] == "New York 3"


def test_general_purpose_sizes_are_refused_where_they_are_not_offered(api: Api) -> None:
    body = {"name": "gp", "size": "g-2vcpu-8gb", "image": "debian-12-x64", "region": "atl1"}
    response = api.client.post("/v2/droplets", json=body)
    assert response.status_code == 422
    assert "not available" in response.json()["message"]


def test_the_account_reports_the_default_droplet_limit(api: Api) -> None:
    account = api.client.get("/v2/account").json()["account"]
    assert account["droplet_limit"] == 25
    assert account["status"] == "active"


def test_tags_can_be_created_read_and_deleted(api: Api) -> None:
    created = api.client.post("/v2/tags", json={"name": "team:atlas"})
    assert created.status_code == 201
    assert created.json()["tag"]["resources"]["count"] == 0
    again = api.client.post("/v2/tags", json={"name": "team:atlas"})
    assert again.status_code == 201
    assert api.client.get("/v2/tags").json()["meta"]["total"] == 1
    droplet = api.droplet(tags=["team:atlas"])
    tag = api.client.get("/v2/tags/team:atlas").json()["tag"]
    assert tag["resources"]["droplets"]["last_tagged_uri"].endswith(f"/v2/droplets/{droplet['id']}")
    assert api.client.delete("/v2/tags/team:atlas").status_code == 204
    assert api.client.get(f"/v2/droplets/{droplet['id']}").json()["droplet"]["tags"] == []
    assert api.client.get("/v2/tags/team:atlas").status_code == 404


def test_an_invalid_tag_name_uses_the_root_causes_error_shape(api: Api) -> None:
    response = api.client.post("/v2/tags", json={"name": "not valid!"})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "messages", "root_causes"}


def test_resources_can_be_tagged_and_untagged(api: Api) -> None:
    api.client.post("/v2/tags", json={"name": "backup"})
    droplet, volume, database = api.droplet(), api.volume(), api.database()
    resources = {
        "resources": [
            {"resource_id": str(droplet["id"]), "resource_type": "droplet"},
            {"resource_id": volume["id"], "resource_type": "volume"},
            {"resource_id": database["id"], "resource_type": "database"},
        ]
    }
    assert api.client.post("/v2/tags/backup/resources", json=resources).status_code == 204
    counts = api.client.get("/v2/tags/backup").json()["tag"]["resources"]
    assert (counts["count"], counts["droplets"]["count"], counts["databases"]["count"]) == (3, 1, 1)
    api.client.request("DELETE", "/v2/tags/backup/resources", json=resources)
    assert api.client.get("/v2/tags/backup").json()["tag"]["resources"]["count"] == 0
    missing = {"resources": [{"resource_id": "1", "resource_type": "droplet"}]}
    assert api.client.post("/v2/tags/backup/resources", json=missing).status_code == 404


def test_actions_are_listed_and_kept_after_completion(api: Api) -> None:
    droplet = api.droplet()
    actions = api.client.get("/v2/actions").json()
    assert actions["meta"]["total"] == 1
    (action,) = actions["actions"]
    assert (action["resource_id"], action["region_slug"]) == (droplet["id"], "nyc3")
    api.client.delete(f"/v2/droplets/{droplet['id']}")
    assert api.client.get(f"/v2/actions/{action['id']}").status_code == 200
    assert api.client.get("/v2/actions/1").status_code == 404


def test_images_are_the_current_public_images_of_the_offline_list(api: Api) -> None:
    listed = api.client.get("/v2/images", params={"type": "distribution", "per_page": 200})
    images = listed.json()["images"]
    assert sorted(i["slug"] for i in images) == sorted(load_offerings().images)
    assert all(i["public"] and i["status"] == "available" for i in images)
    alma = next(i for i in images if i["slug"] == "almalinux-9-x64")
    assert alma["distribution"] == "Unknown"  # not in the published schema's enum
    # A fresh account has no snapshots or custom images, and there are no one-click apps.
    assert api.client.get("/v2/images", params={"private": "true"}).json()["images"] == []
    assert api.client.get("/v2/images", params={"type": "application"}).json()["images"] == []
    assert api.client.get("/v2/images", params={"type": "snapshot"}).status_code == 400


def test_images_are_paginated(api: Api) -> None:
    first = api.client.get("/v2/images", params={"per_page": 4}).json()
    assert len(first["images"]) == 4
    assert first["meta"]["total"] == len(load_offerings().images)
    assert "next" in first["links"]["pages"]


def test_a_droplet_can_be_made_from_every_listed_image(api: Api) -> None:
    images = api.client.get("/v2/images", params={"per_page": 200}).json()["images"]
    for index, image in enumerate(images):
        key = image["slug"] if index % 2 else image["id"]  # by slug or by id
        droplet = api.droplet(f"web-{index}", image=key)
        assert droplet["image"]["slug"] == image["slug"]
    refused = api.client.post(
        "/v2/droplets",
        json={"name": "old", "size": "s-1vcpu-1gb", "image": "ubuntu-16-04-x64", "region": "nyc3"},
    )
    assert refused.status_code == 422
