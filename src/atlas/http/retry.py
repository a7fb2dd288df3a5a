"""When to send a request again, and how long to wait first.

The rule that matters: a request is repeated only when repeating it cannot do harm.

    failure                         GET HEAD OPTIONS PUT DELETE     POST PATCH
    never connected (ConnectError)          retry                   retry
    429 rate limited                        retry                   retry
    5xx (but 501)                           retry                   no — may have been applied
    timeout after sending                   retry                   no — may have been applied
    connection dropped                      retry                   no — may have been applied
    anything else                           no                      no

A create that is not retried is not lost: the provider layer looks for what the attempt made
(ownership tag, deterministic name) before trying again. Waits honour ``Retry-After`` first,
then a future reset (the rate-limit profile's header), else capped exponential backoff with
full jitter; a budget on attempts and on total waiting bounds it all.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential, wait_random_exponential

from atlas.exceptions import (
    ConnectError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from atlas.http._types import Sleep

__all__ = ["FailureKind", "RetryPolicy", "classify"]

BeforeSleep = Callable[[RetryCallState], None]


class FailureKind(enum.Enum):
    """What a failure says about whether the request was applied."""

    NOT_SENT = "never connected"
    RATE_LIMITED = "rate limited"
    SERVER_ERROR = "server error"
    TIMEOUT = "timed out"
    DROPPED = "connection dropped"
    FINAL = "not retryable"


# Failures after which the request certainly was not applied: safe to repeat even a create.
_NOT_APPLIED = frozenset({FailureKind.NOT_SENT, FailureKind.RATE_LIMITED})
_TRANSIENT = _NOT_APPLIED | {FailureKind.SERVER_ERROR, FailureKind.TIMEOUT, FailureKind.DROPPED}


def classify(exc: BaseException) -> FailureKind:
    """Sort an atlas error by what it says about the request having been applied."""
    if isinstance(exc, ConnectError):
        return FailureKind.NOT_SENT
    if isinstance(exc, RequestTimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(exc, TransportError):
        return FailureKind.DROPPED
    if isinstance(exc, RateLimitError):
        return FailureKind.RATE_LIMITED
    # 501 Not Implemented will not change by asking again.
    if isinstance(exc, ServerError) and exc.status != 501:
        return FailureKind.SERVER_ERROR
    return FailureKind.FINAL


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class RetryPolicy:
    """How hard to try. Tune per client; ``RetryPolicy.never()`` sends each request once.

    ``max_attempts`` counts the first try. ``max_total_wait`` bounds the seconds slept between
    attempts: a wait that would exceed it is not started, the last error is raised instead and
    says how long was waited. Server-advised waits are capped at ``max_advised_wait``; backoff
    starts near ``backoff_initial`` and doubles up to ``backoff_max``.
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    max_total_wait: float = attrs.field(default=120.0, validator=_non_negative)
    backoff_initial: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    max_advised_wait: float = attrs.field(default=60.0, validator=_non_negative)
    jitter: bool = True
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def should_retry(self, method: str, exc: BaseException) -> bool:
        """Whether ``exc`` from a ``method`` request may be answered by sending it again."""
        kind = classify(exc)
        safe = _TRANSIENT if method.upper() in self.idempotent_methods else _NOT_APPLIED
        return kind in safe

    def retrying(
        self, method: str, *, sleep: Sleep, before_sleep: BeforeSleep | None = None
    ) -> AsyncRetrying:
        """A tenacity ``AsyncRetrying`` applying this policy to one request."""
        return AsyncRetrying(
            sleep=sleep,
            stop=_StopWhenSpent(self.max_attempts, self.max_total_wait),
            wait=_AdvisedOrBackoff(self),
            retry=retry_if_exception(lambda exc: self.should_retry(method, exc)),
            before_sleep=before_sleep,
            reraise=True,  # callers see the atlas error, never tenacity's RetryError
        )


class _AdvisedOrBackoff(wait_base):
    """The server's advice when a 429 gave some, else exponential backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._cap = policy.max_advised_wait
        backoff = wait_random_exponential if policy.jitter else wait_exponential
        self._backoff = backoff(multiplier=policy.backoff_initial, max=policy.backoff_max)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self._cap)
        return self._backoff(retry_state)


class _StopWhenSpent(stop_base):
    """Stop at the attempt limit, or before a wait that would overrun the wait budget.

    Tenacity computes the upcoming wait before asking ``stop``, so the budget is checked
    against what would really be slept, not just what was.
    """

    def __init__(self, max_attempts: int, max_total_wait: float) -> None:
        self._max_attempts = max_attempts
        self._max_total_wait = max_total_wait

    def __call__(self, retry_state: RetryCallState) -> bool:
        if retry_state.attempt_number >= self._max_attempts:
            return True
        return retry_state.idle_for + retry_state.upcoming_sleep > self._max_total_wait
