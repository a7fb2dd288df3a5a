"""Weak references (a field declared ``weak``): they order creates where no cycle forbids it,
and never make a cycle of their own."""

from __future__ import annotations

from atlas.spec.references import Reference, find_cycles, ordering


def ref(target: str, *, weak: bool = True) -> Reference:
    return Reference("rules[0].groups[0]", "group", target, weak)


def test_a_weak_reference_to_itself_orders_nothing() -> None:
    assert ordering({"a": [ref("a")]}) == {"a": set()}


def test_of_two_weak_references_closing_a_cycle_the_first_in_document_order_is_kept() -> None:
    deps = ordering({"a": [ref("b")], "b": [ref("a")]})
    assert deps == {"a": {"b"}, "b": set()}
    assert find_cycles(deps) == []
    assert ordering({"b": [ref("a")], "a": [ref("b")]}) == {"b": {"a"}, "a": set()}


def test_a_weak_reference_against_a_strong_chain_gives_way() -> None:
    # c -> b -> a strongly; a weakly names c: dropped, it would close a -> c -> b -> a.
    refs = {"a": [ref("c")], "b": [ref("a", weak=False)], "c": [ref("b", weak=False)]}
    assert ordering(refs) == {"a": set(), "b": {"a"}, "c": {"b"}}
    assert ordering(refs, weak=True)["a"] == {"c"}


def test_a_weak_reference_that_closes_no_cycle_orders_like_a_strong_one() -> None:
    assert ordering({"a": [ref("b")], "b": []}) == {"a": {"b"}, "b": set()}
