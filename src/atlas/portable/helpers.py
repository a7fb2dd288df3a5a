"""Helpers for writing a :class:`~atlas.portable.PortableTranslator`.

What the translators of atlas's own plugins share, for a provider author to build on:

- **words for reasons**: :func:`usd_text` (``12.35 USD``), :func:`dollars_text`
  (``$1,234.50``), :func:`vcpus_text`, :func:`gb_text`, :func:`minimums_text`,
  :func:`shape_text`;
- **line items**: :func:`priced_total`, the priced part of a choice's lines;
- **native resource documents**: :func:`native_doc` (from an attrs specification),
  :func:`renamed` (an answer given again for an alike resource) and :func:`translate_each`
  (every resource answered, alike ones once);
- **offers**: :func:`by_price` (the contract's order: cheapest, then smaller, then the name),
  :func:`meeting` (those meeting compute minimums), :func:`cheapest`, :func:`biggest`,
  :func:`offer_monthly`, :class:`PerLookup`, offers made once per price lookup, and
  :class:`DetailedOffer`, an offer that also lists every engine a size runs;
- **pricing documents**: :class:`DocPricer`, native documents priced with their kinds' own
  pricers, so that a choice's lines are what the provider's estimate gives.

None of it is required: a translator keeps the rules of :mod:`atlas.portable.contract`
however it is written.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.fields import field_info
from atlas.model.infrastructure import ResourceSpec
from atlas.portable.contract import Choice, Refusal, Translation

if TYPE_CHECKING:
    from cattrs import Converter

    from atlas.providers.declarations import ResourceKind

__all__ = [
    "DetailedOffer",
    "DocPricer",
    "OfferLike",
    "PerLookup",
    "biggest",
    "by_price",
    "cheapest",
    "dollars_text",
    "gb_text",
    "meeting",
    "minimums_text",
    "native_doc",
    "offer_monthly",
    "priced_total",
    "reference_fields",
    "renamed",
    "shape_text",
    "translate_each",
    "usd_text",
    "vcpus_text",
]


class OfferLike(Protocol):
    """What :func:`by_price`, :func:`meeting`, :func:`cheapest`, :func:`biggest` and
    :func:`shape_text` read of an offer: a :class:`~atlas.portable.Offer`, or a translator's
    own richer class."""

    @property
    def name(self) -> str: ...

    @property
    def monthly(self) -> Decimal | None: ...

    @property
    def vcpus(self) -> int | None: ...

    @property
    def memory_gb(self) -> Decimal | None: ...

    @property
    def arch(self) -> str | None: ...


OfferT = TypeVar("OfferT", bound=OfferLike)
T = TypeVar("T")


@attrs.frozen
class DetailedOffer:
    """An offer with what a choice among sizes also needs, for a translator whose sizes are
    more than the contract's :class:`~atlas.portable.Offer` says: every engine a size runs
    (``"pg:16"``, ``"postgres:15"``), the node counts it takes, its storage range and the unit
    its price is for. ``engine``, ``versions`` and ``max_gb`` are derived, so it answers
    :meth:`~atlas.portable.ListsOfferings.offerings` as an ``Offer`` does."""

    name: str
    monthly: Decimal
    unit: str = "each"
    vcpus: int | None = None
    memory_gb: Decimal | None = None
    arch: str | None = None
    engines: frozenset[str] = frozenset()
    nodes: tuple[int, ...] = ()
    storage_gb: tuple[int, int] | None = None
    disk_gb: int | None = None

    @property
    def engine(self) -> str | None:
        """The one engine the offer runs, or ``None`` when it runs none or several."""
        names = {e.split(":", 1)[0] for e in self.engines}
        return names.pop() if len(names) == 1 else None

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(sorted(e.split(":", 1)[1] for e in self.engines if ":" in e))

    @property
    def max_gb(self) -> int | None:
        return None if self.storage_gb is None else self.storage_gb[1]


# -- words -------------------------------------------------------------------------------------


def usd_text(amount: Decimal) -> str:
    """``amount`` to the cent with the currency code: ``12.345`` → ``"12.34 USD"``."""
    return f"{amount.quantize(Decimal('0.01'))} USD"


def dollars_text(amount: Decimal) -> str:
    """``amount`` to the cent with a dollar sign and thousands: ``1234.5`` → ``"$1,234.50"``."""
    return f"${amount:,.2f}"


def vcpus_text(count: int) -> str:
    """``1`` → ``"1 vCPU"``, ``4`` → ``"4 vCPUs"``."""
    return "1 vCPU" if count == 1 else f"{count} vCPUs"


@functools.lru_cache(maxsize=1024)
def gb_text(value: Decimal | int) -> str:
    """A size without trailing zeros or an exponent: ``4.0`` → ``"4"``, ``0.50`` → ``"0.5"``,
    ``1E+3`` → ``"1000"``."""
    return f"{Decimal(value).normalize():f}"


def minimums_text(vcpus: int, memory_gb: Decimal | int) -> str:
    """``"at least 2 vCPUs and 4 GB"``: the compute minimums of a server or database."""
    return f"at least {vcpus_text(vcpus)} and {gb_text(memory_gb)} GB"


def shape_text(offer: OfferLike) -> str:
    """``"2 vCPUs, 4 GB"``: an offer's vCPUs and memory."""
    return f"{vcpus_text(offer.vcpus or 0)}, {gb_text(offer.memory_gb or 0)} GB"


# -- line items --------------------------------------------------------------------------------


def priced_total(lines: Iterable[LineItem]) -> Decimal:
    """The sum of the monthly amounts of ``lines`` that have one (the unpriced left out; see
    :func:`~atlas.portable.monthly_total` for a sum that is ``None`` then)."""
    return sum((line.monthly.amount for line in lines if line.monthly is not None), Decimal(0))


# -- native resource documents -------------------------------------------------------------


def native_doc(type_: str, name: str, spec: Any) -> dict[str, Any]:
    """The native resource document ``{"type", "name", "specifications"}`` of an attrs
    specification ``spec``, holding the fields that have no default or differ from it (as a
    spec would spell it), tuples as lists."""
    fields = {}
    for a in attrs.fields(type(spec)):
        value = getattr(spec, a.name)
        if a.default is attrs.NOTHING or value != a.default:
            fields[a.name] = list(value) if isinstance(value, tuple) else value
    return {"type": type_, "name": name, "specifications": fields}


def _copied(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a native resource document sharing no list with it (its fields are scalars
    and lists of them, as :func:`native_doc` makes them)."""
    fields = {k: list(v) if isinstance(v, list) else v for k, v in doc["specifications"].items()}
    return {**doc, "specifications": fields}


def renamed(answer: Choice | Refusal, name: str) -> Choice | Refusal:
    """``answer`` given again for an alike resource called ``name``: the same refusal, or the
    same choice with its first native document (the one named like the portable resource)
    renamed, every document copied so that the two answers share nothing mutable."""
    if isinstance(answer, Refusal):
        return Refusal(name, answer.reason)
    docs = [_copied(doc) for doc in answer.resources]
    docs[0]["name"] = name
    return attrs.evolve(answer, resource=name, resources=tuple(docs))


def translate_each(
    resources: Iterable[ResourceSpec], answer: Callable[[ResourceSpec], Choice | Refusal]
) -> Translation:
    """A :class:`~atlas.portable.Translation` of ``answer(resource)`` for every resource, in
    order, resources alike in type and specifications answered once and :func:`renamed` (a
    spec of a thousand servers of one shape is worked out once).

    Only for an ``answer`` that depends on nothing but the resource's type and specifications
    (the resources they name included, not its own name), and that needs no support
    resources.
    """
    choices: list[Choice] = []
    refusals: list[Refusal] = []
    memo: dict[tuple[str, Any], Choice | Refusal] = {}
    for res in resources:
        key = (res.type, res.specifications)
        found = memo.get(key)
        if found is None:
            one = memo[key] = answer(res)
        else:
            one = renamed(found, res.name)
        if isinstance(one, Choice):
            choices.append(one)
        else:
            refusals.append(one)
    return Translation(tuple(choices), tuple(refusals))


# -- offers ------------------------------------------------------------------------------------


def by_price(offer: OfferLike) -> tuple[bool, Decimal, int, Decimal, str]:
    """The contract's order of offers, as a sort key: the cheapest first, a tie to fewer
    vCPUs, then less memory, then the name first in alphabetical order; unpriced offers
    last."""
    monthly = offer.monthly
    return (
        monthly is None,
        Decimal(0) if monthly is None else monthly,
        offer.vcpus or 0,
        offer.memory_gb or Decimal(0),
        offer.name,
    )


def meeting(
    offers: Iterable[OfferT], vcpus: int, memory_gb: Decimal, arch: str = "any"
) -> list[OfferT]:
    """The offers with at least ``vcpus`` and ``memory_gb`` (an offer without them has none),
    of architecture ``arch`` (``"any"``: of every one), in their order."""
    return [
        o
        for o in offers
        if (o.vcpus or 0) >= vcpus and (o.memory_gb or 0) >= memory_gb and arch in ("any", o.arch)
    ]


def cheapest(offers: Iterable[OfferT]) -> list[OfferT]:
    """``offers`` in :func:`by_price` order: the cheapest first."""
    return sorted(offers, key=by_price)


def biggest(offers: Iterable[OfferT]) -> OfferT:
    """The offer of the most vCPUs, then the most memory, then the cheapest (priced before
    unpriced), then the name last in alphabetical order: what a refusal names as the most a
    provider has. ``ValueError`` when ``offers`` is empty."""

    def size(o: OfferT) -> tuple[int, Decimal, bool, Decimal, str]:
        monthly = o.monthly
        return (
            o.vcpus or 0,
            o.memory_gb or Decimal(0),
            monthly is not None,
            Decimal(0) if monthly is None else -monthly,
            o.name,
        )

    return max(offers, key=size)


def offer_monthly(offer: OfferLike) -> Decimal:
    """The month of an offer a translator chose, which must be priced (a cheapest choice is
    made among priced offers); ``ValueError`` naming the offer when it is not."""
    monthly = offer.monthly
    if monthly is None:
        raise ValueError(f"offer {offer.name!r} has no price, so it cannot be the one chosen")
    return monthly


class PerLookup:
    """Values made once per price lookup and key: a translator's offers, listed once per
    :class:`~atlas.portable.TranslationRequest` (each has its own :attr:`prices`) however many
    resources ask. A spec of a thousand servers of a hundred shapes lists the sizes once.

    Keep one instance per translator module; the keys are its own (``("server", region)``).
    The values go when the lookup does.
    """

    def __init__(self) -> None:
        self._made: weakref.WeakKeyDictionary[PriceLookup, dict[Hashable, tuple[Any, ...]]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(
        self, prices: PriceLookup, key: Hashable, make: Callable[[], Iterable[T]]
    ) -> tuple[T, ...]:
        """What ``make()`` gives for ``prices`` and ``key``, made the first time asked."""
        per = self._made.get(prices)
        if per is None:
            per = self._made[prices] = {}
        found = per.get(key)
        if found is None:
            found = per[key] = tuple(make())
        return found


# -- pricing native documents ------------------------------------------------------------------


def reference_fields(kinds: Iterable[ResourceKind]) -> dict[str, frozenset[str]]:
    """For each kind, the fields of its specification that name other resources (``ref``)."""
    return {k.type: frozenset(f.name for f in field_info(k.spec_class) if f.ref) for k in kinds}


@functools.cache
def _converter() -> Converter:
    from atlas.spec.converter import make_converter  # noqa: PLC0415 - only when pricing

    return make_converter()


_SCALARS = frozenset({str, int, bool, float, Decimal, type(None)})


def _key(value: Any) -> Hashable:
    """A document's field as part of a key: a scalar as it is, anything else (lists, nested
    mappings) by its ``repr``, which differs wherever two values do (and is quick to make)."""
    return value if type(value) in _SCALARS else repr(value)


class DocPricer:
    """Prices native resource documents with their kinds' own pricers, so that a choice's
    lines are what the provider's estimate of the translated spec gives (rule 3).

    ``kinds`` maps a native type to its :class:`~atlas.ResourceKind` (every kind a document
    may be of has a pricer); ``refs`` is :func:`reference_fields` of them, made once per module
    if given (else here). A pricer sees one specification and the prices, so what names
    another resource cannot change its lines: documents alike but for those fields (the same
    other fields, in the same order) share their lines, priced once a pricer, as a thousand
    like servers behind a thousand load balancers are.
    """

    def __init__(
        self,
        prices: PriceLookup,
        kinds: Mapping[str, ResourceKind],
        refs: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.prices = prices
        self._kinds = kinds
        self._refs = reference_fields(kinds.values()) if refs is None else refs
        self._lines: dict[tuple[Any, ...], tuple[LineItem, ...]] = {}

    def __call__(self, docs: Iterable[Mapping[str, Any]]) -> tuple[LineItem, ...]:
        """The line items of ``docs``, in order."""
        lines: list[LineItem] = []
        for doc in docs:
            type_ = doc["type"]
            spec = doc["specifications"]
            refs = self._refs.get(type_, frozenset())
            key = (type_, *[(k, _key(v)) for k, v in spec.items() if k not in refs])
            found = self._lines.get(key)
            if found is None:
                found = self._lines[key] = self._price(doc)
            lines.extend(found)
        return tuple(lines)

    def _price(self, doc: Mapping[str, Any]) -> tuple[LineItem, ...]:
        kind = self._kinds.get(doc["type"])
        if kind is None or kind.price is None:
            why = "is not a kind of this provider" if kind is None else "has no pricer"
            raise ValueError(
                f"{doc.get('name')}: native type {doc['type']!r} {why}, so its lines cannot "
                "be what the provider's estimate gives"
            )
        native = _converter().structure(dict(doc["specifications"]), kind.spec_class)
        return tuple(kind.price(native, self.prices))
