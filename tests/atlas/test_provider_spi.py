"""The provider SPI, ``atlas.providers``, is exactly this list: what a plugin author may use."""

from __future__ import annotations

import inspect

import atlas.providers

EXPECTED = [
    "AccountStep",
    "ActualCharges",
    "CheckContext",
    "CliCommand",
    "CloudObject",
    "CreateAttempts",
    "CredentialSpec",
    "Faults",
    "FoundResource",
    "HandlerProvider",
    "KindCheck",
    "KindFactory",
    "KindHandler",
    "KindSample",
    "OnCreated",
    "Owner",
    "Pricer",
    "Provider",
    "ProviderConfig",
    "ProviderFactory",
    "ProviderInfo",
    "ProviderRegistry",
    "Purpose",
    "ResourceKind",
    "ResourceState",
    "ResourceStatus",
    "Sandbox",
    "Secret",
    "SharedReads",
    "SpecCheck",
    "StepContext",
    "Timing",
    "ambiguous",
    "create_objects",
    "kind_factory",
    "until_gone",
]


def test_all_is_pinned() -> None:
    assert atlas.providers.__all__ == EXPECTED


def test_every_name_is_importable_and_documented() -> None:
    for name in EXPECTED:
        value = getattr(atlas.providers, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"atlas.providers.{name} has no docstring"


def test_the_handler_provider_leaves_only_the_kind_code_abstract() -> None:
    abstract = atlas.providers.HandlerProvider.__abstractmethods__
    assert abstract == frozenset({"build_handlers"})
    kind = atlas.providers.KindHandler.__abstractmethods__
    assert kind == frozenset(
        {"object_names", "create", "find", "poll", "update", "delete", "discover"}
    )
