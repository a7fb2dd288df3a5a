"""The kind factory and field checks every plugin declares its kinds with."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from atlas.exceptions import Problem
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import kind_factory
from atlas.providers.kinds import at_least, between, max_bytes, max_chars, nearest, referenced


@attrs.frozen
class _Spec:
    size: int = 1


def _first(res, ctx) -> Iterator[Problem]:  # type: ignore[no-untyped-def]
    yield Problem("name", "first")


def _own(res, ctx) -> Iterator[Problem]:  # type: ignore[no-untyped-def]
    yield Problem("specifications.size", "own")


def test_the_factory_stamps_the_provider_and_freezes_replace_on() -> None:
    kind = kind_factory("nimbus")("server", _Spec, "A server.", replace_on=["size"])
    assert (kind.provider, kind.type, kind.summary) == ("nimbus", "server", "A server.")
    assert kind.replace_on == frozenset({"size"})
    assert kind.check is None


@pytest.mark.parametrize(
    ("every", "own", "expected"),
    [
        (_first, _own, ["first", "own"]),
        (_first, None, ["first"]),
        (None, _own, ["own"]),
    ],
)
def test_every_runs_before_each_kinds_own_check(every, own, expected) -> None:  # type: ignore[no-untyped-def]
    kind = kind_factory("nimbus", every=every)("server", _Spec, "A server.", check=own)
    assert kind.check is not None
    assert [p.message for p in kind.check(None, None)] == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "choices", "hint"),
    [
        ("nyc", ["nyc1", "nyc3", "fra1"], " (nearest: nyc3, nyc1)"),
        ("FRA1", ["nyc1", "fra1"], " (nearest: fra1)"),
        ("mars", ["nyc1", "fra1"], " (one of: fra1, nyc1)"),
        ("mars", [f"r{i}" for i in range(17)], ""),
        ("mars", [], ""),
    ],
)
def test_nearest_hints_close_choices_or_a_short_list(value, choices, hint) -> None:  # type: ignore[no-untyped-def]
    assert nearest(value, choices) == hint


def test_the_field_checks_say_what_was_wrong() -> None:
    assert between(1, 3)(2) is None
    assert between(1, 3)(4) == "must be from 1 to 3; got 4"
    assert at_least(10)(10) is None
    assert at_least(10)(9) == "must be at least 10; got 9"
    assert max_bytes(3)("abc") is None
    assert max_bytes(3)("abé") == "is 4 bytes long; the limit is 3"
    assert max_bytes(3, who="EC2 allows")("abcd") == "is 4 bytes long; EC2 allows 3"
    assert max_chars(3)("abé") is None
    assert max_chars(2)("abé") == "is 3 characters long; the limit is 2"


def test_referenced_finds_a_resource_of_the_kind_named() -> None:
    spec = InfrastructureSpec(
        name="shop",
        provider="nimbus",
        region="r1",
        resources=(ResourceSpec(type="network", name="net", specifications=None),),
    )
    assert referenced(spec, "net", "network") is spec.resource("net")
    assert referenced(spec, "net", "server") is None
    assert referenced(spec, "nowhere", "network") is None
    assert referenced(spec, None, "network") is None
