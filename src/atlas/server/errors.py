"""Errors on the wire: ``{"error", "message", "code"}``, the shape the platform's callers read.

Every error the library raises is mapped here, once, to an HTTP status and a stable ``code``;
the OpenAPI document lists the same codes (:data:`CODES`). Messages are the library's, which
never carry a credential; an unexpected exception answers a generic 500 (the details go to the
log under the request id), never a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.error_codes import ERROR_CODES, error_code
from atlas.exceptions import (
    AtlasError,
    CredentialsError,
    DataLossError,
    LockedError,
    Problem,
    RateLimitError,
    SpecError,
    SpecValidationError,
)

__all__ = ["CODES", "STATUSES", "ApiError", "from_exception", "validation_error"]

#: Library errors, most specific first: (class, status, code); shared with the command line.
_MAPPING = ERROR_CODES

#: Errors of the HTTP layer itself: code -> status.
HTTP_CODES: Mapping[str, int] = {
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "INFRASTRUCTURE_EXISTS": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "TOO_MANY_RESOURCES": 422,
    # Answered by ``atlas serve``'s connection limits, before the app sees the request.
    "HEADERS_TOO_LARGE": 431,
    "INTERNAL_ERROR": 500,
    "SERVER_BUSY": 503,
    "DEADLINE_EXCEEDED": 503,
    # A provider whose API failed repeatedly: new operations for it wait (atlas.server.degradation).
    "PROVIDER_DEGRADED": 503,
}

#: Every ``code`` an error body may carry, with its one status.
STATUSES: Mapping[str, int] = {
    **{code: status for _, status, code in _MAPPING},
    **HTTP_CODES,
}
CODES: tuple[str, ...] = tuple(sorted(STATUSES))


class ApiError(Exception):
    """An error answer: status, ``code``, a message and the ``error`` name callers see."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        error: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"undocumented error code {code!r}")
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error = error or _name_of(code)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a worker process and answered by the app: it travels pickled.
        kwargs = {"error": self.error, "headers": self.headers, "extra": self.extra}
        return (_rebuilt, (self.status, self.code, self.message, kwargs))

    def body(self, request_id: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error, "message": self.message, "code": self.code}
        out.update(self.extra)
        if request_id:
            out["request_id"] = request_id
        return out


def _rebuilt(status: int, code: str, message: str, kwargs: dict[str, Any]) -> ApiError:
    return ApiError(status, code, message, **kwargs)


def _name_of(code: str) -> str:
    return "".join(word.capitalize() for word in code.split("_"))


def validation_error(problems: Sequence[Problem], error: str = "ValidationError") -> ApiError:
    """422 listing every problem with its path (the library's paths for a spec)."""
    return ApiError(
        422,
        "VALIDATION_ERROR",
        str(SpecValidationError(problems)),
        error=error,
        extra={"problems": [{"path": p.path, "message": p.message} for p in problems]},
    )


def from_exception(exc: BaseException) -> ApiError:
    """The answer for an exception: library errors by :data:`_MAPPING`, anything else a
    generic 500 (its details belong in the log, not in the response)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, SpecValidationError):
        return validation_error(exc.problems, error=type(exc).__name__)
    if not isinstance(exc, AtlasError):
        return ApiError(
            500, "INTERNAL_ERROR", "an unexpected error occurred; the server log has the details"
        )
    status, code = error_code(exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, SpecError):
        extra["problems"] = [{"path": "", "message": str(exc)}]
    if isinstance(exc, LockedError) and exc.operation_id:
        extra["operation_id"] = exc.operation_id
    if isinstance(exc, CredentialsError):
        extra["sources_tried"] = list(exc.sources_tried)
    if isinstance(exc, DataLossError):
        extra["resources"] = list(exc.resources)
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return ApiError(status, code, str(exc), error=type(exc).__name__, headers=headers, extra=extra)
