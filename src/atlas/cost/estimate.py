"""Estimating what a spec costs, per resource and line item, before anything exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from atlas.cost.billing import BillingRule, Duration
from atlas.cost.catalog import DEFAULT_HOURLY_PLACES, MAX_HOURLY_PLACES, Price, PriceCatalog
from atlas.cost.money import Money
from atlas.exceptions import CurrencyMismatchError

__all__ = ["CatalogRef", "Estimate", "LineItem", "PriceLookup", "ResourceEstimate"]

#: ``adjust(provider, sku, price)`` returns a replacement price (negotiated rates) or None.
PriceAdjuster = Callable[[str, str, Price], "Price | None"]

_STEPS = {places: Decimal(1).scaleb(-places) for places in range(MAX_HOURLY_PLACES + 1)}


def _step(places: int) -> Decimal:
    """``10 ** -places``, made once for every precision a catalog may have."""
    return _STEPS.get(places) or Decimal(1).scaleb(-places)


@attrs.frozen
class LineItem:
    """One priced component of a resource (a server's base price, its backups, ...).

    ``monthly`` and ``hourly`` are ``None`` when no price is known; ``unpriced`` then says why.
    ``hourly_places`` is the precision of the catalog that priced it (the hourly figure is
    rounded to it). When the estimate is for a run of some duration, ``run_cost`` is what the
    line costs for it (exact; :attr:`billed` rounds it as ``billing``, the rule that priced it,
    says).
    """

    description: str
    sku: str
    quantity: Decimal
    unit: str
    monthly: Money | None
    hourly: Money | None
    source: str | None = None
    unpriced: str | None = None
    hourly_places: int = DEFAULT_HOURLY_PLACES
    billing: BillingRule | None = None
    run_cost: Money | None = None

    @property
    def billed(self) -> Money | None:
        """``run_cost`` rounded as its billing rule says (to the cent), or ``None``."""
        if self.run_cost is None or self.billing is None:
            return None
        return self.run_cost.rounded(self.billing.places)

    def to_dict(self, *, run: bool = False) -> dict[str, Any]:
        """The line as JSON; ``run``: with its cost for the estimate's run and the rule."""
        out: dict[str, Any] = {
            "description": self.description,
            "sku": self.sku,
            "quantity": _number(self.quantity),
            "unit": self.unit,
            "monthly_cost": _money(self.monthly, 2),
            "hourly_cost": _money(self.hourly, self.hourly_places),
            "source": self.source,
            **({"unpriced": self.unpriced} if self.unpriced else {}),
        }
        if run:
            out["run_cost"] = _money(self.billed, 2)
            out["billing"] = self.billing.to_dict() if self.billing else None
        return out


class PriceLookup:
    """What a resource kind's pricer sees: its provider's catalog, with plugin overrides."""

    def __init__(
        self,
        provider: str,
        catalog: PriceCatalog | None,
        adjust: PriceAdjuster | None = None,
        *,
        currency: str | None = None,
        duration: Duration | None = None,
        region: str = "",
    ) -> None:
        self.provider = provider
        #: The spec's region: a provider whose prices differ by region keys its SKUs by it.
        self.region = region
        self.catalog = catalog
        self._adjust = adjust
        #: The run lines are priced for, or ``None`` for monthly and hourly figures only.
        self.duration = duration
        # Without a catalog (nothing can be priced), totals are still in the provider's money.
        self._currency = currency or (catalog.currency if catalog else "USD")
        # A spec of thousands of like resources asks for the same few lines over and over: a
        # line is made once per lookup (an estimate), and like resources share it (lines are
        # immutable). The surcharges are kept with the base line they were made for.
        self._lines: dict[tuple[str, str, int | Decimal], LineItem] = {}
        self._surcharges: dict[tuple[str, str, int], tuple[LineItem, LineItem]] = {}

    def for_run(self, duration: Duration | None) -> PriceLookup:
        """The same lookup, pricing every line for a run of ``duration`` as well."""
        return PriceLookup(
            self.provider,
            self.catalog,
            self._adjust,
            currency=self._currency,
            duration=duration,
            region=self.region,
        )

    @property
    def currency(self) -> str:
        return self.catalog.currency if self.catalog else self._currency

    @property
    def hourly_places(self) -> int:
        """The decimals hourly figures are given to: the catalog's."""
        return self.catalog.hourly_places if self.catalog else DEFAULT_HOURLY_PLACES

    def price(self, sku: str) -> Price | None:
        found = self.catalog.price(sku) if self.catalog else None
        if found is not None and self._adjust is not None:
            found = self._adjust(self.provider, sku, found) or found
        return found

    def line(self, description: str, sku: str, quantity: int | Decimal = 1) -> LineItem:
        """``quantity`` units of ``sku``, or an unpriced line saying what is missing."""
        key = (description, sku, quantity)
        found = self._lines.get(key)
        if found is None:
            found = self._lines[key] = self._line(description, sku, quantity)
        return found

    def _line(self, description: str, sku: str, quantity: int | Decimal) -> LineItem:
        qty, places = Decimal(quantity), self.hourly_places
        price = self.price(sku)
        if price is None:
            why = self._missing(sku)
            return LineItem(description, sku, qty, "", None, None, None, why, places)
        hourly = (price.hourly.amount * qty).quantize(_step(places), ROUND_HALF_UP)
        rule, run = None, None
        if self.duration is not None:
            rule = price.billing or self._default_rule()
            unit = rule.unit_cost(price.monthly.amount, price.hourly.amount, self.duration.seconds)
            run = Money(unit * qty, price.monthly.currency)
        return LineItem(
            description,
            sku,
            qty,
            price.unit,
            price.monthly * qty,
            Money(hourly, price.hourly.currency),
            price.source,
            hourly_places=places,
            billing=rule,
            run_cost=run,
        )

    def surcharge(self, description: str, sku: str, base: LineItem) -> LineItem:
        """A line costing a catalog rate's fraction of ``base`` (backups are 20 % or 30 %)."""
        key = (description, sku, id(base))
        found = self._surcharges.get(key)
        if found is None or found[0] is not base:  # (the base kept: its id is not reused)
            found = self._surcharges[key] = (base, self._surcharge(description, sku, base))
        return found[1]

    def _surcharge(self, description: str, sku: str, base: LineItem) -> LineItem:
        rate = self.catalog.rate(sku) if self.catalog else None
        places = self.hourly_places
        if rate is None or base.monthly is None or base.hourly is None:
            why = self._missing(sku) if rate is None else f"the price of {base.sku} is unknown"
            return LineItem(description, sku, Decimal(1), "", None, None, None, why, places)
        hourly = (base.hourly.amount * rate.fraction).quantize(_step(places), ROUND_HALF_UP)
        # A surcharge runs as long as its base and is metered by the base's rule.
        run = None if base.run_cost is None else base.run_cost * rate.fraction
        return LineItem(
            description,
            sku,
            rate.fraction,
            f"x {base.sku}",
            base.monthly * rate.fraction,
            Money(hourly, base.hourly.currency),
            rate.source,
            hourly_places=places,
            billing=base.billing,
            run_cost=run,
        )

    def _default_rule(self) -> BillingRule:
        # A price that names no rule is billed as the catalog's header says: hourly, capped.
        hours = self.catalog.hours_per_month if self.catalog else 1
        return BillingRule("hourly", "hour", hours)

    def _missing(self, sku: str) -> str:
        if self.catalog is None:
            return f"no price catalog is installed for provider {self.provider!r}"
        return f"{sku!r} is not in the {self.provider} price catalog ({self.catalog.origin})"


@attrs.frozen
class ResourceEstimate:
    """The cost of one resource, as a sum of its line items; hourly figures to
    ``hourly_places`` decimals (its catalog's)."""

    resource_type: str
    resource_name: str
    line_items: tuple[LineItem, ...]
    hourly_places: int = DEFAULT_HOURLY_PLACES

    @property
    def unpriced(self) -> tuple[str, ...]:
        return tuple(f"{li.description}: {li.unpriced}" for li in self.line_items if li.unpriced)

    @property
    def monthly(self) -> Money | None:
        """The monthly cost, or ``None`` when any component has no known price."""
        return _as_money(self._monthly_subtotal())

    @property
    def hourly(self) -> Money | None:
        return _as_money(self._hourly_subtotal())

    def _monthly_subtotal(self) -> tuple[Decimal, str] | None:
        return _subtotal([li.monthly for li in self.line_items])

    def _monthly_known(self) -> tuple[Decimal, str] | None:
        """What the lines with a known monthly price add up to (``None``: none has one)."""
        return _known_subtotal([li.monthly for li in self.line_items])

    @property
    def run_cost(self) -> Money | None:
        """What the run costs, the sum of its lines' billed amounts; ``None`` when any is
        unknown or the estimate is not for a run."""
        return _as_money(self._run_subtotal())

    def _hourly_subtotal(self) -> tuple[Decimal, str] | None:
        return _subtotal([li.hourly for li in self.line_items])

    def _run_subtotal(self) -> tuple[Decimal, str] | None:
        return _subtotal([li.billed for li in self.line_items])

    def to_dict(self, *, run: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resource_type": self.resource_type,
            "resource_name": self.resource_name,
            "estimated_cost": _figure(self._monthly_subtotal(), 2),
            "estimated_hourly_cost": _figure(self._hourly_subtotal(), self.hourly_places),
        }
        if run:
            out["estimated_run_cost"] = _figure(self._run_subtotal(), 2)
        out["line_items"] = [li.to_dict(run=run) for li in self.line_items]
        unpriced = self.unpriced
        if unpriced:
            out["unpriced"] = list(unpriced)
        return out


@attrs.frozen
class CatalogRef:
    """Which catalog priced an estimate, and the date its figures hold from."""

    provider: str
    origin: str
    effective_date: dt.date


@attrs.frozen
class Estimate:
    """What a spec costs: per resource, in total per month and per hour.

    Lines with an unknown price are listed but left out of the totals, and ``complete`` is
    false: an estimate never invents a figure. The totals then add up every line that has a
    price, those of a partly priced resource included (its own figure stays unknown), so they
    are what is known to be spent at least, which a budget is checked against. Monthly figures
    are given to the cent, hourly ones to ``hourly_places`` decimals (the catalog's). With a
    ``duration``, every line is also priced for a run that long under its price's billing rule
    (:attr:`run_cost`).
    """

    currency: str
    breakdown: tuple[ResourceEstimate, ...]
    catalogs: tuple[CatalogRef, ...] = ()
    hourly_places: int = DEFAULT_HOURLY_PLACES
    duration: Duration | None = None

    @property
    def run_cost(self) -> Money | None:
        """What the priced resources cost for the run, or ``None`` without a duration."""
        if self.duration is None:
            return None
        return _total(
            (_known_subtotal([li.billed for li in r.line_items]) for r in self.breakdown),
            self.currency,
        )

    @property
    def monthly(self) -> Money:
        return _total((r._monthly_known() for r in self.breakdown), self.currency)

    @property
    def hourly(self) -> Money:
        return _total(
            (_known_subtotal([li.hourly for li in r.line_items]) for r in self.breakdown),
            self.currency,
        )

    @property
    def complete(self) -> bool:
        return all(r._monthly_subtotal() is not None for r in self.breakdown)

    def monthly_by_resource(self) -> dict[str, Money | None]:
        """Each resource's :attr:`ResourceEstimate.monthly`, by name; like figures share one
        Money (a plan of thousands of like resources needs only a few)."""
        return self.monthly_figures()[1]

    def monthly_figures(self) -> tuple[Money, dict[str, Money | None]]:
        """:attr:`monthly` and :meth:`monthly_by_resource`, from one pass over the resources."""
        made: dict[tuple[Decimal, str], Money] = {}
        out: dict[str, Money | None] = {}
        subtotals = []
        for r in self.breakdown:
            subtotal = r._monthly_subtotal()
            if subtotal is None:
                subtotals.append(r._monthly_known())  # the total keeps its known lines
                out[r.resource_name] = None
                continue
            subtotals.append(subtotal)
            money = made.get(subtotal)
            if money is None:
                money = made[subtotal] = Money(*subtotal)
            out[r.resource_name] = money
        return _total(subtotals, self.currency), out

    def to_dict(self) -> dict[str, Any]:
        monthly = [r._monthly_subtotal() for r in self.breakdown]  # once, for total and complete
        known = [
            m if m is not None else r._monthly_known()
            for m, r in zip(monthly, self.breakdown, strict=True)
        ]
        run = self.duration is not None
        head: dict[str, Any] = {
            "estimated_monthly_cost": _money(_total(known, self.currency), 2),
            "estimated_hourly_cost": _money(self.hourly, self.hourly_places),
        }
        if self.duration is not None:
            head["duration"] = {"text": self.duration.text, "seconds": self.duration.seconds}
            head["estimated_run_cost"] = _money(self.run_cost, 2)
        return {
            **head,
            "currency": self.currency,
            "complete": all(subtotal is not None for subtotal in monthly),
            "breakdown": [r.to_dict(run=run) for r in self.breakdown],
            "catalogs": [
                {
                    "provider": c.provider,
                    "source": c.origin,
                    "effective_date": c.effective_date.isoformat(),
                }
                for c in self.catalogs
            ],
        }


def _as_money(subtotal: tuple[Decimal, str] | None) -> Money | None:
    return None if subtotal is None else Money(*subtotal)


# An estimate's totals add up every line item of every resource: the two functions below do
# it on Decimals, with one Money at the end rather than one per resource. They add exactly what
# Money.total would, in the same order and with the same errors.


def _subtotal(amounts: list[Money | None]) -> tuple[Decimal, str] | None:
    """The sum in the first amount's currency, as an amount and a currency; ``None`` when there
    are none or any is unknown."""
    if len(amounts) == 1:  # the usual resource, of one line: the same sum, sooner
        only = amounts[0]
        if only is None:
            return None
        if type(only) is Money:
            return Decimal(0) + only.amount, only.currency
    known = [a for a in amounts if a is not None]
    if not known or len(known) < len(amounts):
        return None
    currency = known[0].currency
    amount = Decimal(0)
    for money in known:
        if type(money) is not Money or money.currency != currency:
            total = Money.total(known, currency)  # which refuses what cannot be added
            return total.amount, total.currency
        amount += money.amount
    return amount, currency


def _known_subtotal(amounts: list[Money | None]) -> tuple[Decimal, str] | None:
    """:func:`_subtotal` of the known amounts (``None`` when none is known)."""
    known: list[Money | None] = [a for a in amounts if a is not None]
    return _subtotal(known) if known else None


def _total(subtotals: Iterable[tuple[Decimal, str] | None], currency: str) -> Money:
    """``Money.total`` in ``currency`` of the resources' subtotals, leaving out unknown ones."""
    amount = Money.zero(currency).amount  # (which checks the currency, first)
    for subtotal in subtotals:
        if subtotal is None:
            continue
        if subtotal[1] != currency:
            raise CurrencyMismatchError(f"cannot combine {currency} with {subtotal[1]}")
        amount += subtotal[0]
    return Money(amount, currency)


def _money(value: Money | None, places: int) -> float | None:
    # JSON has no decimals; the figure is rounded first, so the float carries no extra digits.
    return None if value is None else _rounded_float(value.amount, places)


def _figure(subtotal: tuple[Decimal, str] | None, places: int) -> float | None:
    """:func:`_money` of a :func:`_subtotal`, without making the Money."""
    return None if subtotal is None else _rounded_float(subtotal[0], places)


def _rounded_float(amount: Decimal, places: int) -> float:
    """What ``float(Money(amount).rounded(places).amount)`` is."""
    return float(amount.quantize(_step(places), ROUND_HALF_UP))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
