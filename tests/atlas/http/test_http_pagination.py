"""Pagination: absolute next links, single pages, odd links, and links that must not be followed;
the same guards for any other strategy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from atlas import exceptions as exc
from atlas.http import NextLink, PageRequest
from tests.atlas.http.http_fakes import BASE_URL, Script, json_response


def page(
    key: str, items: list[int], next_url: str | None = None, **extra: object
) -> httpx.Response:
    body: dict[str, object] = {key: [{"id": n} for n in items], "meta": {"total": 7}}
    if next_url is not None:
        body["links"] = {"pages": {"next": next_url, "last": f"{BASE_URL}/v2/volumes?page=3"}}
    body.update(extra)
    return json_response(200, body)


async def collect(client, *args, **kwargs) -> list[int]:  # type: ignore[no-untyped-def]
    return [item["id"] async for item in client.paginate(*args, **kwargs)]


async def test_three_pages_by_absolute_next_links(make_client) -> None:
    script = Script(
        page("volumes", [1, 2, 3], f"{BASE_URL}/v2/volumes?page=2&per_page=200&region=nyc1"),
        page("volumes", [4, 5, 6], f"{BASE_URL}/v2/volumes?page=3"),
        page("volumes", [7], links={"pages": {"first": f"{BASE_URL}/v2/volumes?page=1"}}),
    )
    ids = await collect(make_client(script), "/v2/volumes", "volumes", {"region": "nyc1"})
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    queries = [dict(request.url.params) for request in script.requests]
    assert queries == [
        {"region": "nyc1", "per_page": "200"},
        {"region": "nyc1", "per_page": "200", "page": "2"},
        # The link left out per_page and the filter; they carry over so page 3 means the same.
        {"region": "nyc1", "per_page": "200", "page": "3"},
    ]
    assert {request.url.path for request in script.requests} == {"/v2/volumes"}


@pytest.mark.parametrize(
    "extra",
    [{"links": {}}, {"links": {"pages": {}}}, {}, {"links": None}, {"links": {"pages": []}}],
)
async def test_a_single_page_in_every_shape(make_client, extra: dict[str, object]) -> None:
    script = Script(page("vpcs", [1, 2], **extra))
    assert await collect(make_client(script), "/v2/vpcs", "vpcs") == [1, 2]
    assert script.calls == 1


async def test_an_unpaged_list_has_no_links(make_client) -> None:
    script = Script(json_response(200, {"databases": [{"id": "a"}, {"id": "b"}]}))
    client = make_client(script, paginator=NextLink(("links", "pages", "next")))
    names = [db["id"] async for db in client.paginate("/v2/databases", "databases")]
    assert names == ["a", "b"]
    assert "per_page" not in script.requests[0].url.params


async def test_a_missing_key_is_an_error(make_client) -> None:
    client = make_client(Script(json_response(200, {"droplet": {}})))
    with pytest.raises(exc.ProviderAPIError, match="no 'droplets' list"):
        await collect(client, "/v2/droplets", "droplets")


async def test_a_next_link_to_another_host_is_not_followed(make_client) -> None:
    script = Script(page("droplets", [1], "https://evil.test/v2/droplets?page=2"))
    with pytest.raises(exc.ProviderAPIError, match="points away from the API"):
        await collect(make_client(script), "/v2/droplets", "droplets")
    assert script.calls == 1


async def test_a_looping_next_link_is_an_error(make_client) -> None:
    script = Script(page("droplets", [1], f"{BASE_URL}/v2/droplets?page=2"))
    with pytest.raises(exc.ProviderAPIError, match="repeats an earlier page"):
        await collect(make_client(script), "/v2/droplets", "droplets")
    assert script.calls == 2


async def test_pages_are_retried_like_any_get(make_client) -> None:
    script = Script(
        page("volumes", [1], f"{BASE_URL}/v2/volumes?page=2"),
        json_response(503, {"id": "unavailable", "message": "later"}),
        page("volumes", [2]),
    )
    assert await collect(make_client(script), "/v2/volumes", "volumes") == [1, 2]


async def test_a_top_level_link_named_by_one_key(make_client) -> None:
    script = Script(
        json_response(
            200, {"value": [{"id": 1}], "@odata.nextLink": f"{BASE_URL}/v1/disks?$skip=1"}
        ),
        json_response(200, {"value": [{"id": 2}]}),
    )
    client = make_client(script, paginator=NextLink("@odata.nextLink", "$top", 50))
    assert await collect(client, "/v1/disks", "value") == [1, 2]
    assert [dict(r.url.params) for r in script.requests] == [
        {"$top": "50"},
        {"$top": "50", "$skip": "1"},
    ]


def test_next_link_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="link must name"):
        NextLink(())
    with pytest.raises(ValueError, match="together"):
        NextLink("next", size_param="limit")
    assert NextLink("next").link == ("next",)


class ByToken:
    """Pages by an opaque token in the body, sent back as a query parameter."""

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest(path, {**params, "limit": 2})

    def next(
        self, page: PageRequest, response: httpx.Response, body: Mapping[str, Any]
    ) -> PageRequest | None:
        assert response.status_code == 200
        token = body.get("next_token")
        return None if token is None else PageRequest(page.url, {**page.params, "token": token})


async def test_any_strategy_pages_with_the_same_guards(make_client) -> None:
    script = Script(
        json_response(200, {"items": [{"id": 1}, {"id": 2}], "next_token": "b"}),
        json_response(200, {"items": [{"id": 3}]}),
    )
    assert await collect(make_client(script, paginator=ByToken()), "/v1/items", "items") == [
        1,
        2,
        3,
    ]
    assert [dict(r.url.params) for r in script.requests] == [
        {"limit": "2"},
        {"limit": "2", "token": "b"},
    ]
    looping = Script(json_response(200, {"items": [], "next_token": "same"}))
    with pytest.raises(exc.ProviderAPIError, match="repeats an earlier page"):
        await collect(make_client(looping, paginator=ByToken()), "/v1/items", "items")
    assert looping.calls == 2


async def test_a_next_page_identical_to_the_first_is_a_loop(make_client) -> None:
    # Spelled absolutely, with the query the first page was sent with: the same page again.
    script = Script(page("volumes", [1], f"{BASE_URL}/v2/volumes?per_page=200"))
    with pytest.raises(exc.ProviderAPIError, match="repeats an earlier page"):
        await collect(make_client(script), "/v2/volumes", "volumes")
    assert script.calls == 1
