"""Every library error has one place on the wire: a status and a documented code."""

from __future__ import annotations

import pytest

from atlas import exceptions as ex
from atlas.server.errors import CODES, ApiError, from_exception

CASES: list[tuple[Exception, int, str]] = [
    (ex.SpecValidationError([ex.Problem("region", "required")]), 422, "VALIDATION_ERROR"),
    (ex.SpecError("cannot read"), 422, "VALIDATION_ERROR"),
    (ex.ProviderNotFoundError("aws", available=["digitalocean"], package="atlas-aws"), 422,
     "PROVIDER_NOT_FOUND"),
    (ex.BudgetExceededError("over"), 422, "BUDGET_EXCEEDED"),
    (ex.CapacityError("droplet limit"), 422, "CAPACITY_EXCEEDED"),
    (ex.RecordNotFoundError("no infrastructure 'x'"), 404, "RESOURCE_NOT_FOUND"),
    (ex.LockedError("locked", operation_id="op-1"), 409, "LOCKED"),
    (ex.StateError("the store is closed"), 503, "STATE_ERROR"),
    (ex.StoreSchemaError("newer schema"), 503, "STATE_ERROR"),
    (ex.CredentialsError("no token", sources_tried=["env A: not set"]), 424, "CREDENTIALS_ERROR"),
    (ex.AuthenticationError("Unable to authenticate you", status=401), 424, "CREDENTIALS_ERROR"),
    (ex.PermissionDeniedError("forbidden", status=403), 424, "CREDENTIALS_ERROR"),
    (ex.BadRequestError("bad size", status=422), 422, "PROVIDER_REJECTED"),
    (ex.ConflictError("busy", status=409), 409, "PROVIDER_CONFLICT"),
    (ex.RateLimitError("slow down", retry_after=2.4), 503, "PROVIDER_RATE_LIMITED"),
    (ex.NotFoundError("gone", status=404), 502, "PROVIDER_ERROR"),
    (ex.ServerError("oops", status=500), 502, "PROVIDER_ERROR"),
    (ex.ConnectError("refused"), 502, "PROVIDER_ERROR"),
    (ex.WaitTimeoutError("not ready"), 502, "PROVIDER_ERROR"),
    (ex.PluginError("broken plugin"), 500, "PLUGIN_ERROR"),
    (ex.ProvisioningUnavailableError("estimate only"), 422, "PROVISIONING_UNAVAILABLE"),
    (ex.CurrencyMismatchError("EUR and USD"), 500, "COST_ERROR"),
    (ex.AtlasError("something"), 500, "INTERNAL_ERROR"),
    (RuntimeError("a bug"), 500, "INTERNAL_ERROR"),
]  # fmt: skip


@pytest.mark.parametrize(("exc", "status", "code"), CASES, ids=lambda v: type(v).__name__)
def test_each_error_maps_to_a_status_and_a_documented_code(
    exc: Exception, status: int, code: str
) -> None:
    error = from_exception(exc)
    assert (error.status, error.code) == (status, code)
    assert code in CODES
    body = error.body("req-1")
    assert set(body) >= {"error", "message", "code", "request_id"}
    if isinstance(exc, ex.AtlasError):
        assert body["error"] == type(exc).__name__
        assert body["message"] == str(exc)
    else:  # not ours: nothing of it is shown
        assert "a bug" not in str(body)


def test_extras_ride_along() -> None:
    assert from_exception(CASES[0][0]).extra["problems"] == [
        {"path": "region", "message": "required"}
    ]
    assert from_exception(ex.LockedError("x", operation_id="op-1")).extra == {
        "operation_id": "op-1"
    }
    assert from_exception(ex.RateLimitError("x", retry_after=2.4)).headers == {"Retry-After": "2"}
    sources = from_exception(ex.CredentialsError("x", sources_tried=["a", "b"])).extra
    assert sources == {"sources_tried": ["a", "b"]}


def test_an_undocumented_code_cannot_be_raised() -> None:
    with pytest.raises(ValueError, match="undocumented"):
        ApiError(418, "TEAPOT", "no")
