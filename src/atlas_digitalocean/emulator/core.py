"""The emulator: one object that holds an account's state and answers DigitalOcean API calls.

``Emulator.handle`` takes an ``httpx.Request`` and returns an ``httpx.Response``, so the same
code serves in-process clients (through ``httpx.MockTransport``) and the loopback server.
Every answer passes the same gates in the same order: authentication, the rate limiter,
injected faults, routing, then the endpoint.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable

import attrs
import httpx

from atlas_digitalocean.emulator import (
    actions,
    billing,
    databases,
    droplet_actions,
    droplets,
    firewalls,
    load_balancers,
    offerings,
    tags,
    volumes,
    vpcs,
)
from atlas_digitalocean.emulator.config import EmulatorConfig
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply
from atlas_digitalocean.emulator.faults import ConnectionDropped, Fault, FaultBook, FaultKind
from atlas_digitalocean.emulator.log import RequestLog, RequestRecord
from atlas_digitalocean.emulator.ratelimit import RateLimiter, Verdict
from atlas_digitalocean.emulator.records import Vpc
from atlas_digitalocean.emulator.routing import Match, Router
from atlas_digitalocean.emulator.state import State

ExchangeHook = Callable[[httpx.Request, httpx.Response], None]
"""Called with every request and its response, e.g. to validate traffic against a spec."""

DEFAULT_BASE_URL = "https://api.digitalocean.com"

_MODULES = (
    droplets,
    droplet_actions,
    volumes,
    databases,
    load_balancers,
    firewalls,
    vpcs,
    tags,
    offerings,
    actions,
    billing,
)
ROUTES = tuple(route for module in _MODULES for route in module.ROUTES)

_COLLECTIONS = (
    droplets.DROPLETS,
    volumes.VOLUMES,
    databases.DATABASES,
    load_balancers.LOAD_BALANCERS,
    firewalls.FIREWALLS,
    vpcs.VPCS,
)
_RENDER: dict[str, Callable[[State], list[JSON]]] = {
    **{collection.plural: collection.render_all for collection in _COLLECTIONS},
    "tags": lambda s: [tags.tag_json(s, DEFAULT_BASE_URL, name) for name in s.tags],
    "actions": actions.ACTIONS.render_all,
}
KINDS = tuple(_RENDER)


@attrs.frozen
class _Incoming:
    request: httpx.Request
    method: str
    path: str
    match: Match


@attrs.frozen
class _Answer:
    status: int
    body: JSON | None
    retry_after: int | None = None
    dropped: bool = False


def _error(exc: ApiError, request_id: str, retry_after: int | None = None) -> _Answer:
    return _Answer(exc.status, exc.payload(request_id), retry_after)


def _bearer(request: httpx.Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class Emulator:
    """A stateful DigitalOcean API v2.

    :param config: latencies, rate limits, accepted tokens; the defaults play a realistic cloud.
    :param clock: returns the current time in seconds since the epoch; transitions happen
        when it says they are due. Defaults to ``time.time``.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self._config = config or EmulatorConfig()
        self._clock = clock or time.time
        self._lock = threading.RLock()
        self._router = Router(ROUTES)
        self._faults = FaultBook()
        self.log = RequestLog()
        self.on_exchange: list[ExchangeHook] = []
        self._state, self._limiter = self._fresh()

    def _fresh(self) -> tuple[State, RateLimiter]:
        seed = self._config.seed
        rng = random.Random(seed if seed is not None else random.SystemRandom().getrandbits(64))
        state = State(self._config, self._clock, rng)
        for region in self._config.default_vpc_regions:
            state.default_vpc(region)  # an account that has used these regions before
        return state, RateLimiter(self._config.rate_limits)

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    # -- answering ------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; raises :class:`httpx.RemoteProtocolError` for a dropped one."""
        with self._lock:
            response, dropped = self._exchange(request)
        if dropped:
            raise ConnectionDropped(
                "Server disconnected without sending a response.", request=request
            )
        for hook in list(self.on_exchange):
            hook(request, response)
        return response

    def transport(self) -> httpx.MockTransport:
        """An in-process transport for ``httpx.Client`` and ``httpx.AsyncClient``."""
        return httpx.MockTransport(self.handle)

    def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bool]:
        state = self._state
        state.settle()
        now = state.now()
        method = request.method.upper()
        path = request.url.path.rstrip("/") or "/"
        incoming = _Incoming(request, method, path, self._router.match(method, path))
        request_id = state.new_uuid()
        token = _bearer(request)
        if token is None or (self._config.tokens is not None and token not in self._config.tokens):
            verdict = self._limiter.peek("", now)
            answer = _error(ApiError.unauthorized(), request_id)
        else:
            verdict = self._limiter.hit(token, now)
            answer = self._gate(incoming, verdict, request_id) or self._dispatch(
                incoming, request_id
            )
        route = incoming.match.route
        key = route.key if route else f"{method} <unmatched>"
        status = None if answer.dropped else answer.status
        self.log.add(RequestRecord(key, path, status, request_id, now))
        return _response(request, answer, verdict, request_id), answer.dropped

    def _gate(self, incoming: _Incoming, verdict: Verdict, request_id: str) -> _Answer | None:
        """The refusal an authenticated request gets before reaching its endpoint, if any."""
        method, path, match = incoming.method, incoming.path, incoming.match
        refusal: ApiError | None = None
        retry_after = None
        if not verdict.allowed:
            refusal, retry_after = ApiError.rate_limited(), verdict.retry_after
        elif burst := self._faults.take(FaultKind.RATE_LIMIT_BURST, method, path):
            refusal, retry_after = ApiError.rate_limited(), burst.retry_after
        elif match.route is None:
            refusal = ApiError.method_not_allowed() if match.path_known else ApiError.not_found()
        elif self._faults.take(FaultKind.ERROR_BEFORE, method, path):
            refusal = ApiError.server_error()
        elif method == "GET" and self._faults.hidden(path):
            refusal = ApiError.not_found()
        return None if refusal is None else _error(refusal, request_id, retry_after)

    def _dispatch(self, incoming: _Incoming, request_id: str) -> _Answer:
        route, request = incoming.match.route, incoming.request
        assert route is not None  # _gate refuses unrouted requests
        call = Call(
            incoming.method,
            incoming.path,
            incoming.match.params,
            request.url.params,
            request.content,
            _base(request),
        )
        try:
            reply = route.handler(self._state, call)
        except ApiError as exc:
            return _error(exc, request_id)
        return self._after(call, reply, request_id)

    def _after(self, call: Call, reply: Reply, request_id: str) -> _Answer:
        """Faults that strike once the request has been applied."""
        method, path = call.method, call.path
        hide = None
        if call.created:
            hide = self._faults.take(FaultKind.NOT_FOUND_AFTER_CREATE, method, path, whole=True)
        if hide is not None:
            for created in call.created:
                self._faults.hide(created, hide.times)
        if self._faults.take(FaultKind.ERROR_AFTER, method, path):
            return _error(ApiError.server_error(), request_id)
        if self._faults.take(FaultKind.DROP_AFTER, method, path):
            return _Answer(reply.status, reply.body, dropped=True)
        return _Answer(reply.status, reply.body)

    # -- faults ---------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        """Arm ``fault``; faults are consulted in the order they were added."""
        with self._lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[tuple[Fault, int]]:
        """Armed faults with the number of uses each has left."""
        with self._lock:
            return self._faults.pending()

    # -- introspection --------------------------------------------------------------------------

    def objects(self, kind: str) -> list[JSON]:
        """Current objects of ``kind`` (one of :data:`KINDS`) as the API would render them."""
        if kind not in _RENDER:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        with self._lock:
            self._state.settle()
            return _RENDER[kind](self._state)

    def is_empty(self) -> bool:
        """Whether no billable object exists. A region's own default VPC (``default-<region>``,
        made by the emulator for a create without a VPC, or asked for by name as atlas does
        before a stack's first VPC there) does not count, nor do tags: DigitalOcean keeps both
        around and neither costs anything. Any other VPC counts, a default one too."""
        with self._lock:
            state = self._state
            state.settle()
            counts = (
                len(state.droplets),
                len(state.volumes),
                len(state.databases),
                len(state.load_balancers),
                len(state.firewalls),
                sum(1 for vpc in state.vpcs.values() if not _regions_own(vpc)),
            )
            return not any(counts)

    def reset(self) -> None:
        """Forget every object, fault, logged request and rate-limit window.
        ``on_exchange`` hooks stay: they are wiring, not state."""
        with self._lock:
            self._state, self._limiter = self._fresh()
            self._faults.clear()
            self.log.clear()


def _base(request: httpx.Request) -> str:
    url = request.url
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    port = "" if url.port in (None, default_port) else f":{url.port}"
    return f"{url.scheme}://{url.host}{port}"


def _response(
    request: httpx.Request, answer: _Answer, verdict: Verdict, request_id: str
) -> httpx.Response:
    headers = {**verdict.headers(), "x-request-id": request_id}
    if answer.retry_after is not None:
        headers["retry-after"] = str(answer.retry_after)
    content = b""
    if answer.body is not None:
        headers["content-type"] = "application/json; charset=utf-8"
        content = json.dumps(answer.body, separators=(",", ":")).encode()
    return httpx.Response(answer.status, headers=headers, content=content, request=request)


def _regions_own(vpc: Vpc) -> bool:
    """Whether ``vpc`` is the default VPC DigitalOcean itself would have made in its region."""
    return vpc.auto_created or (vpc.default and vpc.name == f"default-{vpc.region}")
