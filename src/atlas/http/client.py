"""The HTTP client every provider talks through.

``ApiClient`` wraps ``httpx.AsyncClient`` with what each provider would otherwise redo: auth
from ``Secret`` values, a per-credential rate limiter, the retry policy, error mapping onto
atlas's tree, pagination, and one secret-free debug line per attempt on the ``atlas.http``
logger. What differs between clouds is passed in: the auth, the rate-limit profile, the
pagination strategy and the reading of error bodies. The network, the sleep and the clocks are
all injectable, so tests run in-process and instantly.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from tenacity import RetryCallState

from atlas.__about__ import __version__
from atlas.exceptions import NotFoundError, ProviderAPIError, RateLimitError
from atlas.http._types import Clock, Sleep
from atlas.http.auth import SecretAuth
from atlas.http.calls import ApiCall, ApiWait, RouteTemplates, report_call
from atlas.http.errors import ErrorParser, error_from_response, error_from_transport
from atlas.http.holds import announce_hold
from atlas.http.pagination import PageRequest, Paginator
from atlas.http.profile import RateLimitProfile
from atlas.http.ratelimit import Priority, RateLimiter
from atlas.http.retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "ApiClient"]

logger = logging.getLogger("atlas.http")

Params = Mapping[str, str | int | float | bool]
JSONObject = dict[str, Any]

# Connecting is quick or not happening; a slow list call can legitimately take a while.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
#: Requests let through one after another queue for microseconds: not a wait worth reporting.
_LEAST_WAIT = 0.001


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class ApiClient:
    """An async client for one provider API and one credential.

    :param auth: adds the credential to each request; its secrets are scrubbed from errors.
    :param rate_limits: the API's limits and the headers it reports them in.
    :param paginator: how the API's list endpoints page (:meth:`paginate`).
    :param errors: reads the API's error bodies; without it only generic fields are read.
    :param provider: the provider's name, as every attempt is reported
        (:func:`atlas.http.report_call`); default the API's host.
    :param routes: the API's route templates, so an attempt is reported by its template and
        never by a raw path (which may hold ids and names); without them every route is
        reported as ``"other"``.

    Unless ``rate_limiter`` is given, clients sharing a credential and profile share the
    process-wide limiter for them — except when ``sleep`` and ``clock`` are injected (tests,
    benchmarks; always both): then the client gets a private limiter on that same fake time,
    so nothing really sleeps.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: SecretAuth,
        rate_limits: RateLimitProfile,
        paginator: Paginator,
        errors: ErrorParser | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        wall_clock: Clock = time.time,
        user_agent: str | None = None,
        provider: str | None = None,
        routes: RouteTemplates | None = None,
    ) -> None:
        if (sleep is None) != (clock is None):
            # A fake sleep with the real clock would have the limiter wait forever.
            raise ValueError("inject sleep and clock together: a fake sleep needs a clock it moves")
        if not isinstance(auth, SecretAuth):
            # A bare httpx.Auth hides its secrets: they could not be scrubbed from errors.
            raise TypeError("auth must be an atlas.http.SecretAuth (BearerAuth, say)")
        # Kept as Secrets, revealed only to scrub them from a provider's error text.
        self._secrets = tuple(secret for secret in auth.secrets if secret.reveal())
        if not self._secrets:
            raise ValueError("auth holds no secret: nothing to key the rate limiter by")
        self.rate_limits, self.paginator, self._errors = rate_limits, paginator, errors
        self.retry = retry or RetryPolicy()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock: Clock = clock or time.monotonic
        self._wall_clock = wall_clock
        if rate_limiter is None:
            rate_limiter = (
                RateLimiter.shared(rate_limits, *auth.secrets)
                if clock is None
                else RateLimiter(
                    rate_limits, clock=self._clock, sleep=self._sleep, wall_clock=wall_clock
                )
            )
        self.rate_limiter = rate_limiter
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={
                "User-Agent": user_agent or f"atlas/{__version__}",
                "Accept": "application/json",
            },
            follow_redirects=False,  # a redirect elsewhere must not take the credential along
        )

        self.provider = provider or self._http.base_url.host
        self._routes = routes or RouteTemplates(())

    @property
    def base_url(self) -> httpx.URL:
        return self._http.base_url

    def __repr__(self) -> str:
        return f"ApiClient(base_url={str(self.base_url)!r}, retry={self.retry!r})"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- requests ----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        priority: Priority | None = None,
    ) -> httpx.Response:
        """Send one request, retrying as ``self.retry`` allows; return a 1xx-3xx response.

        ``path`` is relative to ``base_url`` or an absolute URL on the same origin. Raises the
        mapped atlas error (``ProviderAPIError`` or ``TransportError`` subclasses) on failure.
        """
        method = method.upper()
        self._check_origin(httpx.URL(path))
        priority = Priority.for_method(method) if priority is None else priority
        before_sleep = functools.partial(self._before_retry, method, path)
        retrying = self.retry.retrying(method, sleep=self._sleep, before_sleep=before_sleep)
        async for attempt in retrying:
            with attempt:
                state = attempt.retry_state
                request = self._http.build_request(
                    method, path, params=params, json=json, extensions={"trace": self._trace}
                )
                return await self._attempt(request, priority, state.attempt_number, state.idle_for)
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    async def _attempt(
        self, request: httpx.Request, priority: Priority, attempt: int, total_wait: float
    ) -> httpx.Response:
        # total_wait is what was slept before this attempt; carried by the error in case this
        # turns out to be the last one.
        method, url = request.method, str(request.url)
        permit = await self.rate_limiter.acquire(priority)
        if permit.waited >= _LEAST_WAIT:
            report_call(ApiWait(self.provider, permit.waited, "rate_limiter"))
        started = self._clock()
        route = self._routes.match(request.url.path)
        try:
            response = await self._http.send(request)
        except httpx.RequestError as exc:
            self.rate_limiter.release(permit)
            self._log_attempt(request, type(exc).__name__, started, attempt)
            error = error_from_transport(
                exc, method=method, url=url, total_wait=total_wait, redact=self._redact
            )
            report_call(ApiCall(self.provider, method, route, None, type(error).__name__))
            raise error from exc
        except BaseException:  # cancelled, say: the request may still have reached the server
            self.rate_limiter.release(permit)
            raise
        # Released once answered, not when sent: the server counted it somewhere in between.
        self.rate_limiter.release(permit, response.headers, status=response.status_code)
        self._log_attempt(request, response.status_code, started, attempt)
        status = response.status_code
        if not response.is_error:
            report_call(ApiCall(self.provider, method, route, status))
            return response
        failure = error_from_response(
            response,
            parse=self._errors,
            rate_limits=self.rate_limits,
            method=method,
            url=url,
            total_wait=total_wait,
            wall_clock=self._wall_clock,
            redact=self._redact,
        )
        throttled = isinstance(failure, RateLimitError)
        report_call(
            ApiCall(self.provider, method, route, status, type(failure).__name__, throttled)
        )
        raise failure

    async def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's hook, awaited as the request goes out: a permit given before an answer
        to another request paused everyone (a 429 while this one was connecting, or waiting
        for a pooled connection) waits out that pause before its headers are sent."""
        del info
        if event.endswith(".send_request_headers.started"):
            while (left := self.rate_limiter.pause_left()) > 0:
                announce_hold(left, "the API asked for a pause (429, or none left)")
                report_call(ApiWait(self.provider, left, "retry_after"))
                await self._sleep(left)

    async def get_json(
        self, path: str, *, params: Params | None = None, priority: Priority | None = None
    ) -> JSONObject:
        """GET and return the JSON object answered."""
        return _json_object(await self.request("GET", path, params=params, priority=priority))

    async def post_json(self, path: str, json: Any, *, params: Params | None = None) -> JSONObject:
        """POST ``json`` and return the JSON object answered (``{}`` for an empty body)."""
        return _json_object(await self.request("POST", path, params=params, json=json))

    async def put_json(self, path: str, json: Any, *, params: Params | None = None) -> JSONObject:
        """PUT ``json`` and return the JSON object answered (``{}`` for an empty body)."""
        return _json_object(await self.request("PUT", path, params=params, json=json))

    async def patch_json(self, path: str, json: Any, *, params: Params | None = None) -> JSONObject:
        """PATCH ``json`` and return the JSON object answered (``{}`` for an empty body)."""
        return _json_object(await self.request("PATCH", path, params=params, json=json))

    async def delete(
        self, path: str, *, params: Params | None = None, missing_ok: bool = False
    ) -> None:
        """DELETE; with ``missing_ok`` a 404 counts as done (a retried delete may see one)."""
        try:
            await self.request("DELETE", path, params=params)
        except NotFoundError:
            if not missing_ok:
                raise

    async def paginate(
        self, path: str, key: str, params: Params | None = None
    ) -> AsyncIterator[JSONObject]:
        """Yield every item under ``key`` across all pages of a list endpoint, as
        ``self.paginator`` pages it. A next page on another host, or one already fetched, is
        an error (``ProviderAPIError``), not followed."""
        page = self.paginator.first(path, dict(params or {}))
        seen = {self._page_key(page)}
        while True:
            response = await self.request("GET", page.url, params=page.params)
            body = _json_object(response)
            items = body.get(key)
            if not isinstance(items, list):
                raise _unexpected(f"the answer has no {key!r} list", page.url)
            for item in items:
                yield item
            following = self.paginator.next(page, response, body)
            if following is None:
                return
            url = httpx.URL(following.url)
            if url.is_absolute_url and _origin(url) != _origin(self.base_url):
                raise _unexpected("the next-page link points away from the API", url.host)
            if (where := self._page_key(following)) in seen:
                raise _unexpected("the next-page link repeats an earlier page", where)
            seen.add(where)
            page = following

    def _page_key(self, page: PageRequest) -> str:
        # The URL as it would be sent, so a relative and an absolute spelling are one page.
        return str(self._http.build_request("GET", page.url, params=page.params).url)

    # -- helpers -----------------------------------------------------------------------------

    def _check_origin(self, url: httpx.URL) -> None:
        if url.is_absolute_url and _origin(url) != _origin(self.base_url):
            host, ours = url.host, self.base_url.host
            raise ValueError(f"refusing to send the credential to {host}, not {ours}")

    def _redact(self, text: str) -> str:
        # A provider that echoes the request in an error must not put a secret in ours.
        for secret in self._secrets:
            text = text.replace(secret.reveal(), "***")
        return text

    def _log_attempt(
        self, request: httpx.Request, outcome: int | str, started: float, attempt: int
    ) -> None:
        elapsed = self._clock() - started
        # Path only: no query (filters are not secret, but keep lines short), no headers, no body.
        logger.debug(
            "%s %s -> %s in %.3fs (attempt %d)",
            request.method,
            request.url.path,
            outcome,
            elapsed,
            attempt,
        )

    def _before_retry(self, method: str, path: str, state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome and outcome.failed else None
        failure = type(error).__name__ if error is not None else "?"
        if isinstance(error, RateLimitError):
            # The server, not our limiter, said no: the wait is still everyone's to see.
            announce_hold(state.upcoming_sleep, "the API answered 429 Too Many Requests")
            report_call(ApiWait(self.provider, state.upcoming_sleep, "retry_after"))
        logger.debug(
            "%s %s: retrying in %.2fs after %s (attempt %d failed)",
            method,
            httpx.URL(path).path,
            state.upcoming_sleep,
            failure,
            state.attempt_number,
        )


def _unexpected(message: str, where: str) -> ProviderAPIError:
    return ProviderAPIError(message, status=200, code="unexpected_body", method="GET", url=where)


def _json_object(response: httpx.Response) -> JSONObject:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        url = str(response.request.url)
        raise ProviderAPIError(
            "the answer is not a JSON object",
            status=response.status_code,
            code="unexpected_body",
            method=response.request.method,
            url=url,
        )
    return body
