"""Everything the app is built from, injectable: tests pass their own store, providers, clock.

:func:`settings_from_env` reads the environment the platform uses (``ATLAS_JWT_SECRET``,
``ATLAS_JWT_MAX_LIFETIME``, ``ATLAS_JWT_ALLOW_DEFAULT_WORKSPACE``, ``ATLAS_API_KEYS_FILE``,
``ATLAS_CORS_ORIGINS``, ``ATLAS_MAX_BODY_BYTES``, the connection limits of
:class:`ConnectionLimits`, and for heavy work ``ATLAS_MAX_RESOURCES``, ``ATLAS_CPU_THREADS``,
``ATLAS_CPU_PROCESSES`` and ``ATLAS_REQUEST_DEADLINE``, and what :class:`Monitoring` reads:
``ATLAS_METRICS_TOKEN`` and the ``ATLAS_DEGRADE_*`` thresholds); ``atlas serve`` adds the address
(``HOST``, ``PORT``) and ``LOG_LEVEL``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs

from atlas.__about__ import __version__
from atlas.cost.billing import parse_duration
from atlas.credentials import Secret
from atlas.events import EventSink, WebhookSink
from atlas.facade import WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV
from atlas.model.records import utcnow
from atlas.providers.contract import Provider
from atlas.providers.registry import ProviderRegistry
from atlas.server.auth import DEFAULT_MAX_LIFETIME, ApiKeyring, AuthConfig
from atlas.server.monitoring import Monitoring
from atlas.store.base import StateStore

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "DEFAULT_CPU_PROCESSES",
    "DEFAULT_CPU_THREADS",
    "DEFAULT_MAX_RESOURCES",
    "DEFAULT_PORT",
    "DEFAULT_PROVIDER_IDLE",
    "DEFAULT_PROVIDER_MAX_AGE",
    "DEFAULT_REQUEST_DEADLINE",
    "CallerProviderFactory",
    "ConnectionLimits",
    "CredentialProbe",
    "Settings",
    "is_loopback",
    "refuse_open_bind",
    "settings_from_env",
]

DEFAULT_PORT = 3003
DEFAULT_BODY_LIMIT = 1_048_576  # a spec of a few hundred resources fits in a tenth of this
JWT_SECRET_ENV = "ATLAS_JWT_SECRET"  # noqa: S105 - the name of a variable, not a secret
JWT_AUDIENCE_ENV = "ATLAS_JWT_AUDIENCE"
JWT_MAX_LIFETIME_ENV = "ATLAS_JWT_MAX_LIFETIME"
JWT_DEFAULT_WORKSPACE_ENV = "ATLAS_JWT_ALLOW_DEFAULT_WORKSPACE"
API_KEYS_FILE_ENV = "ATLAS_API_KEYS_FILE"
CORS_ORIGINS_ENV = "ATLAS_CORS_ORIGINS"
BODY_LIMIT_ENV = "ATLAS_MAX_BODY_BYTES"
HEADER_LIMIT_ENV = "ATLAS_MAX_HEADER_BYTES"
HEADER_TIMEOUT_ENV = "ATLAS_HEADER_TIMEOUT"
KEEPALIVE_TIMEOUT_ENV = "ATLAS_KEEPALIVE_TIMEOUT"
MAX_CONNECTIONS_ENV = "ATLAS_MAX_CONNECTIONS"
#: A smaller header limit would refuse ordinary requests: a JWT alone is often 1 KiB.
MIN_HEADER_LIMIT = 1024
#: A spec of this many resources takes two to three seconds of CPU to validate and plan
#: (benchmark 10); 1 MiB of the tersest JSON holds about 40,000.
DEFAULT_MAX_RESOURCES = 50_000
MAX_RESOURCES_ENV = "ATLAS_MAX_RESOURCES"
DEFAULT_CPU_THREADS = 2
CPU_THREADS_ENV = "ATLAS_CPU_THREADS"
#: What ``atlas serve`` starts (``settings_from_env``); an app built otherwise has none.
DEFAULT_CPU_PROCESSES = 2
CPU_PROCESSES_ENV = "ATLAS_CPU_PROCESSES"
DEFAULT_REQUEST_DEADLINE = 20.0
REQUEST_DEADLINE_ENV = "ATLAS_REQUEST_DEADLINE"
#: Seconds a workspace's provider nobody uses stays open: long enough for a client's next call.
DEFAULT_PROVIDER_IDLE = 60.0
#: Seconds a workspace's provider is used for: how late a rotated credential may be picked up.
DEFAULT_PROVIDER_MAX_AGE = 600.0
#: Seconds between looks for operations left without a live holder (see Settings).
CLAIM_INTERVAL_ENV = "ATLAS_CLAIM_INTERVAL"

#: Builds a live provider for a provider name and the caller's JWT (forwarded to the Context
#: Manager for the workspace's cloud credentials; ``None`` when the caller used no JWT).
CallerProviderFactory = Callable[[str, Secret | None], Provider]
#: Whether a caller has a credential for a provider: ``None`` when one was found, else why not
#: (naming the sources tried, never a secret); raises ``LookupError`` when it cannot tell.
CredentialProbe = Callable[[str, Secret | None], Awaitable[str | None]]


@attrs.frozen(kw_only=True)
class ConnectionLimits:
    """What one connection may cost the server before it is answered or closed.

    An HTTP parser will otherwise buffer a request head of any size and wait for its end
    forever, so one client can hold memory, and a few thousand idle sockets the whole server,
    without ever authenticating. ``atlas serve`` applies these whichever parser uvicorn runs
    (:mod:`atlas.server.connections`); an app embedded in another server gets that server's.

    :param header_bytes: the largest request line and headers accepted, in bytes; a longer
        head is answered ``431`` and the connection closed, with no more than this read of it.
    :param header_timeout: seconds a client has to send a complete request head, from its
        connection (or, on a kept-alive one, from the first byte of its next request); then
        the connection is closed.
    :param keepalive_timeout: seconds a kept-alive connection may stay idle between requests.
    :param max_connections: connections served at once; a request on any further connection
        is answered ``503`` and that connection closed.
    """

    header_bytes: int = 16_384
    header_timeout: float = 10.0
    keepalive_timeout: float = 5.0
    max_connections: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ConnectionLimits:
        """The limits from ``ATLAS_MAX_HEADER_BYTES``, ``ATLAS_HEADER_TIMEOUT``,
        ``ATLAS_KEEPALIVE_TIMEOUT`` and ``ATLAS_MAX_CONNECTIONS``; the defaults where unset.

        :raises ValueError: naming the variable, for a value that is not a valid limit.
        """
        default = cls()
        header_bytes = _env_int(env, HEADER_LIMIT_ENV, default.header_bytes, "bytes")
        if header_bytes < MIN_HEADER_LIMIT:
            raise ValueError(
                f"{HEADER_LIMIT_ENV} must be at least {MIN_HEADER_LIMIT} bytes, not {header_bytes}"
            )
        return cls(
            header_bytes=header_bytes,
            header_timeout=_env_seconds(env, HEADER_TIMEOUT_ENV, default.header_timeout),
            keepalive_timeout=_env_seconds(env, KEEPALIVE_TIMEOUT_ENV, default.keepalive_timeout),
            max_connections=_env_int(
                env, MAX_CONNECTIONS_ENV, default.max_connections, "connections"
            ),
        )


@attrs.frozen(kw_only=True)
class Settings:
    """What :func:`atlas.server.create_app` builds the service from.

    :param store: the state store, shared by every workspace.
    :param registry: the installed providers.
    :param auth: how callers authenticate (default: not at all, loopback only).
    :param allowed_origins: origins allowed by CORS (default none: CORS closed).
    :param body_limit: the largest request body accepted, in bytes (413 beyond).
    :param max_resources: the most resources a spec sent may have (422 beyond, before any
        validation).
    :param cpu_threads: the worker threads heavy work runs on (:mod:`atlas.server.offload`).
    :param cpu_processes: the worker processes that answer large estimates and plans of new
        infrastructures (0: none, threads do it; used only with the default registry, the
        one a worker process loads).
    :param request_deadline: seconds a request's heavy work may take, waiting for a worker
        included (503 beyond).
    :param provider_factory: builds a provider for one caller (default: the plugin's factory,
        given ``jwt=``).
    :param credential_probe: tells ``/providers`` whether a caller has credentials (default:
        the credential chains atlas knows, read without contacting the cloud).
    :param env: the environment cloud credentials (and a provider's settings, such as
        ``CONTEXT_MANAGER_URL``) are read from, by the default factory and probe (default:
        ``os.environ``).
    :param shared_providers: providers every workspace uses as they are, never closed by a
        request: a sandbox's fake cloud, or a test's emulator.
    :param sandbox: what stands in for the clouds, when serving against sandboxes.
    :param sinks: further event sinks (a webhook), besides the plugins' ``atlas_on_event``.
    :param clock: the time source for the service's own timestamps.
    :param timer: the monotonic clock the lifetimes of pooled providers, and the windows and
        cooldowns of degraded providers, are measured on.
    :param provider_idle: seconds a workspace's provider nobody uses stays open
        (:mod:`atlas.server.providers`).
    :param provider_max_age: seconds a workspace's provider is used for before a new one
        (with a freshly looked-up credential) takes its place.
    :param event_interval: seconds between event delivery passes.
    :param budget_interval: seconds between checks of every workspace's budgets.
    :param watch_interval: how often an event stream reads the store when nothing wakes it.
    :param keepalive: seconds of silence after which an event stream sends a comment.
    :param resume: carry on operations left without a live holder: at start-up, then every
        ``claim_interval`` seconds (:mod:`atlas.server.background`).
    :param claim_interval: seconds between looks for such operations (default: a quarter of
        the store's lease, from half a second to half a minute).
    :param connections: what one connection may cost before it is answered or closed (applied
        by ``atlas serve``, not by the app).
    :param monitoring: who may read ``/metrics``, when a provider counts as degraded, and
        where accrued cost per workspace comes from (:mod:`atlas.server.monitoring`).
    """

    store: StateStore
    registry: ProviderRegistry
    auth: AuthConfig = attrs.field(factory=AuthConfig)
    allowed_origins: tuple[str, ...] = ()
    body_limit: int = DEFAULT_BODY_LIMIT
    max_resources: int = DEFAULT_MAX_RESOURCES
    cpu_threads: int = DEFAULT_CPU_THREADS
    cpu_processes: int = 0
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    provider_factory: CallerProviderFactory | None = None
    credential_probe: CredentialProbe | None = None
    env: Mapping[str, str] | None = None
    shared_providers: Mapping[str, Provider] = attrs.field(factory=dict)
    sandbox: str | None = None
    sinks: tuple[EventSink, ...] = ()
    clock: Callable[[], dt.datetime] = utcnow
    timer: Callable[[], float] = time.monotonic
    provider_idle: float = DEFAULT_PROVIDER_IDLE
    provider_max_age: float = DEFAULT_PROVIDER_MAX_AGE
    event_interval: float = 5.0
    #: Seconds between budget checks (:func:`atlas.server.background.watch_budgets`).
    budget_interval: float = 300.0
    watch_interval: float = 1.0
    keepalive: float = 15.0
    resume: bool = True
    claim_interval: float | None = None
    version: str = __version__
    connections: ConnectionLimits = attrs.field(factory=ConnectionLimits)
    monitoring: Monitoring = attrs.field(factory=Monitoring)


def settings_from_env(
    env: Mapping[str, str], *, store: StateStore, registry: ProviderRegistry, **overrides: Any
) -> Settings:
    """Settings from the environment; ``overrides`` win (``sandbox=``, ``shared_providers=``)."""
    secret = env.get(JWT_SECRET_ENV, "").strip()
    keys_file = env.get(API_KEYS_FILE_ENV, "").strip()
    lifetime = env.get(JWT_MAX_LIFETIME_ENV, "").strip()
    auth = AuthConfig(
        jwt_secret=Secret(secret) if secret else None,
        api_keys=ApiKeyring.load(keys_file) if keys_file else ApiKeyring(),
        audience=env.get(JWT_AUDIENCE_ENV) or None,
        max_lifetime=_seconds(lifetime, JWT_MAX_LIFETIME_ENV) if lifetime else DEFAULT_MAX_LIFETIME,
        allow_default_workspace=_flag(
            env.get(JWT_DEFAULT_WORKSPACE_ENV, ""), JWT_DEFAULT_WORKSPACE_ENV
        ),
    )
    origins = tuple(o.strip() for o in env.get(CORS_ORIGINS_ENV, "").split(",") if o.strip())
    if "*" in origins:
        raise ValueError(f"{CORS_ORIGINS_ENV}: name the origins; '*' is not accepted")
    limit = env.get(BODY_LIMIT_ENV, "").strip()
    sinks: tuple[EventSink, ...] = ()
    if env.get(WEBHOOK_URL_ENV) and env.get(WEBHOOK_SECRET_ENV):
        sinks = (WebhookSink(env[WEBHOOK_URL_ENV], Secret(env[WEBHOOK_SECRET_ENV])),)
    base: dict[str, Any] = {
        "store": store,
        "registry": registry,
        "auth": auth,
        "allowed_origins": origins,
        "body_limit": _positive_int(limit, BODY_LIMIT_ENV) if limit else DEFAULT_BODY_LIMIT,
        "max_resources": _env_int(env, MAX_RESOURCES_ENV, DEFAULT_MAX_RESOURCES, "resources"),
        "cpu_threads": _env_int(env, CPU_THREADS_ENV, DEFAULT_CPU_THREADS, "threads"),
        "cpu_processes": _env_count(env, CPU_PROCESSES_ENV, DEFAULT_CPU_PROCESSES, "processes"),
        "request_deadline": _env_seconds(env, REQUEST_DEADLINE_ENV, DEFAULT_REQUEST_DEADLINE),
        "claim_interval": _env_seconds(env, CLAIM_INTERVAL_ENV, None),
        "sinks": sinks,
        "env": env,
        "connections": ConnectionLimits.from_env(env),
        "monitoring": Monitoring.from_env(env),
    }
    return Settings(**{**base, **overrides})


def _positive_int(raw: str, name: str) -> int:
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number of bytes, not {raw!r}")
    return int(raw)


def _seconds(raw: str, name: str) -> float:
    """Seconds (``86400``) or a duration (``24h``, ``1d12h``)."""
    try:
        if raw.isdigit() and int(raw) > 0:
            return float(raw)
        return float(parse_duration(raw).seconds)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{name} must be a number of seconds or a duration such as 24h, not {raw!r}"
        ) from None


def _flag(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value not in ("", "true", "false", "1", "0"):
        raise ValueError(f"{name} must be true or false, not {raw!r}")
    return value in ("true", "1")


def _env_int(env: Mapping[str, str], name: str, default: int, unit: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number of {unit}, not {raw!r}")
    return int(raw)


def _env_count(env: Mapping[str, str], name: str, default: int, unit: str) -> int:
    """Like :func:`_env_int`, with 0 allowed (none)."""
    raw = env.get(name, "").strip()
    if raw in ("0", "00"):
        return 0
    return _env_int(env, name, default, unit)


_D = TypeVar("_D", float, None)


def _env_seconds(env: Mapping[str, str], name: str, default: _D) -> float | _D:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} must be a positive number of seconds, not {raw!r}")
    return seconds


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_open_bind(host: str, auth: AuthConfig) -> None:
    """Without authentication, only a loopback address will do."""
    if not auth.enabled and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host!r} without authentication: set {JWT_SECRET_ENV} "
            f"or {API_KEYS_FILE_ENV}, or listen on 127.0.0.1"
        )
