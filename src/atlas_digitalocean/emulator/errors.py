"""The error an endpoint raises to answer with DigitalOcean's error body."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Refusal:
    """One kind of error answer: its status and DigitalOcean's id for it."""

    status: int
    error_id: str

    def __call__(self, message: str) -> ApiError:
        return ApiError(self.status, self.error_id, message)


@attrs.frozen
class StockRefusal(Refusal):
    """A kind of error answer whose message rarely varies."""

    message: str

    def __call__(self, message: str | None = None) -> ApiError:
        return super().__call__(self.message if message is None else message)


class ApiError(Exception):
    """An API error: HTTP status plus DigitalOcean's ``{"id", "message"}`` body.

    ``body`` replaces the standard body for the few endpoints that answer errors in another
    shape (``POST /v2/tags`` answers 400 with ``{"error", "messages", "root_causes"}``).
    The common kinds are made by name: ``ApiError.not_found()``, ``ApiError.bad_request(msg)``.
    """

    bad_request = Refusal(400, "bad_request")
    unauthorized = StockRefusal(401, "unauthorized", "Unable to authenticate you.")
    forbidden = Refusal(403, "forbidden")
    not_found = StockRefusal(404, "not_found", "The resource you requested could not be found.")
    method_not_allowed = StockRefusal(405, "method_not_allowed", "Method not allowed")
    conflict = Refusal(409, "conflict")
    unprocessable = Refusal(422, "unprocessable_entity")
    rate_limited = StockRefusal(429, "too_many_requests", "API Rate limit exceeded.")
    server_error = StockRefusal(500, "server_error", "Unexpected server-side error")

    def __init__(
        self, status: int, error_id: str, message: str, *, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {error_id}: {message}")
        self.status = status
        self.error_id = error_id
        self.message = message
        self.body = body

    def payload(self, request_id: str) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {"id": self.error_id, "message": self.message, "request_id": request_id}
