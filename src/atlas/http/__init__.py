"""The HTTP layer every provider shares: client, auth, error mapping, retries, rate limiting.

    api = ApiClient(
        "https://api.example.com",
        auth=BearerAuth(token),
        rate_limits=RateLimitProfile(windows=(Window(250, 60.0),), remaining_header="x-remaining"),
        paginator=NextLink(("links", "next")),
        errors=read_error_body,  # the provider's: code, message, request id from its bodies
    )
    async with api:
        server = await api.get_json("/v1/servers/42")
        async for volume in api.paginate("/v1/volumes", "volumes"):
            ...

``observe_calls(observer)`` hears every attempt of every cloud call made within a block (and
the tasks it starts), and every wait imposed on one: provider, method, route template, status,
error class (:mod:`atlas.http.calls`).

``hold_listener(listener)`` hears every wait the rate limiter (or a 429) imposes, with its
length and why, for displays.

Nothing here knows a provider's resources, limits, pages or error bodies: providers pass those
in and build their endpoint functions on top.
"""

from __future__ import annotations

from atlas.http._headers import retry_after_seconds
from atlas.http._types import Clock, Sleep
from atlas.http.auth import BearerAuth, SecretAuth
from atlas.http.calls import (
    OTHER_ROUTE,
    ApiCall,
    ApiEvent,
    ApiWait,
    CallObserver,
    RouteTemplates,
    observe_calls,
    report_call,
)
from atlas.http.client import DEFAULT_TIMEOUT, ApiClient
from atlas.http.errors import ErrorDetails, ErrorParser, error_from_response, error_from_transport
from atlas.http.holds import (
    HoldListener,
    add_hold_listener,
    announce_hold,
    hold_listener,
    remove_hold_listener,
)
from atlas.http.pagination import NextLink, PageRequest, Paginator
from atlas.http.profile import RateLimitProfile, ResetFormat, Window
from atlas.http.ratelimit import Permit, Priority, RateLimiter, RateLimiterStats
from atlas.http.retry import FailureKind, RetryPolicy, classify

__all__ = [
    "DEFAULT_TIMEOUT",
    "OTHER_ROUTE",
    "ApiCall",
    "ApiClient",
    "ApiEvent",
    "ApiWait",
    "BearerAuth",
    "CallObserver",
    "Clock",
    "ErrorDetails",
    "ErrorParser",
    "FailureKind",
    "HoldListener",
    "NextLink",
    "PageRequest",
    "Paginator",
    "Permit",
    "Priority",
    "RateLimitProfile",
    "RateLimiter",
    "RateLimiterStats",
    "ResetFormat",
    "RetryPolicy",
    "RouteTemplates",
    "SecretAuth",
    "Sleep",
    "Window",
    "add_hold_listener",
    "announce_hold",
    "classify",
    "error_from_response",
    "error_from_transport",
    "hold_listener",
    "observe_calls",
    "remove_hold_listener",
    "report_call",
    "retry_after_seconds",
]
