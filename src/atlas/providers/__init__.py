"""The provider SPI: everything a plugin author needs to add a cloud to atlas.

A plugin declares, offline (:mod:`atlas.providers.declarations`): its :class:`ProviderInfo`
(with the :class:`~atlas.credentials.CredentialSpec` of its credential and a typed
:data:`ProviderFactory`), its :class:`ResourceKind` s, and a :class:`Sandbox` for tests. The live
side is a :class:`Provider` (:mod:`atlas.providers.contract`); most providers subclass
:class:`HandlerProvider` and write one :class:`KindHandler` per kind, leaving the crash-safety
rules to the core (:mod:`atlas.providers.handlers`). The conformance kit, :mod:`atlas.testing`,
checks a provider against all of it. docs/writing-a-provider.md walks through one.
"""

from __future__ import annotations

from atlas.credentials import CredentialSpec, Secret
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.providers.contract import (
    AccountStep,
    FoundResource,
    OnCreated,
    Provider,
    ProviderConfig,
    ProviderFactory,
    StepContext,
)
from atlas.providers.declarations import (
    CheckContext,
    CliCommand,
    Faults,
    KindCheck,
    KindSample,
    Pricer,
    ProviderInfo,
    Purpose,
    ResourceKind,
    Sandbox,
    SpecCheck,
)
from atlas.providers.handlers import (
    CreateAttempts,
    HandlerProvider,
    KindHandler,
    Timing,
    ambiguous,
    create_objects,
    until_gone,
)
from atlas.providers.registry import ProviderRegistry

__all__ = [
    "AccountStep",
    "CheckContext",
    "CliCommand",
    "CloudObject",
    "CreateAttempts",
    "CredentialSpec",
    "Faults",
    "FoundResource",
    "HandlerProvider",
    "KindCheck",
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
    "SpecCheck",
    "StepContext",
    "Timing",
    "ambiguous",
    "create_objects",
    "until_gone",
]
