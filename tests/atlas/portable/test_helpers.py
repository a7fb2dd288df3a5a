"""atlas.portable.helpers: what translators share, checked on its own (the translators of
GCP, Azure and DigitalOcean use it; their tests check the answers it helps make)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest

from atlas import ResourceKind, spec_field
from atlas.cost import PriceLookup
from atlas.cost.estimate import LineItem
from atlas.model.infrastructure import ResourceSpec
from atlas.portable import (
    Choice,
    DocPricer,
    Offer,
    PerLookup,
    Refusal,
    Region,
    biggest,
    by_price,
    cheapest,
    dollars_text,
    gb_text,
    meeting,
    minimums_text,
    native_doc,
    offer_monthly,
    priced_total,
    reference_fields,
    renamed,
    shape_text,
    translate_each,
    usd_text,
    vcpus_text,
)
from atlas.portable.kinds import ServerNeeds, VolumeNeeds
from tests.atlas.portable.toy import Cloud

REGION = "t-1"
CATALOG = Cloud("toy", (Region(REGION, "eu"),), {REGION: Decimal(1)}).catalog()


def lookup() -> PriceLookup:
    return PriceLookup("toy", CATALOG, region=REGION)


# -- words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("12.345"), "12.34 USD"),  # to the cent, half to even
        (Decimal("12.355"), "12.36 USD"),
        (Decimal(1234), "1234.00 USD"),
        (Decimal(0), "0.00 USD"),
    ],
)
def test_usd_text(amount: Decimal, text: str) -> None:
    assert usd_text(amount) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [(Decimal("1234.5"), "$1,234.50"), (Decimal("0.004"), "$0.00"), (Decimal(7), "$7.00")],
)
def test_dollars_text(amount: Decimal, text: str) -> None:
    assert dollars_text(amount) == text


def test_vcpus_text_is_singular_for_one_only() -> None:
    assert [vcpus_text(n) for n in (1, 2, 96)] == ["1 vCPU", "2 vCPUs", "96 vCPUs"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("4.0"), "4"),
        (Decimal("0.50"), "0.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("3.75"), "3.75"),
        (16, "16"),
    ],
)
def test_gb_text_has_no_trailing_zeros_or_exponent(value: Decimal | int, text: str) -> None:
    assert gb_text(value) == text


def test_minimums_and_shape_text() -> None:
    assert minimums_text(1, Decimal("0.5")) == "at least 1 vCPU and 0.5 GB"
    assert minimums_text(2, Decimal("4.00")) == "at least 2 vCPUs and 4 GB"
    assert shape_text(Offer("s", Decimal(5), 2, Decimal("7.5"))) == "2 vCPUs, 7.5 GB"


# -- line items --------------------------------------------------------------------------------


def test_priced_total_leaves_out_the_unpriced_lines() -> None:
    p = lookup()
    lines = [
        p.line("VM", f"vm:{REGION}:small", 2),  # 2 x 10
        p.line("Disk", f"disk:{REGION}", 50),  # 50 x 0.10
        p.line("Nothing", "no-such-sku"),
    ]
    assert lines[2].monthly is None
    assert priced_total(lines) == Decimal(25)
    assert priced_total([]) == Decimal(0)


# -- native documents --------------------------------------------------------------------------


@attrs.frozen
class _Spec:
    size: str
    count: int = 1
    zone: str | None = None
    tags: tuple[str, ...] = ()


def test_native_doc_holds_what_differs_from_defaults_tuples_as_lists() -> None:
    assert native_doc("vm", "web", _Spec("small")) == {
        "type": "vm",
        "name": "web",
        "specifications": {"size": "small"},
    }
    doc = native_doc("vm", "web", _Spec("small", count=3, tags=("a", "b")))
    assert doc["specifications"] == {"size": "small", "count": 3, "tags": ["a", "b"]}


def _choice(name: str) -> Choice:
    docs = (
        {"type": "vm", "name": name, "specifications": {"size": "small", "tags": ["a"]}},
        {"type": "net", "name": f"{name}-net", "specifications": {"cidr": "10.0.0.0/16"}},
    )
    return Choice(name, "small", "cheapest", docs, ())


def test_renamed_renames_the_first_document_and_shares_nothing_mutable() -> None:
    first = _choice("web1")
    again = renamed(first, "web2")
    assert isinstance(again, Choice)
    assert again.resource == "web2"
    assert [d["name"] for d in again.resources] == ["web2", "web1-net"]
    assert (again.offering, again.reason, again.line_items) == ("small", "cheapest", ())
    again.resources[0]["specifications"]["tags"].append("b")
    assert first.resources[0]["specifications"]["tags"] == ["a"]
    assert first.resources[0]["name"] == "web1"


def test_renamed_refusal_keeps_the_reason() -> None:
    assert renamed(Refusal("a", "no size fits"), "b") == Refusal("b", "no size fits")


def _server(name: str, vcpus: int) -> ResourceSpec:
    return ResourceSpec("server", name, ServerNeeds(vcpus=vcpus, memory_gb=Decimal(2)))


def test_translate_each_answers_alike_resources_once_in_order() -> None:
    asked: list[str] = []

    def answer(res: ResourceSpec) -> Choice | Refusal:
        asked.append(res.name)
        if res.specifications.vcpus > 2:
            return Refusal(res.name, "too big")
        return _choice(res.name)

    resources = [_server("a", 1), _server("b", 4), _server("c", 1), _server("d", 4)]
    translation = translate_each(resources, answer)
    assert asked == ["a", "b"]  # c and d are like a and b
    assert [c.resource for c in translation.choices] == ["a", "c"]
    assert [c.resources[0]["name"] for c in translation.choices] == ["a", "c"]
    assert translation.refusals == (Refusal("b", "too big"), Refusal("d", "too big"))
    assert translation.support == ()


def test_translate_each_tells_kinds_apart_though_their_specifications_are_equal() -> None:
    needs = VolumeNeeds(size_gb=10)
    resources = [ResourceSpec("volume", "v", needs), ResourceSpec("disk", "d", needs)]
    translation = translate_each(resources, lambda res: Refusal(res.name, res.type))
    assert translation.refusals == (Refusal("v", "volume"), Refusal("d", "disk"))


# -- offers ------------------------------------------------------------------------------------

OFFERS = [
    Offer("big", Decimal(40), 4, Decimal(16), "x86_64"),
    Offer("twin-b", Decimal(20), 2, Decimal(4), "x86_64"),
    Offer("twin-a", Decimal(20), 2, Decimal(4), "x86_64"),
    Offer("more-memory", Decimal(20), 2, Decimal(8), "x86_64"),
    Offer("arm", Decimal(16), 2, Decimal(4), "arm64"),
    Offer("unpriced", None, 8, Decimal(32), "x86_64"),
    Offer("fewer-cpus", Decimal(20), 1, Decimal(8), "x86_64"),
]


def test_cheapest_breaks_ties_by_vcpus_memory_then_name_unpriced_last() -> None:
    assert [o.name for o in cheapest(OFFERS)] == [
        "arm",
        "fewer-cpus",
        "twin-a",
        "twin-b",
        "more-memory",
        "big",
        "unpriced",
    ]
    assert min(OFFERS, key=by_price).name == "arm"


def test_biggest_is_most_vcpus_then_memory_then_cheapest() -> None:
    assert biggest(OFFERS).name == "unpriced"
    priced = [o for o in OFFERS if o.monthly is not None]
    assert biggest(priced).name == "big"
    same = [Offer("dear", Decimal(30), 4, Decimal(16)), Offer("cheap", Decimal(20), 4, Decimal(16))]
    assert biggest(same).name == "cheap"
    priced_or_not = [Offer("x", None, 4, Decimal(16)), Offer("y", Decimal(99), 4, Decimal(16))]
    assert biggest(priced_or_not).name == "y"
    with pytest.raises(ValueError, match="empty"):
        biggest([])


def test_meeting_keeps_the_offers_with_the_minimums_in_order() -> None:
    assert [o.name for o in meeting(OFFERS, 2, Decimal(8))] == ["big", "more-memory", "unpriced"]
    assert [o.name for o in meeting(OFFERS, 2, Decimal(4), "arm64")] == ["arm"]
    assert [o.name for o in meeting(OFFERS, 1, Decimal(8), "x86_64")] == [
        "big",
        "more-memory",
        "unpriced",
        "fewer-cpus",
    ]
    assert meeting([Offer("shapeless", Decimal(1))], 1, Decimal("0.5")) == []


def test_offer_monthly_refuses_an_unpriced_offer_by_name() -> None:
    assert offer_monthly(OFFERS[0]) == Decimal(40)
    with pytest.raises(ValueError, match="offer 'unpriced' has no price"):
        offer_monthly(OFFERS[5])


def test_per_lookup_makes_once_per_lookup_and_key_and_forgets_with_the_lookup() -> None:
    memo = PerLookup()
    made: list[str] = []

    def make(what: str) -> list[str]:
        made.append(what)
        return [what, what]

    one, two = lookup(), lookup()
    assert memo(one, ("server", REGION), lambda: make("s")) == ("s", "s")
    assert memo(one, ("server", REGION), lambda: make("again")) == ("s", "s")
    assert memo(one, ("volume", REGION), lambda: make("v")) == ("v", "v")
    assert memo(two, ("server", REGION), lambda: make("s2")) == ("s2", "s2")
    assert made == ["s", "v", "s2"]
    assert memo(one, "empty", list) == ()
    assert memo(one, "empty", lambda: make("never")) == ()  # an empty answer is kept too
    del one
    gc.collect()
    assert len(memo._made) == 1


# -- DocPricer ---------------------------------------------------------------------------------


@attrs.frozen
class _VmSpec:
    size: str = spec_field(doc="Size.")
    count: int = spec_field(default=1, doc="How many.")
    net: str | None = spec_field(default=None, ref="net", doc="Its network.")


@attrs.frozen
class _Rule:
    port: int = spec_field(doc="Port.")


@attrs.frozen
class _LbSpec:
    rules: tuple[_Rule, ...] = spec_field(doc="Rules.")
    vms: tuple[str, ...] = spec_field(factory=tuple, ref="vm", doc="Targets.")


PRICED: list[Any] = []


def _price_vm(spec: _VmSpec, p: PriceLookup) -> Sequence[LineItem]:
    PRICED.append(spec)
    return [p.line(f"VM {spec.size}", f"vm:{p.region}:{spec.size}", spec.count)]


def _price_lb(spec: _LbSpec, p: PriceLookup) -> Sequence[LineItem]:
    PRICED.append(spec)
    return [p.line(f"LB of {len(spec.rules)} rules", f"lb:{p.region}", len(spec.rules))]


KINDS = {
    k.type: k
    for k in (
        ResourceKind("toy", "vm", _VmSpec, "A VM.", price=_price_vm),
        ResourceKind("toy", "lb", _LbSpec, "A load balancer.", price=_price_lb),
        ResourceKind("toy", "tag", _VmSpec, "Free, unpriced."),
    )
}


def _vm(name: str, size: str, net: str | None = None, count: int = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {"size": size, "count": count}
    if net is not None:
        spec["net"] = net
    return {"type": "vm", "name": name, "specifications": spec}


def _lb(name: str, ports: Sequence[int], vms: Sequence[str]) -> dict[str, Any]:
    spec = {"rules": [{"port": port} for port in ports], "vms": list(vms)}
    return {"type": "lb", "name": name, "specifications": spec}


def test_reference_fields_are_the_ref_fields_of_each_kind() -> None:
    assert reference_fields(KINDS.values()) == {
        "vm": frozenset({"net"}),
        "lb": frozenset({"vms"}),
        "tag": frozenset({"net"}),
    }


def test_doc_pricer_gives_each_kind_s_own_lines_in_order() -> None:
    p = lookup()
    docs = [_vm("a", "small", count=2), _lb("lb", [80, 443], ["a"]), _vm("b", "large")]
    lines = DocPricer(p, KINDS)(docs)
    assert lines == (
        *_price_vm(_VmSpec(size="small", count=2), p),
        *_price_lb(_LbSpec(rules=(_Rule(port=80), _Rule(port=443)), vms=("a",)), p),
        *_price_vm(_VmSpec(size="large"), p),
    )
    assert [line.monthly.amount for line in lines if line.monthly] == [20, 24, 40]


def test_doc_pricer_shares_lines_across_documents_alike_but_for_references() -> None:
    pricer = DocPricer(lookup(), KINDS, reference_fields(KINDS.values()))
    PRICED.clear()
    many = [_vm(f"w{i}", "small", net=f"n{i % 3}") for i in range(50)]
    many += [_lb(f"lb{i}", [80], [f"w{i}"]) for i in range(50)]
    assert len(pricer(many)) == 100
    assert len(PRICED) == 2  # one vm, one lb: their references do not change their lines
    pricer([_vm("x", "small", count=2), _lb("y", [80, 443], ["w1"]), _lb("z", [443], [])])
    # another count, more rules, another port: each is priced (nested values are compared)
    assert len(PRICED) == 5
    fresh = DocPricer(lookup(), KINDS)
    fresh([_vm("w0", "small")])
    assert len(PRICED) == 6  # lines are shared within one pricer (one lookup), not across


def test_doc_pricer_refuses_a_type_it_cannot_price_naming_the_document() -> None:
    pricer = DocPricer(lookup(), KINDS)
    with pytest.raises(ValueError, match=r"^x: native type 'disk' is not a kind of this provider"):
        pricer([{"type": "disk", "name": "x", "specifications": {}}])
    with pytest.raises(ValueError, match=r"^t: native type 'tag' has no pricer"):
        pricer([{"type": "tag", "name": "t", "specifications": {"size": "small"}}])
