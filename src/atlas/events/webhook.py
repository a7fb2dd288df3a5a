"""A webhook sink: each event POSTed as signed JSON, retried with capped backoff.

Every request carries the body of :func:`~atlas.events.event_to_json` and these headers::

    Content-Type: application/json
    X-Atlas-Event: infrastructure.created
    X-Atlas-Delivery: 3f0c...            the event id, the same on every redelivery
    X-Atlas-Timestamp: 1735787045        Unix seconds when this attempt was signed
    X-Atlas-Signature: sha256=<hex>      HMAC-SHA256, keyed with the shared secret,
                                         of "<X-Atlas-Timestamp>.<raw body>"

A receiver checks, in this order: the signature over the raw body bytes exactly as received
(before parsing any JSON), compared in constant time; the timestamp within a few minutes of its
own clock (so a captured request cannot be replayed later); then whether it has already seen
``X-Atlas-Delivery`` (delivery is at least once). With atlas installed::

    from atlas.events import verify_signature

    if not verify_signature(secret, headers["X-Atlas-Timestamp"], raw_body,
                            headers["X-Atlas-Signature"]):
        return 401

and without, in any language, the same three steps::

    expected = "sha256=" + hmac.new(secret, f"{ts}.".encode() + raw_body, sha256).hexdigest()
    ok = hmac.compare_digest(expected, signature) and abs(time.time() - int(ts)) <= 300

Answers: any 2xx means delivered. 408, 429 and 5xx (but 501) are retried, after
``Retry-After`` when the receiver sends one, else after a capped exponential backoff with
jitter; so are connection errors and timeouts. Anything else (other 4xx; 3xx, as redirects are
not followed) is a refusal, reported and not retried. One ``send`` is bounded by
``max_attempts`` and ``max_total_time``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.wait import wait_exponential, wait_random_exponential

from atlas.__about__ import __version__
from atlas.credentials import Secret
from atlas.events.payload import event_body
from atlas.exceptions import DeliveryError
from atlas.http import retry_after_seconds
from atlas.http._types import Clock, Sleep
from atlas.model.records import EventRecord

__all__ = ["SIGNATURE_TOLERANCE", "WebhookSink", "sign", "verify_signature"]

logger = logging.getLogger("atlas.events")

#: How far (seconds) a timestamp may be from the receiver's clock, either way.
SIGNATURE_TOLERANCE = 300
_RETRY_STATUSES = frozenset({408, 429})
_DIGITS = re.compile(r"[0-9]{1,15}")
# A receiver that is slow to answer is also slow to process; 10 s is what the big webhook
# senders (GitHub, Stripe) allow before calling it a timeout.
DEFAULT_TIMEOUT = 10.0


def _key(secret: Secret | str | bytes) -> bytes:
    if isinstance(secret, Secret):
        return secret.reveal().encode("utf-8")
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: Secret | str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Atlas-Signature`` value: ``sha256=`` and the hex HMAC of ``"<timestamp>.<body>"``."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: Secret | str | bytes,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    *,
    tolerance_seconds: float = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a request really came from atlas, recently: for receivers.

    :param timestamp: the ``X-Atlas-Timestamp`` header.
    :param body: the raw body as received (a str is taken as its UTF-8 bytes).
    :param signature: the ``X-Atlas-Signature`` header.
    :param tolerance_seconds: how far the timestamp may be from ``now``, either way.
    :param now: the receiver's time in Unix seconds; the wall clock by default.
    :return: False for a wrong secret, an altered body, a stale or malformed timestamp.
    """
    stamp = str(timestamp).strip()
    # ASCII digits only: int() would also take "1_700_000_000" or other scripts' digits.
    if not _DIGITS.fullmatch(stamp):
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_seconds:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    expected = sign(secret, stamp, raw)
    # Bytes, so a non-ASCII header compares False instead of raising.
    return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8"))


class _Retryable(Exception):
    """An attempt failed in a way another attempt may not."""

    def __init__(
        self, reason: str, *, status: int | None = None, wait: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait  # the receiver's Retry-After, in seconds


class WebhookSink:
    """POSTs events to ``url``, signed with ``secret`` (see the module docs for the format).

    :param name: for reports and logs; by default ``webhook:<scheme>://<host>`` — the path is
        left out because webhook URLs often carry a token in it.
    :param transport: an ``httpx`` transport (``httpx.MockTransport`` in tests).
    :param timeout: seconds for one request.
    :param max_attempts: attempts per event and ``send``, counting the first.
    :param backoff_initial: the first backoff; it doubles up to ``backoff_max``.
    :param max_total_time: seconds one ``send`` may take, waits and requests included.
    :param max_retry_after: the longest ``Retry-After`` remembered across sends: until then,
        ``send`` fails at once rather than knock again.
    :param sleep: ``clock``: injected time (tests pass fakes, so nothing really sleeps).
    :param wall_clock: Unix seconds, for the signature timestamp and HTTP-date Retry-After.
    """

    def __init__(
        self,
        url: str,
        secret: Secret,
        *,
        name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_total_time: float = 60.0,
        max_retry_after: float = 300.0,
        jitter: bool = True,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        if not isinstance(secret, Secret):
            raise TypeError("the signing secret must be an atlas.credentials.Secret")
        if not secret.reveal():
            raise ValueError("the signing secret is empty")
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError("a webhook URL must be absolute http(s), e.g. https://host/path")
        if max_attempts < 1 or min(timeout, backoff_initial, backoff_max, max_total_time) < 0:
            raise ValueError("max_attempts must be >= 1 and times must not be negative")
        port = f":{target.port}" if target.port else ""
        self.name = name or f"webhook:{target.scheme}://{target.host}{port}"
        self._url = target
        self._secret = secret
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_total_time = max_total_time
        self._max_retry_after = max_retry_after
        backoff = wait_random_exponential if jitter else wait_exponential
        self._backoff = backoff(multiplier=backoff_initial, max=backoff_max)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._not_before = float("-inf")  # set by a Retry-After longer than a send's budget
        self._http = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,  # a signed body goes where it was configured to, or nowhere
            headers={"User-Agent": f"atlas/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"WebhookSink(name={self.name!r}, max_attempts={self._max_attempts})"

    async def __aenter__(self) -> WebhookSink:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, event: EventRecord) -> None:
        """Deliver ``event``, retrying as the module docs say; raise
        :class:`~atlas.events.DeliveryError` (``permanent`` for a refusal) when it cannot."""
        try:
            body = event_body(event)
        except (TypeError, ValueError) as exc:
            raise DeliveryError(f"cannot encode the event ({exc})", permanent=True) from None
        started = self._clock()
        if started < self._not_before:
            wait = self._not_before - started
            raise DeliveryError(
                f"not sent: the receiver asked to wait {wait:.0f}s more",
                permanent=False,
                attempts=0,
            )
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=lambda state: self._spent(state, started),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=lambda state: self._log_retry(event, state),
            reraise=True,
        )
        number = 0
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    await self._attempt(event, body, number, started)
        except _Retryable as exc:
            elapsed = self._clock() - started
            if exc.wait is not None and exc.wait > 0:
                self._not_before = self._clock() + min(exc.wait, self._max_retry_after)
            advice = f", asking to wait {exc.wait:.0f}s" if exc.wait else ""
            raise DeliveryError(
                f"{exc.reason}{advice}; gave up after {number} attempt{'s' * (number > 1)} "
                f"in {elapsed:.1f}s",
                permanent=False,
                status=exc.status,
                attempts=number,
            ) from None

    async def _attempt(self, event: EventRecord, body: bytes, number: int, started: float) -> None:
        timestamp = str(int(self._wall_clock()))
        headers = {
            "Content-Type": "application/json",
            "X-Atlas-Event": event.type,
            "X-Atlas-Delivery": event.id,
            "X-Atlas-Timestamp": timestamp,
            "X-Atlas-Signature": sign(self._secret, timestamp, body),
        }
        # Never past the send's budget, but never so short a healthy receiver cannot answer.
        remaining = self._max_total_time - (self._clock() - started)
        timeout = min(self._timeout, max(remaining, 1.0))
        sent = self._clock()
        try:
            response = await self._http.post(
                self._url, content=body, headers=headers, timeout=timeout
            )
        except (
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.RemoteProtocolError,
            httpx.ProxyError,
        ) as exc:
            # The exception's own text is left out: it is not needed, and it is not ours.
            self._log_attempt(event, number, type(exc).__name__, sent)
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            raise _Retryable(f"{kind} ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            self._log_attempt(event, number, type(exc).__name__, sent)
            raise DeliveryError(
                f"cannot send ({type(exc).__name__})", permanent=True, attempts=number
            ) from None
        self._log_attempt(event, number, response.status_code, sent)
        self._check(response, number)

    def _check(self, response: httpx.Response, number: int) -> None:
        status = response.status_code
        if response.is_success:
            return
        if status in _RETRY_STATUSES or (status >= 500 and status != 501):
            wait = retry_after_seconds(response.headers, self._wall_clock)
            raise _Retryable(f"answered HTTP {status}", status=status, wait=wait)
        # The receiver's body is left out of the message: it is theirs, and may echo ours.
        raise DeliveryError(
            f"refused with HTTP {status}", permanent=True, status=status, attempts=number
        )

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, _Retryable) and exc.wait is not None:
            return exc.wait  # the receiver's advice; the budget decides whether to take it
        return float(self._backoff(state))

    def _spent(self, state: RetryCallState, started: float) -> bool:
        # Tenacity has computed the upcoming wait before asking: a wait that would overrun
        # the budget is not started.
        if state.attempt_number >= self._max_attempts:
            return True
        upcoming = state.upcoming_sleep
        return (self._clock() - started) + upcoming > self._max_total_time

    def _log_attempt(
        self, event: EventRecord, number: int, outcome: int | str, sent: float
    ) -> None:
        # Never the headers (the signature), the body or the URL's path: just what happened.
        level = logging.DEBUG if isinstance(outcome, int) and 200 <= outcome < 300 else logging.INFO
        logger.log(
            level,
            "%s: POST %s (%s) -> %s in %.3fs (attempt %d)",
            self.name,
            event.id,
            event.type,
            outcome,
            self._clock() - sent,
            number,
        )

    def _log_retry(self, event: EventRecord, state: RetryCallState) -> None:
        logger.debug("%s: retrying %s in %.2fs", self.name, event.id, state.upcoming_sleep)
