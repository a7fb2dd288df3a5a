"""The outermost layer: request id, security headers, the access log, and JSON for whatever
went wrong unexpectedly (never a stack trace). A caller that hangs up before its body is read
is no error of the server's: it is logged at INFO, and in the access log as 499 (nginx's
"client closed request"), with nothing sent back to nobody.

Without authentication it also keeps the service to loopback callers: a request from another
address, or naming a host other than a loopback one (DNS rebinding), is refused.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atlas.server.errors import ApiError, from_exception
from atlas.server.logs import request_id_var
from atlas.server.settings import is_loopback

__all__ = ["CLIENT_CLOSED", "SECURITY_HEADERS", "ServiceMiddleware", "send_error"]

logger = logging.getLogger("atlas.server")
access = logging.getLogger("atlas.server.access")

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
_HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: The access log's status for a request whose caller left before it could be answered.
CLIENT_CLOSED = 499


async def send_error(send: Send, error: ApiError, request_id: str | None) -> None:
    """Answer ``error`` as JSON, straight to ASGI (for layers below the router)."""
    body = json.dumps(error.body(request_id)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServiceMiddleware:
    """See the module docstring; ``loopback_only`` when the server runs without authentication."""

    def __init__(self, app: ASGIApp, *, loopback_only: bool) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        https = scope.get("scheme") == "https"
        status = 0
        start = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                for name, value in (*SECURITY_HEADERS, *([_HSTS] if https else [])):
                    out.setdefault(name, value)
                out.setdefault("Cache-Control", "no-store")
                out["X-Request-ID"] = request_id
            await send(message)

        try:
            if self.loopback_only and not _local(scope, headers):
                refusal = ApiError(
                    403,
                    "FORBIDDEN",
                    "this server runs without authentication and answers loopback requests only",
                )
                await send_error(send_with_headers, refusal, request_id)
                return
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            status = status or CLIENT_CLOSED
            logger.info(
                "client disconnected before its request was read: %s %s",
                scope["method"],
                scope["path"],
            )
        except Exception as exc:
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if status == 0:  # nothing sent yet: the caller still gets a proper answer
                await send_error(send_with_headers, from_exception(exc), request_id)
        finally:
            access.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    "workspace": scope["state"].get("workspace"),
                },
            )
            request_id_var.reset(token)


def _local(scope: Scope, headers: Headers) -> bool:
    client = scope.get("client")
    if client and not is_loopback(str(client[0])):
        return False
    host = headers.get("host", "")
    if host.startswith("["):  # [::1]:3003
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.split(":", 1)[0]
    return is_loopback(name)
