"""Reading the rate-limit and retry headers providers send.

Times in headers are wall-clock (an HTTP date, Unix epoch seconds). They are turned into
"seconds from now" against the response's own ``Date`` header when it has one, so a skewed local
clock does not stretch or shrink a wait; the local wall clock is the fallback.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC

from atlas.http._types import Clock

__all__ = ["int_header", "reset_in_seconds", "retry_after_seconds", "server_now"]


def _http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000" parses naive; HTTP dates are always UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header (a count of requests remaining, say); ``None`` when absent or malformed."""
    number = _number(headers.get(name))
    return None if number is None else int(number)


def server_now(headers: Mapping[str, str], wall_clock: Clock) -> float:
    """The current time as the server saw it (its ``Date`` header), else the local wall clock."""
    date = headers.get("date")
    when = _http_date(date) if date else None
    return wall_clock() if when is None else when


def retry_after_seconds(
    headers: Mapping[str, str], wall_clock: Clock, name: str = "retry-after"
) -> float | None:
    """``Retry-After`` (or the header ``name``) as seconds from now, never negative.

    The value is delta-seconds or an HTTP date; ``None`` when absent or unreadable.
    """
    value = headers.get(name)
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        when = _http_date(value)
        if when is None:
            return None
        seconds = when - server_now(headers, wall_clock)
    return max(seconds, 0.0)


def reset_in_seconds(
    headers: Mapping[str, str], wall_clock: Clock, name: str, *, epoch: bool
) -> float | None:
    """The reset header ``name`` as seconds from now: Unix seconds when ``epoch``, else already
    seconds from now. May be zero or negative; callers clamp it."""
    reset = _number(headers.get(name))
    if reset is None:
        return None
    return reset - server_now(headers, wall_clock) if epoch else reset
