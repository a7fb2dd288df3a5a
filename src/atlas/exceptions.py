"""Every error atlas raises, under one root.

    AtlasError
    ├── SpecError                      the input could not be read or did not validate
    │   ├── SpecValidationError        every problem found, each with its path (``.problems``)
    │   └── PlanFileError              a saved plan file is corrupt, foreign or from a newer atlas
    ├── PluginError                    a plugin misbehaved or is missing
    │   ├── DuplicateProviderError     two plugins claim one provider name
    │   ├── DuplicateResourceKindError two plugins claim one (provider, type) pair
    │   ├── ProviderNotFoundError      no installed plugin provides the name (says what to install)
    │   └── ProvisioningUnavailableError  the provider estimates and validates, cannot create yet
    ├── CostError
    │   ├── CurrencyMismatchError      money of two currencies met in one sum
    │   └── PriceCatalogError          a price catalog file is malformed or unsourced
    ├── CredentialsError               no usable credential (names sources tried, never secrets)
    ├── StateError                     the state store cannot do what was asked
    │   ├── LockedError                another operation holds the infrastructure
    │   │   └── LockLostError          this holder's lock was taken over; its write was refused
    │   └── StoreSchemaError           the store's schema is newer than this atlas knows
    ├── BudgetExceededError            the plan costs more than the budget allows
    ├── StalePlanError                 the spec or the recorded state changed since the plan
    ├── DataLossError                  the plan destroys data and that was not allowed
    ├── DeliveryError                  an event could not be delivered to a sink
    ├── RecordNotFoundError            no such infrastructure or operation (in this workspace)
    ├── ProviderOperationError         a provider could not do what was asked
    │   ├── WaitTimeoutError           resources not ready in time (``.states`` keeps their ids)
    │   └── CapacityError              the account's limits would be exceeded
    ├── TransportError                 the request did not get an HTTP answer
    │   ├── ConnectError               the connection was never established (safe to retry)
    │   └── RequestTimeoutError        the request may or may not have been applied
    └── ProviderAPIError               the provider answered with an error
        ├── BadRequestError            400 / 422
        ├── AuthenticationError        401
        ├── PermissionDeniedError      403
        ├── NotFoundError              404
        ├── ConflictError              409
        ├── RateLimitError             429 (``.retry_after`` in seconds when known)
        └── ServerError                5xx

Lower-level errors (httpx, cattrs, yaml) are mapped at the boundary with ``raise ... from exc`` so
callers only ever need to catch these. No message or repr here ever carries a credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "AtlasError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "CapacityError",
    "ConflictError",
    "ConnectError",
    "CostError",
    "CredentialsError",
    "CurrencyMismatchError",
    "DataLossError",
    "DeliveryError",
    "DuplicateProviderError",
    "DuplicateResourceKindError",
    "LeftInPlaceError",
    "LockLostError",
    "LockedError",
    "NotFoundError",
    "OperationInterruptedError",
    "PermissionDeniedError",
    "PlanFileError",
    "PluginError",
    "PriceCatalogError",
    "Problem",
    "ProviderAPIError",
    "ProviderNotFoundError",
    "ProviderOperationError",
    "ProvisioningUnavailableError",
    "RateLimitError",
    "RecordNotFoundError",
    "RequestTimeoutError",
    "ServerError",
    "SpecError",
    "SpecValidationError",
    "StalePlanError",
    "StateError",
    "StoreSchemaError",
    "TransportError",
    "WaitTimeoutError",
]


class AtlasError(Exception):
    """The root of every error atlas raises."""


# -- input ---------------------------------------------------------------------------------------


@attrs.frozen
class Problem:
    """One thing wrong with a spec.

    ``path`` names the exact place, e.g. ``resources[2].specifications.size``; an empty path means
    the document as a whole.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(AtlasError):
    """The input could not be read or understood as a spec."""


class SpecValidationError(SpecError):
    """A spec has one or more problems; ``problems`` lists every one, in document order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        head = f"the spec has {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n  ".join([head + ":", *map(str, self.problems)]))


class PlanFileError(SpecError):
    """A saved plan (``atlas plan --out``) cannot be read: not valid JSON, altered since it
    was written (its digest does not match), missing a part, or in a format this atlas does
    not know. Nothing was changed."""


# -- plugins -------------------------------------------------------------------------------------


class PluginError(AtlasError):
    """A plugin is missing, broken, or conflicts with another."""


class DuplicateProviderError(PluginError):
    """Two plugins register a provider under the same name."""


class DuplicateResourceKindError(PluginError):
    """Two plugins register the same resource type for one provider."""


class ProviderNotFoundError(PluginError):
    """No installed plugin provides the requested provider."""

    def __init__(self, name: str, *, available: Sequence[str], package: str) -> None:
        self.name = name
        self.available = tuple(available)
        self.package = package
        known = ", ".join(self.available) or "none"
        super().__init__(
            f"no provider named {name!r} is installed (installed: {known}); "
            f"install its plugin with `pip install {package}`"
        )


class ProvisioningUnavailableError(PluginError):
    """The provider's plugin has no live side (it estimates and validates only): nothing can
    be planned or applied on it yet."""


# -- cost ----------------------------------------------------------------------------------------


class CostError(AtlasError):
    """Money or prices could not be computed."""


class CurrencyMismatchError(CostError, TypeError):
    """Amounts in two different currencies were combined."""


class PriceCatalogError(CostError):
    """A price catalog is malformed, or a figure in it names no source."""


# -- credentials ---------------------------------------------------------------------------------


class CredentialsError(AtlasError):
    """No usable credential was found; the message names every source tried, never a secret."""

    def __init__(self, message: str, *, sources_tried: Sequence[str] = ()) -> None:
        self.sources_tried = tuple(sources_tried)
        if self.sources_tried:
            message = f"{message} (tried: {', '.join(self.sources_tried)})"
        super().__init__(message)


# -- state and lifecycle -------------------------------------------------------------------------


class StateError(AtlasError):
    """The state store cannot do what was asked."""


class LockedError(StateError):
    """Another operation holds the infrastructure (one writer at a time)."""

    def __init__(self, message: str, *, operation_id: str = "", since: str = "") -> None:
        self.operation_id = operation_id
        self.since = since
        super().__init__(message)


class LockLostError(LockedError):
    """The lock this process held was taken over (its lease ran out: it looked dead), so the
    journal write it tried was refused. Another holder carries the operation on from the
    journal; this one must stop writing."""


class StoreSchemaError(StateError):
    """The store was written by a newer atlas; refusing rather than guessing."""


class OperationInterruptedError(AtlasError):
    """Stopped (``stop`` was set: the CLI's Ctrl-C) before the operation recorded anything:
    nothing changed, and there is nothing to resume."""


class BudgetExceededError(AtlasError):
    """The plan would cost more a month than the budget allows; nothing was changed."""

    def __init__(self, message: str, *, limit: str = "", planned: str = "") -> None:
        self.limit = limit
        self.planned = planned
        super().__init__(message)


class StalePlanError(AtlasError):
    """The plan was made from a spec or a recorded state that is no longer the one there is;
    ``changed`` says what, one phrase each ("resource web changed since the plan was made
    (status active→deleting)", "another operation ran: ID"). Nothing was changed: plan again."""

    def __init__(self, message: str, *, changed: Sequence[str] = ()) -> None:
        self.changed = tuple(changed)
        super().__init__(message)


class DataLossError(AtlasError):
    """The plan replaces or deletes resources that keep data (a database, a volume), which
    applying it would destroy, and ``allow_data_loss`` was not given; ``resources`` names them.
    Nothing was changed."""

    def __init__(self, message: str, *, resources: Sequence[str] = ()) -> None:
        self.resources = tuple(resources)
        super().__init__(message)


class DeliveryError(AtlasError):
    """A sink could not deliver an event.

    ``permanent`` means asking again will not help (the receiver refused the event, 4xx);
    otherwise the receiver was unreachable or failing and the retries ran out. The message
    never carries a secret or a signature.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.permanent = permanent
        self.status = status
        self.attempts = attempts
        super().__init__(message)


class RecordNotFoundError(AtlasError):
    """No such infrastructure or operation in this workspace (another workspace's looks the
    same: it is not there for you)."""


# -- provider operations -------------------------------------------------------------------------


class ProviderOperationError(AtlasError):
    """A provider could not do what was asked (beyond a single failed API call)."""


class LeftInPlaceError(ProviderOperationError):
    """A delete the cloud will not carry out where leaving the object is safe and expected
    (a region's default network, which the cloud never deletes). The core counts the resource
    as gone from the infrastructure and records the message, one line, as the step's note."""


class WaitTimeoutError(ProviderOperationError):
    """Resources did not become ready in time; ``states`` holds them as last seen, ids and all,
    so the operation can be resumed rather than repeated."""

    def __init__(self, message: str, *, states: Sequence[object] = ()) -> None:
        self.states = tuple(states)
        super().__init__(message)


class CapacityError(ProviderOperationError):
    """Creating what was asked would exceed a limit of the account (how many servers it may
    have, say)."""


# -- talking to a provider -----------------------------------------------------------------------


class TransportError(AtlasError):
    """The request got no HTTP answer.

    ``method`` and ``url`` say which request; ``total_wait`` is the time spent waiting between
    attempts before giving up (0.0 when it was not retried).
    """

    def __init__(
        self, message: str, *, method: str = "", url: str = "", total_wait: float = 0.0
    ) -> None:
        self.method = method
        self.url = url
        self.total_wait = total_wait
        if total_wait:
            message = f"{message} (gave up after waiting {total_wait:.1f}s between retries)"
        super().__init__(message)


class ConnectError(TransportError):
    """The connection was never established, so the request cannot have been applied."""


class RequestTimeoutError(TransportError):
    """The request timed out; it may or may not have been applied."""


class ProviderAPIError(AtlasError):
    """The provider's API answered with an error.

    Keeps the HTTP ``status``, the provider's error ``code`` (as its error body names it), its
    ``message`` and ``request_id``, plus ``total_wait`` spent in retries before giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        total_wait: float = 0.0,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.method = method
        self.url = url
        self.total_wait = total_wait
        parts = [f"{status} {code}".strip() + f": {message}"]
        if method or url:
            parts.append(f"[{method} {url}]".replace("[ ", "[").replace(" ]", "]"))
        if request_id:
            parts.append(f"(request id {request_id})")
        if total_wait:
            parts.append(f"(gave up after waiting {total_wait:.1f}s between retries)")
        super().__init__(" ".join(parts))


class BadRequestError(ProviderAPIError):
    """400 or 422: the provider refused the request as invalid."""


class AuthenticationError(ProviderAPIError):
    """401: the credential is missing, malformed, expired or revoked."""


class PermissionDeniedError(ProviderAPIError):
    """403: the credential may not do this."""


class NotFoundError(ProviderAPIError):
    """404: no such object (or not visible to this credential)."""


class ConflictError(ProviderAPIError):
    """409: the request conflicts with the object's current state."""


class RateLimitError(ProviderAPIError):
    """429: too many requests; ``retry_after`` is the advised wait in seconds when known."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        code: str = "too_many_requests",
        retry_after: float | None = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        total_wait: float = 0.0,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message,
            status=status,
            code=code,
            request_id=request_id,
            method=method,
            url=url,
            total_wait=total_wait,
        )


class ServerError(ProviderAPIError):
    """5xx: the provider failed; the request may or may not have been applied."""
