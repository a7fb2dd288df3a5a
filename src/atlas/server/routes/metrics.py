"""``/metrics``: the service's counters for Prometheus (see :mod:`atlas.server.metrics`).

The numbers count every workspace, so no workspace's credential opens them. With
``ATLAS_METRICS_TOKEN`` set, a scraper sends it as ``Authorization: Bearer ...``; without it,
a server with no authentication serves them (to loopback callers, as everything else), and a
server with authentication refuses them (403) rather than show one workspace the others'.
Nothing in them is a secret: labels are templates, names of providers and kinds, statuses,
error classes, and the workspaces' names on the accrued-cost gauge.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from atlas.server.context import Service, service
from atlas.server.errors import ApiError
from atlas.server.monitoring import METRICS_TOKEN_ENV

__all__ = ["serve"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="atlas-metrics"'}
_INVALID = ', error="invalid_token"'


async def serve(request: Request) -> Response:
    svc = service(request)
    _authorize(svc, request.headers.get("authorization"))
    accept = request.headers.get("accept")
    # A scrape reads every workspace's journal for the accrued-cost gauge (70 to 90 ms for
    # 2,000 resources here): on a worker thread, so the loop keeps serving meanwhile.
    body, media = await svc.pool.offload(lambda: svc.monitor.metrics.render(accept))
    return Response(body, media_type=media)


def _authorize(svc: Service, authorization: str | None) -> None:
    token = svc.settings.monitoring.metrics_token
    if token is None:
        if svc.settings.auth.enabled:
            raise ApiError(
                403,
                "FORBIDDEN",
                f"metrics count every workspace, so no workspace's credential opens them: "
                f"set {METRICS_TOKEN_ENV} and have the scraper send it as a bearer token",
            )
        return  # no authentication at all: loopback callers only (ServiceMiddleware)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "UNAUTHORIZED", "send the metrics token", headers=_CHALLENGE)
    if not hmac.compare_digest(given.strip().encode(), token.reveal().encode()):
        challenge = {"WWW-Authenticate": _CHALLENGE["WWW-Authenticate"] + ', error="invalid_token"'}
        raise ApiError(
            401, "UNAUTHORIZED", "the metrics token is not this server's", headers=challenge
        )
