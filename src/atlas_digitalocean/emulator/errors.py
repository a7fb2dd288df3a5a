"""The error an endpoint raises to answer with DigitalOcean's error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An API error: HTTP status plus DigitalOcean's ``{"id", "message"}`` body.

    ``body`` replaces the standard body for the few endpoints that answer errors in another
    shape (``POST /v2/tags`` answers 400 with ``{"error", "messages", "root_causes"}``).
    """

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

    @classmethod
    def not_found(cls, message: str = "The resource you requested could not be found.") -> ApiError:
        return cls(404, "not_found", message)

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, "bad_request", message)

    @classmethod
    def unprocessable(cls, message: str) -> ApiError:
        return cls(422, "unprocessable_entity", message)

    @classmethod
    def conflict(cls, message: str) -> ApiError:
        return cls(409, "conflict", message)

    @classmethod
    def forbidden(cls, message: str) -> ApiError:
        return cls(403, "forbidden", message)

    @classmethod
    def server_error(cls) -> ApiError:
        return cls(500, "server_error", "Unexpected server-side error")
