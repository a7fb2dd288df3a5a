"""The HTTP API document shows each installed provider's own example spec, and it is valid."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec
from atlas.testing import memory


@pytest.fixture(scope="module")
def registry() -> ProviderRegistry:
    return memory.registry()


def _examples(document: dict[str, Any]) -> dict[str, Any]:
    body = document["paths"]["/api/v1/infrastructure"]["post"]["requestBody"]
    examples: dict[str, Any] = body["content"]["application/json"]["examples"]
    return examples


def test_an_example_validates_for_creation(registry: ProviderRegistry) -> None:
    example = registry.get("memory").example
    assert example is not None
    spec = validate_spec(dict(example), registry=registry, purpose="create")
    assert spec.provider == "memory"


def test_the_document_shows_the_providers_example(registry: ProviderRegistry) -> None:
    from atlas.server import Settings
    from atlas.server.openapi import build_document
    from atlas.store import SQLiteStore

    document = build_document(Settings(store=SQLiteStore(":memory:"), registry=registry))
    assert _examples(document) == {"memory": {"value": dict(registry.get("memory").example or {})}}
