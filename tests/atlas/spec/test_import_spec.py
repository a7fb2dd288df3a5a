"""``import:`` in a spec: one id or a list, checked, and dumped back canonically."""

from __future__ import annotations

from typing import Any

import pytest

from atlas import SpecValidationError
from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec
from atlas.spec.dump import dump_spec
from atlas.testing import memory


@pytest.fixture(scope="module")
def mem() -> ProviderRegistry:
    return memory.registry()


def doc(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": "found", "provider": "memory", "region": "mem-1", "resources": list(resources)}


def server(name: str, imported: Any, **specs: Any) -> dict[str, Any]:
    return {
        "type": "server",
        "name": name,
        "specifications": {"size": "small", **specs},
        "import": imported,
    }


def problems(registry: ProviderRegistry, document: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(document, registry=registry)
    return [str(p) for p in info.value.problems]


def test_one_id_or_several_and_the_canonical_dump(mem: ProviderRegistry) -> None:
    # An import needs no image: it creates nothing.
    spec = validate_spec(
        doc(server("one", "srv-1"), server("three", ["srv-2", "srv-3", "srv-4"], count=3)),
        registry=mem,
    )
    assert [r.import_ids for r in spec.resources] == [("srv-1",), ("srv-2", "srv-3", "srv-4")]
    dumped = dump_spec(spec)
    assert [r["import"] for r in dumped["resources"]] == ["srv-1", ["srv-2", "srv-3", "srv-4"]]
    assert validate_spec(dumped, registry=mem) == spec
    plain = validate_spec(
        doc({"type": "network", "name": "n", "specifications": {"ip_range": "10.0.0.0/16"}}),
        registry=mem,
    )
    assert "import" not in dump_spec(plain)["resources"][0]


def test_bad_import_values_are_named(mem: ProviderRegistry) -> None:
    found = problems(
        mem,
        doc(
            server("a", 7),
            server("b", ["srv-1", None, "srv-1", " "], count=4),
            server("c", []),
            server("d", "srv-1"),
            server("e", {"id": "x"}),
        ),
    )
    assert found == [
        "resources[0].import: write the provider id in quotes: '7'",
        "resources[1].import[1]: expected a provider id (a string), got null",
        "resources[1].import[2]: 'srv-1' is listed twice",
        "resources[1].import[3]: must not be empty",
        "resources[2].import: must not be empty: give the provider id(s) to import",
        "resources[3].import: 'srv-1' is imported by resources[1] already; "
        "one object belongs to one resource",
        "resources[4].import: expected a provider id (a string), got a mapping ({'id': 'x'})",
    ]


def test_the_number_of_ids_matches_the_count(mem: ProviderRegistry) -> None:
    assert problems(mem, doc(server("a", ["srv-1", "srv-2"], count=3))) == [
        "resources[0].import: 2 id(s) to import for count 3: "
        "an import adopts exactly the objects of the resource"
    ]


def test_a_kind_that_cannot_be_imported(registry: ProviderRegistry) -> None:
    # The installed providers' kinds: a firewall is not importable.
    kinds = {
        t: k for n in registry.names() for t, k in registry.kinds(n).items() if not k.importable
    }
    if not kinds:
        pytest.skip("every installed kind is importable")
    kind = next(iter(kinds.values()))
    importable = sorted(t for t, k in registry.kinds(kind.provider).items() if k.importable)
    document = {
        "name": "x",
        "provider": kind.provider,
        "region": "nowhere",
        "resources": [{"type": kind.type, "name": "r", "import": "1"}],
    }
    expected = (
        f"resources[0].import: {kind.provider} cannot import {kind.type} resources; "
        f"importable: {', '.join(importable) or 'none'}"
    )
    assert expected in problems(registry, document)
