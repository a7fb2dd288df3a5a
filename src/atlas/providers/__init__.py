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

from typing import TYPE_CHECKING

from atlas._lazy import exports

# Imported on first use (PEP 562): the registry and the declarations do not pull in the
# handlers (asyncio) or the credential chain's HTTP client.
if TYPE_CHECKING:
    from atlas.credentials import CredentialSpec, Secret
    from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
    from atlas.providers.contract import (
        AccountStep,
        ActualCharges,
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
    from atlas.providers.kinds import KindFactory, kind_factory
    from atlas.providers.registry import ProviderRegistry
    from atlas.providers.shared import SharedReads

__all__ = [
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

_HOMES: dict[str, str] = {
    "CredentialSpec": "atlas.credentials",
    "Secret": "atlas.credentials",
    "CloudObject": "atlas.model.cloud",
    "Owner": "atlas.model.cloud",
    "ResourceState": "atlas.model.cloud",
    "ResourceStatus": "atlas.model.cloud",
    "AccountStep": "atlas.providers.contract",
    "ActualCharges": "atlas.providers.contract",
    "FoundResource": "atlas.providers.contract",
    "OnCreated": "atlas.providers.contract",
    "Provider": "atlas.providers.contract",
    "ProviderConfig": "atlas.providers.contract",
    "ProviderFactory": "atlas.providers.contract",
    "StepContext": "atlas.providers.contract",
    "CheckContext": "atlas.providers.declarations",
    "CliCommand": "atlas.providers.declarations",
    "Faults": "atlas.providers.declarations",
    "KindCheck": "atlas.providers.declarations",
    "KindSample": "atlas.providers.declarations",
    "Pricer": "atlas.providers.declarations",
    "ProviderInfo": "atlas.providers.declarations",
    "Purpose": "atlas.providers.declarations",
    "ResourceKind": "atlas.providers.declarations",
    "Sandbox": "atlas.providers.declarations",
    "SpecCheck": "atlas.providers.declarations",
    "CreateAttempts": "atlas.providers.handlers",
    "HandlerProvider": "atlas.providers.handlers",
    "KindHandler": "atlas.providers.handlers",
    "Timing": "atlas.providers.handlers",
    "ambiguous": "atlas.providers.handlers",
    "create_objects": "atlas.providers.handlers",
    "until_gone": "atlas.providers.handlers",
    "KindFactory": "atlas.providers.kinds",
    "kind_factory": "atlas.providers.kinds",
    "ProviderRegistry": "atlas.providers.registry",
    "SharedReads": "atlas.providers.shared",
}

__getattr__, __dir__ = exports(__name__, globals(), _HOMES, __all__)
