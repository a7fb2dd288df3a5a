"""Mapping what the wire says onto atlas's error tree.

``error_from_response`` reads an HTTP error answer; ``error_from_transport`` reads an httpx
exception. Both return the atlas error for the caller to ``raise ... from`` — no httpx type
ever escapes the HTTP layer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

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
from atlas.http._headers import reset_in_seconds, retry_after_seconds
from atlas.http._types import Clock

__all__ = ["error_from_response", "error_from_transport"]

Redact = Callable[[str], str]

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


def _message_and_code(response: httpx.Response, body: dict[str, Any] | None) -> tuple[str, str]:
    if body is None:
        return _plain_message(response), ""
    message = _text(body.get("message"))
    # DigitalOcean: {"id", "message"}; the old service: {"error": <class>, "message", "code"}.
    code = _text(body.get("id")) or _text(body.get("code"))
    if not message and _text(body.get("error")):
        # POST /v2/tags: {"error": "...", "messages": [...] | null, "root_causes": [...]}.
        details = body.get("messages")
        extra = [m for m in details if isinstance(m, str)] if isinstance(details, list) else []
        message = "; ".join([body["error"], *extra])
    elif not code:
        code = _text(body.get("error"))
    return message or _text(body.get("detail")) or _plain_message(response), code


def _plain_message(response: httpx.Response) -> str:
    reason = response.reason_phrase or f"HTTP {response.status_code}"
    if "html" in response.headers.get("content-type", ""):
        return reason
    text = " ".join(response.content.decode("utf-8", "replace").split())
    if not text:
        return reason
    return f"{reason}: {text[:_SNIPPET]}{'…' if len(text) > _SNIPPET else ''}"


def _request_id(response: httpx.Response, body: dict[str, Any] | None) -> str | None:
    request_id = (body or {}).get("request_id")
    if isinstance(request_id, str) and request_id:
        return request_id
    return response.headers.get("x-request-id") or None


def _advised_wait(response: httpx.Response, wall_clock: Clock) -> float | None:
    """Retry-After first; else a ``ratelimit-reset`` still in the future; else unknown."""
    seconds = retry_after_seconds(response.headers, wall_clock)
    if seconds is not None:
        return seconds
    reset = reset_in_seconds(response.headers, wall_clock)
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
    method: str | None = None,
    url: str | None = None,
    total_wait: float = 0.0,
    wall_clock: Clock = time.time,
    redact: Redact = _no_redaction,
) -> ProviderAPIError:
    """The atlas error for an HTTP error answer (status 400 and up).

    ``method`` and ``url`` default to the response's request; ``total_wait`` is the time already
    spent waiting between retries; ``redact`` scrubs known secrets from the provider's text.
    """
    method, url = _request_line(response, method, url)
    body = _json_object(response)
    message, code = _message_and_code(response, body)
    status = response.status_code
    common: dict[str, Any] = {
        "request_id": _request_id(response, body),
        "method": method,
        "url": url,
        "total_wait": total_wait,
    }
    message = redact(message)
    if status == 429:
        retry_after = _advised_wait(response, wall_clock)
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
