"""What a provider's API allows and how it says so: its rate-limit profile.

A profile names the windows the API counts requests in and the headers it reports on them::

    RateLimitProfile(
        windows=(Window(250, 60.0), Window(5000, 3600.0)),   # 250 a minute and 5,000 an hour
        remaining_header="ratelimit-remaining",
        reset_header="ratelimit-reset",
        reset_format=ResetFormat.EPOCH,
    )

An API that publishes no limits and only answers 429 has ``windows=()``; one that sends no
``remaining`` or ``reset`` header leaves those names ``None``. ``Retry-After`` is standard HTTP, so
it is read unless the profile names another header for the same meaning.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import attrs

from atlas.http._headers import int_header, reset_in_seconds, retry_after_seconds
from atlas.http._types import Clock

__all__ = ["RateLimitProfile", "ResetFormat", "Window"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        message = f"rate limits must allow at least one request, got {attribute.name}={value}"
        raise ValueError(message)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


def _lower(value: str) -> str:
    # Plain mappings of headers (not httpx.Headers) are looked up as written: lower-case, as
    # HTTP/2 sends them and httpx normalises them.
    return value.lower()


def _header_name(value: str | None) -> str | None:
    return None if value is None else _lower(value)


@attrs.frozen
class Window:
    """At most ``limit`` requests in any stretch of ``seconds`` (a sliding window)."""

    limit: int = attrs.field(validator=_at_least_one)
    seconds: float = attrs.field(converter=float, validator=_positive)

    def __str__(self) -> str:
        return f"{self.limit} per {self.seconds:g}s"


class ResetFormat(enum.Enum):
    """How a reset header gives the time the window frees up."""

    EPOCH = "epoch"  # Unix seconds
    DELTA = "delta"  # seconds from now, as the IETF RateLimit header fields do


def _windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    return tuple(windows)


def _default_slow_below(profile: RateLimitProfile) -> int:
    # A tenth of the largest budget: the last stretch is where pacing avoids a 429.
    return max((w.limit for w in profile.windows), default=0) // 10


@attrs.frozen
class RateLimitProfile:
    """One API's request limits (per credential) and the headers it reports them in.

    ``slow_below``: once the server says fewer requests than this remain, they are spaced out
    (default: a tenth of the largest window's limit). After a 429, or when none remain, every
    request pauses for what the server advised, kept between ``min_pause`` and ``max_pause``.
    """

    windows: tuple[Window, ...] = attrs.field(converter=_windows)
    remaining_header: str | None = attrs.field(default=None, converter=_header_name)
    reset_header: str | None = attrs.field(default=None, converter=_header_name)
    reset_format: ResetFormat = ResetFormat.DELTA
    retry_after_header: str = attrs.field(default="retry-after", converter=_lower)
    slow_below: int = attrs.field(
        default=attrs.Factory(_default_slow_below, takes_self=True),
        validator=attrs.validators.ge(0),
    )
    min_pause: float = attrs.field(default=1.0, validator=_non_negative)
    max_pause: float = attrs.field(default=60.0, validator=_non_negative)

    @property
    def sustained_interval(self) -> float:
        """Seconds between requests at the rate every window can sustain indefinitely."""
        return max((w.seconds / w.limit for w in self.windows), default=0.0)

    def remaining(self, headers: Mapping[str, str]) -> int | None:
        """How many requests the server says are left, if it says."""
        return None if self.remaining_header is None else int_header(headers, self.remaining_header)

    def retry_after(self, headers: Mapping[str, str], wall_clock: Clock) -> float | None:
        """The advised wait in seconds from now, never negative; ``None`` when not advised."""
        return retry_after_seconds(headers, wall_clock, self.retry_after_header)

    def reset_in(self, headers: Mapping[str, str], wall_clock: Clock) -> float | None:
        """Seconds until the window resets, as the reset header says.

        May be zero or negative: servers have been seen sending a reset already in the past, so
        callers must clamp it and not trust it alone.
        """
        if self.reset_header is None:
            return None
        epoch = self.reset_format is ResetFormat.EPOCH
        return reset_in_seconds(headers, wall_clock, self.reset_header, epoch=epoch)
