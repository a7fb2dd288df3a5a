"""Price catalogs: data files that name a source for every figure and the date they hold from.

A catalog is a TOML file::

    [catalog]
    provider = "nimbus"
    currency = "USD"
    effective_date = 2026-11-26     # when the figures were last checked against their sources
    hours_per_month = 672           # the billing cap: a month costs at most this many hours
    hourly_places = 5               # optional: decimals hourly figures are given to (default 5)
    billing = "hourly"              # optional: the rule of prices that name none

    [billing.per-second]            # a billing rule (see atlas.cost.billing)
    metering = "second"             # or "hour": every started hour counts
    minimum_seconds = 60            # optional (default 0)
    minimum_amount = "0.01"         # optional (default "0")
    cap_hours = 672                 # optional: hours_per_month when absent
    source = "billing"
    as_of = 2026-01-01              # the date the rule holds from

    [sources.billing]               # every price and rate names one of these
    title = "..."
    url = "https://..."

    [prices."server:small-1gb"]     # a SKU: "<family>:<variant>"
    monthly = "6.00"                # strings, so no figure ever passes through a float
    hourly = "0.00893"              # optional: monthly / hours_per_month when absent
    unit = "server"
    source = "billing"
    billing = "per-second"          # optional: a key under [billing], else the catalog's

    [rates."server-backups:weekly"] # a fraction of another line's price
    fraction = "0.20"
    source = "backups"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from atlas.cost.billing import BillingRule
from atlas.cost.money import Money
from atlas.exceptions import PriceCatalogError

__all__ = ["DEFAULT_HOURLY_PLACES", "MAX_HOURLY_PLACES", "Price", "PriceCatalog", "Rate", "Source"]

#: Decimals of hourly figures when a catalog does not say. An hour is about a seven-hundredth
#: of a month, so three places more than a month's cents keep an hourly figure as precise
#: ($6 a month is $0.00893 an hour).
DEFAULT_HOURLY_PLACES = 5
#: Derived hourly prices are kept to this many places; a catalog cannot ask for more.
MAX_HOURLY_PLACES = 10


@attrs.frozen
class Source:
    """Where figures come from."""

    key: str
    title: str
    url: str = ""
    note: str = ""


@attrs.frozen
class Price:
    """The price of one unit of a SKU, per month (the billing cap) and per hour, and the rule
    that meters it over time (``None``: hourly up to the catalog's ``hours_per_month``)."""

    sku: str
    monthly: Money
    hourly: Money
    unit: str
    source: str
    hourly_derived: bool = False
    billing: BillingRule | None = None


@attrs.frozen
class Rate:
    """A surcharge that is a fraction of another price (backups: 20 % of the server's)."""

    sku: str
    fraction: Decimal
    source: str


def _hourly_from_monthly(monthly: Money, hours: int) -> Money:
    # Kept to ten places: a line of 100 GiB at $0.10 must come to 10 / 672, not 100 x 0.00015.
    # Line items round to the catalog's hourly_places once, at the end.
    step = Decimal(1).scaleb(-MAX_HOURLY_PLACES)
    return Money((monthly.amount / hours).quantize(step, ROUND_HALF_UP), monthly.currency)


@attrs.frozen
class PriceCatalog:
    """Prices and rates for one provider, with their sources and effective date.

    ``hourly_places`` is how many decimals the provider gives hourly figures to: line items
    and estimates round hourly amounts to it (monthly ones to the cent).
    """

    provider: str
    currency: str
    effective_date: dt.date
    hours_per_month: int
    sources: Mapping[str, Source]
    prices: Mapping[str, Price]
    rates: Mapping[str, Rate] = attrs.field(factory=dict)
    origin: str = ""
    hourly_places: int = attrs.field(
        default=DEFAULT_HOURLY_PLACES,
        validator=[attrs.validators.ge(0), attrs.validators.le(MAX_HOURLY_PLACES)],
    )

    def price(self, sku: str) -> Price | None:
        return self.prices.get(sku)

    def rate(self, sku: str) -> Rate | None:
        return self.rates.get(sku)

    def variants(self, family: str) -> tuple[str, ...]:
        """The variants priced for a SKU family: ``variants("server")`` gives its sizes."""
        prefix = family + ":"
        return tuple(sorted(s[len(prefix) :] for s in self.prices if s.startswith(prefix)))

    def with_prices(self, prices: Iterable[Price], source: Source) -> PriceCatalog:
        """A copy where ``prices`` replace or add entries, all credited to ``source``."""
        merged = dict(self.prices)
        for p in prices:
            merged[p.sku] = attrs.evolve(p, source=source.key)
        return attrs.evolve(self, prices=merged, sources={**self.sources, source.key: source})

    @classmethod
    def from_toml(cls, text: str, *, origin: str = "<string>") -> PriceCatalog:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PriceCatalogError(f"{origin}: not valid TOML: {exc}") from exc
        return _parse(data, origin)

    @classmethod
    def from_path(cls, path: Path) -> PriceCatalog:
        return cls.from_toml(path.read_text(encoding="utf-8"), origin=str(path))

    @classmethod
    def from_package(cls, package: str, name: str) -> PriceCatalog:
        """Load a catalog shipped as package data (``importlib.resources``)."""
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        return cls.from_toml(text, origin=f"{package}/{name}")


def _parse(data: Mapping[str, Any], origin: str) -> PriceCatalog:
    head = _table(data, "catalog", origin)
    currency = _str(head, "currency", f"{origin} [catalog]")
    hours = head.get("hours_per_month")
    if not isinstance(hours, int) or isinstance(hours, bool) or hours <= 0:
        raise PriceCatalogError(f"{origin} [catalog]: hours_per_month must be a positive integer")
    date = head.get("effective_date")
    if not isinstance(date, dt.date):
        raise PriceCatalogError(f"{origin} [catalog]: effective_date must be a TOML date")
    sources = {
        key: Source(
            key, _str(v, "title", f"{origin} [sources.{key}]"), v.get("url", ""), v.get("note", "")
        )
        for key, v in _table(data, "sources", origin).items()
    }
    rules = {
        key: _rule(key, v, hours, sources, f"{origin} [billing.{key}]")
        for key, v in data.get("billing", {}).items()
    }
    default_rule = _rule_ref(head, rules, f"{origin} [catalog]")
    prices = {
        sku: attrs.evolve(
            _price(sku=sku, v=v, currency=currency, hours=hours, sources=sources, origin=origin),
            billing=_rule_ref(v, rules, f"{origin} [prices.{sku}]") or default_rule,
        )
        for sku, v in data.get("prices", {}).items()
    }
    rates = {
        sku: Rate(
            sku,
            _decimal(v, "fraction", f"{origin} [rates.{sku}]"),
            _source(v, sources, f"{origin} [rates.{sku}]"),
        )
        for sku, v in data.get("rates", {}).items()
    }
    return PriceCatalog(
        provider=_str(head, "provider", f"{origin} [catalog]"),
        currency=currency,
        effective_date=date,
        hours_per_month=hours,
        sources=sources,
        prices=prices,
        rates=rates,
        origin=origin,
        hourly_places=_hourly_places(head, f"{origin} [catalog]"),
    )


def _price(
    *,
    sku: str,
    v: Mapping[str, Any],
    currency: str,
    hours: int,
    sources: Mapping[str, Source],
    origin: str,
) -> Price:
    where = f"{origin} [prices.{sku}]"
    monthly = Money(_decimal(v, "monthly", where), currency)
    derived = "hourly" not in v
    hourly = (
        _hourly_from_monthly(monthly, hours)
        if derived
        else Money(_decimal(v, "hourly", where), currency)
    )
    return Price(
        sku,
        monthly,
        hourly,
        _str(v, "unit", where),
        _source(v, sources, where),
        hourly_derived=derived,
    )


def _rule_ref(
    v: Mapping[str, Any], rules: Mapping[str, BillingRule], where: str
) -> BillingRule | None:
    if "billing" not in v:
        return None
    key = _str(v, "billing", where)
    if key not in rules:
        raise PriceCatalogError(f"{where}: billing {key!r} is not defined under [billing]")
    return rules[key]


def _rule(
    key: str, v: Mapping[str, Any], hours: int, sources: Mapping[str, Source], where: str
) -> BillingRule:
    metering = v.get("metering")
    if metering not in ("second", "hour"):
        raise PriceCatalogError(f'{where}: metering must be "second" or "hour"')
    ints = {}
    for name, default in (("cap_hours", hours), ("minimum_seconds", 0)):
        value = v.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PriceCatalogError(f"{where}: {name} must be a non-negative integer")
        ints[name] = value
    if ints["cap_hours"] == 0:
        raise PriceCatalogError(f"{where}: cap_hours must be a positive integer")
    as_of = v.get("as_of")
    if not isinstance(as_of, dt.date):
        raise PriceCatalogError(f"{where}: as_of must be a TOML date")
    minimum = _decimal(v, "minimum_amount", where) if "minimum_amount" in v else Decimal(0)
    return BillingRule(
        key,
        metering,
        ints["cap_hours"],
        ints["minimum_seconds"],
        minimum,
        source=_source(v, sources, where),
        as_of=as_of,
        note=v.get("note", ""),
    )


def _hourly_places(head: Mapping[str, Any], where: str) -> int:
    places = head.get("hourly_places", DEFAULT_HOURLY_PLACES)
    if not isinstance(places, int) or isinstance(places, bool):
        raise PriceCatalogError(f"{where}: hourly_places must be an integer")
    if not 0 <= places <= MAX_HOURLY_PLACES:
        raise PriceCatalogError(f"{where}: hourly_places must be between 0 and {MAX_HOURLY_PLACES}")
    return places


def _table(data: Mapping[str, Any], key: str, origin: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PriceCatalogError(f"{origin}: missing table [{key}]")
    return value


def _str(v: Mapping[str, Any], key: str, where: str) -> str:
    value = v.get(key)
    if not isinstance(value, str) or not value:
        raise PriceCatalogError(f"{where}: {key} must be a non-empty string")
    return value


def _decimal(v: Mapping[str, Any], key: str, where: str) -> Decimal:
    value = v.get(key)
    if not isinstance(value, str):
        raise PriceCatalogError(f'{where}: {key} must be a string such as "6.00" (not a float)')
    try:
        result = Decimal(value)
    except InvalidOperation as exc:
        raise PriceCatalogError(f"{where}: {key} {value!r} is not a number") from exc
    if result < 0:
        raise PriceCatalogError(f"{where}: {key} must not be negative")
    return result


def _source(v: Mapping[str, Any], sources: Mapping[str, Source], where: str) -> str:
    key = _str(v, "source", where)
    if key not in sources:
        raise PriceCatalogError(f"{where}: source {key!r} is not defined under [sources]")
    return key
