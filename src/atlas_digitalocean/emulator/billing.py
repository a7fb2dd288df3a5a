"""The account's bill, from the emulator's own record of which droplet ran at what size when.

Droplets are what it charges for: they are the only objects the emulated catalog prices
(``/v2/sizes``). Each droplet's use in a calendar month (UTC) is billed as DigitalOcean bills
droplets since 2026-01-01: per second, at least 60 seconds or $0.01 (whichever is higher), at
most the size's monthly price (672 hours), rounded to the cent per droplet and size. Backups,
volumes, load balancers and databases are not charged here (the emulator has no price for
them). Served at ``GET /v2/customers/my/balance`` and ``GET /v2/customers/my/invoices``;
a month is invoiced once it is over.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import attrs

from atlas_digitalocean.emulator import offerings
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, paginate
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State

ROUTES = Routes()

MINIMUM_SECONDS = 60
MINIMUM_AMOUNT = Decimal("0.01")
_CENT = Decimal("0.01")


@attrs.define
class Usage:
    """One droplet at one size from ``start`` until ``end`` (``None``: still running)."""

    droplet_id: int
    name: str
    size: str
    start: float
    end: float | None = None


def opened(state: State, droplet_id: int, name: str, size: str, when: float) -> None:
    """A droplet starts to be billed at ``size``."""
    state.usage.append(Usage(droplet_id, name, size, when))


def closed(state: State, droplet_id: int, when: float) -> None:
    """The droplet's running use ends (deleted, or resized: a new use follows)."""
    for use in state.usage:
        if use.droplet_id == droplet_id and use.end is None:
            use.end = when


def _month(when: float) -> tuple[int, int]:
    moment = dt.datetime.fromtimestamp(when, dt.UTC)
    return moment.year, moment.month


def _bounds(year: int, month: int) -> tuple[float, float]:
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=calendar.monthrange(year, month)[1])
    return start.timestamp(), end.timestamp()


def month_charges(state: State, year: int, month: int) -> Decimal:
    """What the month's droplets cost, as of now."""
    start, end = _bounds(year, month)
    until = min(end, state.now())
    seconds: dict[tuple[int, str], int] = {}
    for use in state.usage:
        ran = int(min(use.end if use.end is not None else until, until) - max(use.start, start))
        if ran > 0:
            key = (use.droplet_id, use.size)
            seconds[key] = seconds.get(key, 0) + ran
    total = Decimal(0)
    for (_, slug), ran in seconds.items():
        monthly = offerings.SIZES[slug].price_monthly
        cap = offerings.HOURS_PER_MONTH * 3600
        cost = monthly * min(max(ran, MINIMUM_SECONDS), cap) / cap
        total += min(max(cost, MINIMUM_AMOUNT), monthly).quantize(_CENT, ROUND_HALF_UP)
    return total


def _stamp(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@ROUTES("GET", "/v2/customers/my/balance")
def balance(state: State, _call: Call) -> Reply:
    usage = month_charges(state, *_month(state.now()))
    return Reply(
        200,
        {
            # A fresh account pays each invoice when it is issued: nothing is owed before.
            "account_balance": "0.00",
            "month_to_date_usage": f"{usage:.2f}",
            "month_to_date_balance": f"{usage:.2f}",
            "generated_at": _stamp(state.now()),
        },
    )


@ROUTES("GET", "/v2/customers/my/invoices")
def invoices(state: State, call: Call) -> Reply:
    now = _month(state.now())
    issued = [_invoice(state, period) for period in _past_months(state, now)]
    body = paginate(call, "invoices", [i for i in issued if i is not None], dict)
    year, month = now
    body["invoice_preview"] = {
        **_ids(state, f"{year:04d}-{month:02d}"),
        "amount": f"{month_charges(state, year, month):.2f}",
        "invoice_period": f"{year:04d}-{month:02d}",
        "updated_at": _stamp(state.now()),
    }
    return Reply(200, body)


def _past_months(state: State, now: tuple[int, int]) -> list[tuple[int, int]]:
    """Every month from the first use to the one before ``now``, newest first."""
    if not state.usage:
        return []
    year, month = _month(min(u.start for u in state.usage))
    out = []
    while (year, month) < now:
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out[::-1]


def _invoice(state: State, period: tuple[int, int]) -> JSON | None:
    amount = month_charges(state, *period)
    if not amount:
        return None
    text = f"{period[0]:04d}-{period[1]:02d}"
    return {**_ids(state, text), "amount": f"{amount:.2f}", "invoice_period": text}


def _ids(state: State, period: str) -> JSON:
    """An invoice's uuid and number, made the first time its month is shown and kept."""
    found = state.invoice_ids.get(period)
    if found is None:
        number = str(100_000_000 + len(state.invoice_ids))
        found = state.invoice_ids[period] = (state.new_uuid(), number)
    return {"invoice_uuid": found[0], "invoice_id": found[1]}
