"""The HTTP layer every provider shares: client, error mapping, retries, rate limiting.

    async with ApiClient("https://api.digitalocean.com", token) as api:
        droplet = await api.get_json("/v2/droplets/42")
        async for volume in api.paginate("/v2/volumes", "volumes"):
            ...

Nothing here knows a provider's resources; providers build their endpoint functions on top.
"""

from __future__ import annotations

from atlas.http._headers import retry_after_seconds
from atlas.http.client import DEFAULT_TIMEOUT, ApiClient, BearerAuth
from atlas.http.errors import error_from_response, error_from_transport
from atlas.http.ratelimit import Permit, Priority, RateLimiter, RateLimiterStats
from atlas.http.retry import FailureKind, RetryPolicy, classify

__all__ = [
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "BearerAuth",
    "FailureKind",
    "Permit",
    "Priority",
    "RateLimiter",
    "RateLimiterStats",
    "RetryPolicy",
    "classify",
    "error_from_response",
    "error_from_transport",
    "retry_after_seconds",
]
