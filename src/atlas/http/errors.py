"""Mapping what the wire says onto atlas's error tree.

``error_from_response`` reads an HTTP error answer; ``error_from_transport`` reads an httpx
exception. Both return the atlas error for the caller to ``raise ... from`` — no httpx type
ever escapes the HTTP layer.

The status picks the class; what the body means is the provider's to say. Its
:data:`ErrorParser` reads the message, error code and request id from the body in whatever
shape its API uses (``{"error": {"code", "message"}}``, ``{"id", "message"}``, ...). Without one,
or where it finds nothing, the core falls back to what is generic: an RFC 9457 problem
``detail``, the ``X-Request-ID`` header, and the start of the body as text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import httpx

from atlas.exceptions import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    NotFoundError,
    PermissionDeniedError,
    ProviderAPIError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from atlas.http._types import Clock
from atlas.http.profile import RateLimitProfile

__all__ = ["ErrorDetails", "ErrorParser", "error_from_response", "error_from_transport"]

Redact = Callable[[str], str]


@attrs.frozen
class ErrorDetails:
    """What a provider's error body says; empty fields fall back to the generic reading."""

    message: str = ""
    code: str = ""
    request_id: str | None = None


#: ``parse(response, body)`` reads a provider's error answer; ``body`` is its JSON object, or
#: ``None`` when the body is not one.
ErrorParser = Callable[[httpx.Response, Mapping[str, Any] | None], ErrorDetails]

# Only the standard header: the reset headers differ from one API to the next.
_STANDARD = RateLimitProfile(windows=())

_BY_STATUS: dict[int, type[ProviderAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
}
# An odd body (an HTML page from a proxy, a stack trace) is quoted only this far.
_SNIPPET = 200


def _no_redaction(text: str) -> str:
    return text


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _plain_message(response: httpx.Response) -> str:
    reason = response.reason_phrase or f"HTTP {response.status_code}"
    if "html" in response.headers.get("content-type", ""):
        return reason
    text = " ".join(response.content.decode("utf-8", "replace").split())
    if not text:
        return reason
    return f"{reason}: {text[:_SNIPPET]}{'…' if len(text) > _SNIPPET else ''}"


def _advised_wait(response: httpx.Response, profile: RateLimitProfile, wall: Clock) -> float | None:
    """Retry-After first; else a reset still in the future; else unknown."""
    seconds = profile.retry_after(response.headers, wall)
    if seconds is not None:
        return seconds
    reset = profile.reset_in(response.headers, wall)
    # A reset already past says nothing useful; the retry policy then backs off instead.
    return reset if reset is not None and reset > 0 else None


def _request_line(response: httpx.Response, method: str | None, url: str | None) -> tuple[str, str]:
    try:
        request = response.request
    except RuntimeError:  # a Response built by hand has no request
        return method or "", url or ""
    return method or request.method, url or str(request.url)


def error_from_response(
    response: httpx.Response,
    *,
    parse: ErrorParser | None = None,
    rate_limits: RateLimitProfile | None = None,
    method: str | None = None,
    url: str | None = None,
    total_wait: float = 0.0,
    wall_clock: Clock = time.time,
    redact: Redact = _no_redaction,
) -> ProviderAPIError:
    """The atlas error for an HTTP error answer (status 400 and up).

    ``parse`` reads the provider's error body; ``rate_limits`` names the headers a 429's advised
    wait is read from (``Retry-After`` alone when not given). ``method`` and ``url`` default to
    the response's request; ``total_wait`` is the time already spent waiting between retries;
    ``redact`` scrubs known secrets from the provider's text.
    """
    method, url = _request_line(response, method, url)
    body = _json_object(response)
    details = parse(response, body) if parse is not None else ErrorDetails()
    detail = _text((body or {}).get("detail"))  # RFC 9457 problem details
    message = redact(details.message or detail or _plain_message(response))
    code = redact(details.code)
    status = response.status_code
    common: dict[str, Any] = {
        "request_id": details.request_id or response.headers.get("x-request-id") or None,
        "method": method,
        "url": url,
        "total_wait": total_wait,
    }
    if status == 429:
        retry_after = _advised_wait(response, rate_limits or _STANDARD, wall_clock)
        code = code or "too_many_requests"
        return RateLimitError(message, code=code, retry_after=retry_after, **common)
    cls = ServerError if status >= 500 else _BY_STATUS.get(status, ProviderAPIError)
    return cls(message, status=status, code=code, **common)


def error_from_transport(
    exc: httpx.RequestError,
    *,
    method: str,
    url: str,
    total_wait: float = 0.0,
    redact: Redact = _no_redaction,
) -> TransportError:
    """The atlas error for a request that got no HTTP answer.

    Connect errors and pool timeouts mean the request never left (``ConnectError``); other
    timeouts leave it unknown whether it was applied (``RequestTimeoutError``); anything else —
    a dropped connection, a protocol error — is a plain ``TransportError``.
    """
    detail = redact(str(exc))
    kind = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    kwargs: dict[str, Any] = {"method": method, "url": url, "total_wait": total_wait}
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return ConnectError(f"{method} {url}: could not connect ({kind})", **kwargs)
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(f"{method} {url}: timed out ({kind})", **kwargs)
    return TransportError(f"{method} {url}: no answer ({kind})", **kwargs)
