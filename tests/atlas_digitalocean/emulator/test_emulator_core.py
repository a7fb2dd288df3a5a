"""Cross-cutting behaviour: auth, headers, errors, pagination, introspection, transports."""

from __future__ import annotations

import httpx
import pytest

from atlas_digitalocean.emulator import KINDS, Emulator, EmulatorConfig, ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import BASE_URL, TOKEN, Api


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic abc", "Bearer"])
def test_requests_without_a_bearer_token_are_unauthorized(
    emulator: Emulator, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=BASE_URL, transport=emulator.transport()) as anonymous:
        response = anonymous.get("/v2/account", headers=headers)
    assert response.status_code == 401
    assert response.json()["id"] == "unauthorized"
    assert response.json()["message"] == "Unable to authenticate you."


def test_only_configured_tokens_are_accepted_when_a_set_is_given(clock: ManualClock) -> None:
    emulator = Emulator(EmulatorConfig(tokens={"good"}), clock=clock)
    with httpx.Client(base_url=BASE_URL, transport=emulator.transport()) as client:
        assert client.get("/v2/account", headers={"Authorization": "Bearer good"}).is_success
        assert client.get("/v2/account", headers={"Authorization": "Bearer bad"}).status_code == 401


def test_tokens_must_be_a_collection_not_a_string() -> None:
    with pytest.raises(TypeError):
        EmulatorConfig(tokens="good")


def test_every_response_carries_rate_limit_headers_and_a_request_id(client: httpx.Client) -> None:
    for response in (
        client.get("/v2/account"),
        client.get("/v2/droplets/1"),
        client.get("/v2/nowhere"),
        client.get("/v2/account", headers={"Authorization": ""}),
    ):
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-request-id"} <= set(
            response.headers
        )
    first, second = client.get("/v2/account"), client.get("/v2/account")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_errors_use_the_documented_body_with_the_request_id(client: httpx.Client) -> None:
    response = client.get("/v2/droplets/12345")
    assert response.status_code == 404
    assert response.json() == {
        "id": "not_found",
        "message": "The resource you requested could not be found.",
        "request_id": response.headers["x-request-id"],
    }


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/unknown", 404),
        ("GET", "/v2/droplets/not-a-number", 404),
        ("PATCH", "/v2/droplets", 405),
        ("GET", "/v2/volumes/no-such-volume", 404),
    ],
)
def test_unknown_routes_and_ids(client: httpx.Client, method: str, path: str, status: int) -> None:
    assert client.request(method, path).status_code == status


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty"), (b"{not json", "error parsing"), (b"[1, 2]", "JSON object")],
)
def test_malformed_bodies_are_a_400(client: httpx.Client, content: bytes, problem: str) -> None:
    response = client.post("/v2/vpcs", content=content)
    assert response.status_code == 400
    assert response.json()["id"] == "bad_request"
    assert problem in response.json()["message"]


def test_invalid_fields_are_a_422_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/v2/volumes", json={"name": "data", "region": "nyc3"})
    assert response.status_code == 422
    assert response.json()["id"] == "unprocessable_entity"
    assert "size_gigabytes" in response.json()["message"]


def test_trailing_slashes_reach_the_same_route(client: httpx.Client) -> None:
    assert client.get("/v2/account/").status_code == 200


# -- pagination -------------------------------------------------------------------------------


def test_pages_link_first_prev_next_last_with_absolute_urls(client: httpx.Client) -> None:
    total = len(client.get("/v2/sizes", params={"per_page": 200}).json()["sizes"])
    middle = client.get("/v2/sizes", params={"per_page": 5, "page": 2}).json()
    last_page = -(-total // 5)
    assert len(middle["sizes"]) == 5
    assert middle["meta"] == {"total": total}
    assert middle["links"]["pages"] == {
        "first": f"{BASE_URL}/v2/sizes?page=1&per_page=5",
        "prev": f"{BASE_URL}/v2/sizes?page=1&per_page=5",
        "next": f"{BASE_URL}/v2/sizes?page=3&per_page=5",
        "last": f"{BASE_URL}/v2/sizes?page={last_page}&per_page=5",
    }


def test_the_first_and_last_pages_only_link_where_it_makes_sense(client: httpx.Client) -> None:
    first = client.get("/v2/regions", params={"per_page": 10}).json()["links"]["pages"]
    last = client.get("/v2/regions", params={"per_page": 10, "page": 2}).json()["links"]["pages"]
    assert set(first) == {"next", "last"}
    assert set(last) == {"first", "prev"}
    single = client.get("/v2/regions", params={"per_page": 200}).json()
    assert single["links"] == {}
    assert single["meta"]["total"] == 16


def test_following_next_visits_every_item_once_and_keeps_filters(api: Api) -> None:
    for index in range(5):
        api.droplet(f"web-{index}", tags=["fleet"])
    api.droplet("other")
    seen: list[int] = []
    url: str | None = "/v2/droplets?tag_name=fleet&per_page=2"
    while url:
        page = api.client.get(url).json()
        seen += [droplet["id"] for droplet in page["droplets"]]
        url = page["links"].get("pages", {}).get("next")
        assert url is None or "tag_name=fleet" in url
    assert len(seen) == len(set(seen)) == 5


def test_the_default_page_size_is_20(api: Api) -> None:
    for index in range(21):
        api.client.post("/v2/tags", json={"name": f"t{index}"})
    page = api.client.get("/v2/tags").json()
    assert len(page["tags"]) == 20
    assert page["meta"]["total"] == 21


@pytest.mark.parametrize(
    "params", [{"per_page": 0}, {"per_page": 201}, {"page": 0}, {"page": "two"}]
)
def test_out_of_range_paging_is_a_400(client: httpx.Client, params: dict[str, int | str]) -> None:
    response = client.get("/v2/sizes", params=params)
    assert response.status_code == 400
    assert next(iter(params)) in response.json()["message"]


# -- introspection ----------------------------------------------------------------------------


def test_the_log_counts_requests_by_route_template(api: Api, emulator: Emulator) -> None:
    droplet = api.droplet()
    api.client.get(f"/v2/droplets/{droplet['id']}")
    api.client.get(f"/v2/droplets/{droplet['id']}")
    api.client.get("/v2/nowhere")
    counts = emulator.log.counts()
    assert counts["POST /v2/droplets"] == 1
    assert counts["GET /v2/droplets/{droplet_id}"] == 2
    assert counts["GET <unmatched>"] == 1
    assert emulator.log.count("GET /v2/droplets/{droplet_id}", status=200) == 2
    assert [record.status for record in emulator.log.records] == [202, 200, 200, 404]


def test_objects_renders_each_kind_as_the_api_would(api: Api, emulator: Emulator) -> None:
    droplet = api.droplet(tags=["web"])
    assert [d["id"] for d in emulator.objects("droplets")] == [droplet["id"]]
    assert [t["name"] for t in emulator.objects("tags")] == ["web"]
    assert len(emulator.objects("vpcs")) == 1  # the region's default, made on demand
    assert len(emulator.objects("actions")) == 1
    for kind in KINDS:
        assert isinstance(emulator.objects(kind), list)
    with pytest.raises(ValueError, match="unknown kind"):
        emulator.objects("kubernetes")


def test_is_empty_ignores_default_vpcs_and_tags(api: Api, emulator: Emulator) -> None:
    assert emulator.is_empty()
    droplet = api.droplet(tags=["web"])
    assert not emulator.is_empty()
    api.client.delete(f"/v2/droplets/{droplet['id']}")
    # The droplet went into the region's default VPC, which DigitalOcean made for it.
    assert [(v["name"], v["default"]) for v in emulator.objects("vpcs")] == [("default-nyc3", True)]
    assert emulator.is_empty()
    api.vpc()
    assert not emulator.is_empty()


def test_is_empty_counts_a_default_vpc_unless_it_is_the_regions_own(
    api: Api, emulator: Emulator
) -> None:
    api.vpc("default-nyc3")  # asked for by name, as atlas does on a fresh account
    assert emulator.is_empty()
    emulator.reset()
    api.vpc("shop-net")  # the region's first VPC: its default, but not one DigitalOcean made
    assert emulator.objects("vpcs")[0]["default"] is True
    assert not emulator.is_empty()


def test_reset_forgets_everything_but_keeps_hooks(api: Api, emulator: Emulator) -> None:
    seen: list[int] = []
    emulator.on_exchange.append(lambda _request, response: seen.append(response.status_code))
    api.droplet()
    emulator.reset()
    assert emulator.is_empty()
    assert not emulator.objects("vpcs")
    assert len(emulator.log) == 0
    api.client.get("/v2/account")
    assert seen == [202, 200]


def test_on_exchange_sees_every_request_and_response(
    client: httpx.Client, emulator: Emulator
) -> None:
    exchanges: list[tuple[str, int]] = []
    emulator.on_exchange.append(
        lambda req, resp: exchanges.append((req.url.path, resp.status_code))
    )
    client.get("/v2/account")
    client.get("/v2/droplets/1")
    assert exchanges == [("/v2/account", 200), ("/v2/droplets/1", 404)]


def test_seeded_emulators_hand_out_the_same_identifiers() -> None:
    def first_ids() -> tuple[int, str]:
        emulator = Emulator(EmulatorConfig(seed=42, latency_scale=0), clock=ManualClock())
        api = Api(
            httpx.Client(
                base_url=BASE_URL,
                transport=emulator.transport(),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        )
        with api.client:
            return api.droplet()["id"], api.volume()["id"]

    assert first_ids() == first_ids()


async def test_the_transport_serves_async_clients(emulator: Emulator) -> None:
    async with httpx.AsyncClient(
        base_url=BASE_URL,
        transport=emulator.transport(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        created = await client.post("/v2/vpcs", json={"name": "async-net", "region": "ams3"})
        listed = await client.get("/v2/vpcs")
    assert created.status_code == 201
    assert listed.json()["meta"]["total"] == 1


def test_links_use_the_host_the_client_called(emulator: Emulator) -> None:
    with httpx.Client(
        base_url="http://emulator.local:8080",
        transport=emulator.transport(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        links = client.get("/v2/regions", params={"per_page": 1}).json()["links"]["pages"]
    assert links["next"].startswith("http://emulator.local:8080/v2/regions?")
