"""How the service watches itself: who may read ``/metrics``, and when a provider is degraded.

Settings only (the metrics live in :mod:`atlas.server.metrics`, the tracking of providers in
:mod:`atlas.server.degradation`). From the environment: ``ATLAS_METRICS_TOKEN``,
``ATLAS_DEGRADE_AFTER``, ``ATLAS_DEGRADE_WINDOW`` and ``ATLAS_DEGRADE_COOLDOWN``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

import attrs

from atlas.credentials import Secret

__all__ = [
    "METRICS_TOKEN_ENV",
    "MIN_METRICS_TOKEN",
    "AccruedCostSource",
    "Monitoring",
    "WorkspaceCost",
]

METRICS_TOKEN_ENV = "ATLAS_METRICS_TOKEN"  # noqa: S105 - the name of a variable, not a secret
DEGRADE_AFTER_ENV = "ATLAS_DEGRADE_AFTER"
DEGRADE_WINDOW_ENV = "ATLAS_DEGRADE_WINDOW"
DEGRADE_COOLDOWN_ENV = "ATLAS_DEGRADE_COOLDOWN"
#: A scraper's token is typed into a config file once: it can afford to be long.
MIN_METRICS_TOKEN = 16


@attrs.frozen
class WorkspaceCost:
    """What one workspace has accrued this month, in one currency."""

    workspace: str
    currency: str
    amount: Decimal


#: Read at each scrape of ``/metrics``: every workspace's accrued cost this month (the
#: gauge ``atlas_workspace_accrued_cost``); without one, that gauge is not served.
AccruedCostSource = Callable[[], Iterable[WorkspaceCost]]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, not {value!r}")


def _token(_: object, attribute: attrs.Attribute[Secret | None], value: Secret | None) -> None:
    if value is not None and len(value.reveal()) < MIN_METRICS_TOKEN:
        raise ValueError(f"{attribute.name} must be at least {MIN_METRICS_TOKEN} characters")


@attrs.frozen(kw_only=True)
class Monitoring:
    """What ``/metrics`` and provider degradation are built from.

    :param metrics_token: the bearer token ``/metrics`` asks for. Without one, ``/metrics`` is
        served only by a server without authentication (to loopback callers); a server with
        authentication refuses it (403), since no workspace's credential may open numbers
        that count every workspace.
    :param degrade_after: consecutive failed calls to one provider's API (no answer, or a 5xx
        that is not throttling) that mark it degraded...
    :param degrade_window: ...when they all fall within this many seconds.
    :param degrade_cooldown: seconds a degraded provider is left alone before one operation is
        let through to try it (its ``Retry-After``); the first call that succeeds, that one's
        or any other's, clears the mark.
    :param accrued_costs: every workspace's accrued cost this month, read at each scrape.
    """

    metrics_token: Secret | None = attrs.field(default=None, validator=_token)
    degrade_after: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    degrade_window: float = attrs.field(default=60.0, validator=_positive)
    degrade_cooldown: float = attrs.field(default=30.0, validator=_positive)
    accrued_costs: AccruedCostSource | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Monitoring:
        """The settings from the environment; the defaults where a variable is unset.

        :raises ValueError: naming the variable, for a value that will not do.
        """
        default = cls()
        token = env.get(METRICS_TOKEN_ENV, "").strip()
        if token and len(token) < MIN_METRICS_TOKEN:
            raise ValueError(f"{METRICS_TOKEN_ENV} must be at least {MIN_METRICS_TOKEN} characters")
        after = env.get(DEGRADE_AFTER_ENV, "").strip()
        if after and not (after.isascii() and after.isdigit() and int(after) >= 1):
            raise ValueError(
                f"{DEGRADE_AFTER_ENV} must be a whole number of calls, 1 or more, not {after!r}"
            )
        return cls(
            metrics_token=Secret(token) if token else None,
            degrade_after=int(after) if after else default.degrade_after,
            degrade_window=_seconds(env, DEGRADE_WINDOW_ENV, default.degrade_window),
            degrade_cooldown=_seconds(env, DEGRADE_COOLDOWN_ENV, default.degrade_cooldown),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
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
