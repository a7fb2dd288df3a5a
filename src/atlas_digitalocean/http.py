"""How DigitalOcean's API is spoken: its token, its limits, its pages, its error bodies.

What the core's :class:`~atlas.http.ApiClient` is given for DigitalOcean, in one place
(:meth:`DigitalOceanAPI.connect <atlas_digitalocean.api.DigitalOceanAPI.connect>` puts it
together):

- a bearer token (``Authorization: Bearer dop_v1_...``, the core's ``BearerAuth``);
- 250 requests per sliding minute and 5,000 per hour, per token, reported in
  ``ratelimit-remaining`` and ``ratelimit-reset`` (Unix seconds; seen already in the past);
- lists paged 200 items at a time, each page linking the next at ``links.pages.next`` (an
  absolute URL); an answer with no ``links`` (``GET /v2/databases``) is a single page;
- error bodies ``{"id", "message", "request_id"}``, with two older shapes still answered by
  some endpoints;
- the route templates of the paths atlas calls, with the OpenAPI document's parameter names,
  so each call is reported by its template (``/v2/droplets/{droplet_id}``), never by a path
  that holds an id or a tag name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from atlas.http import (
    ErrorDetails,
    NextLink,
    RateLimitProfile,
    ResetFormat,
    RouteTemplates,
    Window,
)

__all__ = ["PAGINATION", "RATE_LIMITS", "ROUTES", "read_error"]

RATE_LIMITS = RateLimitProfile(
    windows=(Window(250, 60.0), Window(5000, 3600.0)),
    remaining_header="ratelimit-remaining",
    reset_header="ratelimit-reset",
    reset_format=ResetFormat.EPOCH,
)

#: 200 is the largest page the API serves: the fewest calls per list.
PAGINATION = NextLink(("links", "pages", "next"), size_param="per_page", page_size=200)

#: Every path :class:`~atlas_digitalocean.api.DigitalOceanAPI` calls, as a template.
ROUTES = RouteTemplates(
    (
        "/v2/account",
        "/v2/actions/{action_id}",
        "/v2/databases",
        "/v2/databases/{database_cluster_uuid}",
        "/v2/databases/{database_cluster_uuid}/resize",
        "/v2/droplets",
        "/v2/droplets/{droplet_id}",
        "/v2/droplets/{droplet_id}/actions",
        "/v2/firewalls",
        "/v2/firewalls/{firewall_id}",
        "/v2/load_balancers",
        "/v2/load_balancers/{lb_id}",
        "/v2/regions",
        "/v2/sizes",
        "/v2/tags",
        "/v2/tags/{tag_id}/resources",
        "/v2/volumes",
        "/v2/volumes/{volume_id}",
        "/v2/volumes/{volume_id}/actions",
        "/v2/vpcs",
        "/v2/vpcs/{vpc_id}",
        "/v2/vpcs/{vpc_id}/members",
    )
)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def read_error(response: httpx.Response, body: Mapping[str, Any] | None) -> ErrorDetails:
    """The message, code and request id of a DigitalOcean error answer.

    ``{"id", "message", "request_id"}`` nearly everywhere; ``POST /v2/tags`` answers
    ``{"error": "...", "messages": [...] | null, "root_causes": [...]}``, and the older services
    ``{"error": <class>, "message", "code"}``.
    """
    del response  # everything is in the body; the core reads X-Request-ID itself
    if body is None:
        return ErrorDetails()
    message = _text(body.get("message"))
    code = _text(body.get("id")) or _text(body.get("code"))
    error = _text(body.get("error"))
    if not message and error:
        details = body.get("messages")
        extra = [m for m in details if isinstance(m, str)] if isinstance(details, list) else []
        message = "; ".join([error, *extra])
    elif not code:
        code = error
    return ErrorDetails(message, code, _text(body.get("request_id")) or None)
