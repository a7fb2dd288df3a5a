"""What an endpoint handler sees and returns: the parsed call, the reply, envelopes, pages."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import httpx

from atlas_digitalocean.emulator.errors import ApiError

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200


def iso(timestamp: float) -> str:
    """An RFC 3339 UTC timestamp with second precision, as DigitalOcean writes them."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class Call:
    """One request as a handler sees it: path parameters resolved, body parsed on demand.

    Handlers append the API path of every object they create to ``created``, so that the
    fault machinery can hide a fresh object from the next reads without knowing its kind.
    """

    method: str
    path: str
    params: dict[str, str]
    query: httpx.QueryParams
    content: bytes
    base_url: str
    created: list[str] = attrs.field(factory=list)
    _body: JSON | None = attrs.field(default=None, init=False)

    def body(self) -> JSON:
        """The JSON object in the request body; a 400 naming the problem otherwise."""
        if self._body is None:
            self._body = _parse_object(self.content)
        return self._body

    def url(self, path: str) -> str:
        """An absolute URL on the same host the client called, as DigitalOcean's links are."""
        return f"{self.base_url}{path}"


def numeric_id(raw: str) -> int:
    """A numeric id from a path or body; anything else names no object, so it is a 404."""
    if not raw.isdigit():
        raise ApiError.not_found()
    return int(raw)


def _parse_object(content: bytes) -> JSON:
    if not content.strip():
        raise ApiError.bad_request("error parsing request body: the body is empty")
    try:
        parsed = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError.bad_request(f"error parsing request body: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ApiError.bad_request("error parsing request body: expected a JSON object")
    return parsed


@attrs.frozen
class Reply:
    """A handler's answer: status and JSON body (``None`` for the bodiless 202/204)."""

    status: int
    body: JSON | None = None


def page_window(call: Call) -> tuple[int, int]:
    """``(page, per_page)`` from the query string; out-of-range values are a 400."""
    page = _query_int(call, "page", 1)
    per_page = _query_int(call, "per_page", DEFAULT_PER_PAGE)
    if page < 1:
        raise ApiError.bad_request("page must be at least 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError.bad_request(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return page, per_page


def _query_int(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError.bad_request(f"{name} must be an integer, got {raw!r}") from None


def paginate(call: Call, key: str, items: Sequence[T], render: Callable[[T], JSON]) -> JSON:
    """The collection envelope: one page of ``items`` under ``key``, ``links`` and ``meta``."""
    page, per_page = page_window(call)
    start = (page - 1) * per_page
    return {
        key: [render(item) for item in items[start : start + per_page]],
        "links": _page_links(call, page, per_page, len(items)),
        "meta": {"total": len(items)},
    }


def _page_links(call: Call, page: int, per_page: int, total: int) -> JSON:
    last = max(1, math.ceil(total / per_page))
    if last == 1 and page == 1:
        return {}
    pages: dict[str, str] = {}
    if page > 1:
        pages["first"] = _page_url(call, 1, per_page)
        pages["prev"] = _page_url(call, min(page - 1, last), per_page)
    if page < last:
        pages["next"] = _page_url(call, page + 1, per_page)
        pages["last"] = _page_url(call, last, per_page)
    return {"pages": pages}


def _page_url(call: Call, page: int, per_page: int) -> str:
    # Other filters (tag_name, name, region) stay, so following `next` keeps the same view.
    query = call.query.remove("page").remove("per_page")
    query = query.merge({"page": page, "per_page": per_page})
    return f"{call.url(call.path)}?{query}"
