"""The stable ``code`` of each library error, and the HTTP status it answers with.

One table for every surface that reports errors: the HTTP API's error bodies
(:mod:`atlas.server.errors`) and the command line's ``--json`` errors carry the same codes.
"""

from __future__ import annotations

from atlas.exceptions import (
    AtlasError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CapacityError,
    ConflictError,
    CostError,
    CredentialsError,
    DataLossError,
    LockedError,
    LockLostError,
    OperationInterruptedError,
    PermissionDeniedError,
    PluginError,
    ProviderAPIError,
    ProviderNotFoundError,
    ProviderOperationError,
    ProvisioningUnavailableError,
    RateLimitError,
    RecordNotFoundError,
    SpecError,
    SpecValidationError,
    StalePlanError,
    StateError,
    TransportError,
)

__all__ = ["ERROR_CODES", "error_code"]

#: Library errors, most specific first: (class, status, code).
ERROR_CODES: tuple[tuple[type[AtlasError], int, str], ...] = (
    (SpecValidationError, 422, "VALIDATION_ERROR"),
    (SpecError, 422, "VALIDATION_ERROR"),
    (ProviderNotFoundError, 422, "PROVIDER_NOT_FOUND"),
    (BudgetExceededError, 422, "BUDGET_EXCEEDED"),
    (DataLossError, 422, "DATA_LOSS"),
    (CapacityError, 422, "CAPACITY_EXCEEDED"),
    (ProvisioningUnavailableError, 422, "PROVISIONING_UNAVAILABLE"),
    (RecordNotFoundError, 404, "RESOURCE_NOT_FOUND"),
    (LockLostError, 409, "LOCK_LOST"),
    (LockedError, 409, "LOCKED"),
    (OperationInterruptedError, 409, "INTERRUPTED"),
    (StalePlanError, 409, "STALE_PLAN"),
    (StateError, 503, "STATE_ERROR"),
    (CredentialsError, 424, "CREDENTIALS_ERROR"),
    # The provider refused the credential it was given: the caller's to fix, like a missing one.
    (AuthenticationError, 424, "CREDENTIALS_ERROR"),
    (PermissionDeniedError, 424, "CREDENTIALS_ERROR"),
    (BadRequestError, 422, "PROVIDER_REJECTED"),
    (ConflictError, 409, "PROVIDER_CONFLICT"),
    (RateLimitError, 503, "PROVIDER_RATE_LIMITED"),
    (ProviderAPIError, 502, "PROVIDER_ERROR"),
    (TransportError, 502, "PROVIDER_ERROR"),
    (ProviderOperationError, 502, "PROVIDER_ERROR"),
    (PluginError, 500, "PLUGIN_ERROR"),
    (CostError, 500, "COST_ERROR"),
    (AtlasError, 500, "INTERNAL_ERROR"),
)


def error_code(exc: AtlasError) -> tuple[int, str]:
    """The HTTP status and the ``code`` of a library error (its most specific row)."""
    return next((status, code) for cls, status, code in ERROR_CODES if isinstance(exc, cls))
