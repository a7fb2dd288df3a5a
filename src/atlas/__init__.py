"""atlas: declarative cloud infrastructure for Python.

A spec in, a cost before a cent is spent, real resources out. The names below are the public
API; everything else may change without notice. ``tests/atlas/test_exported_api.py`` pins it.

Start here:
    load_spec(source), estimate(source)    validate, and price offline
    Atlas(), AsyncAtlas()                  plan, apply, destroy, status (same methods;
                                           Atlas blocks, AsyncAtlas awaits)
    Atlas.in_sandbox("digitalocean")       the same against the provider's in-process
                                           emulator, store in memory: no account, no token

Specs: InfrastructureSpec, ResourceSpec, Budget, spec_field.
Costs: Estimate, ResourceEstimate, LineItem, Money, Price, PriceCatalog.
Plans and records: Plan, PlannedChange, Discovery, Drift, InfrastructureView, InfrastructureRecord,
    ResourceRecord, OperationRecord, EventRecord, CloudObject, ResourceState, Owner.
Providers and plugins: Provider, ProviderInfo, ResourceKind, ProviderRegistry,
    default_registry, get_plugin_manager, hookimpl.
Errors (all AtlasError): SpecError, SpecValidationError (its problems are Problem),
    BudgetExceededError, StalePlanError, DataLossError, PlanFileError,
    OperationInterruptedError, CostError,
    CurrencyMismatchError, PriceCatalogError, StateError, LockedError, LockLostError,
    RecordNotFoundError,
    StoreSchemaError, CredentialsError, PluginError,
    DuplicateProviderError, DuplicateResourceKindError, ProviderNotFoundError,
    ProvisioningUnavailableError,
    ProviderOperationError, CapacityError, WaitTimeoutError, ProviderAPIError and its kinds
    AuthenticationError, PermissionDeniedError, NotFoundError, ConflictError,
    BadRequestError, RateLimitError, ServerError; TransportError and its kinds ConnectError,
    RequestTimeoutError.
__version__ is the installed version.

Importing ``atlas`` costs next to nothing: each name is imported from its module on first use
(PEP 562), so ``atlas --help`` and the pytest plugin do not pay for the lifecycle, the store or
the providers. ``dir(atlas)`` and type checkers see every name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atlas._lazy import exports

if TYPE_CHECKING:
    from atlas.__about__ import (
        __version__,
    )
    from atlas.cost import (
        Estimate,
        LineItem,
        Money,
        Price,
        PriceCatalog,
        ResourceEstimate,
    )
    from atlas.exceptions import (
        AtlasError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        CapacityError,
        ConflictError,
        ConnectError,
        CostError,
        CredentialsError,
        CurrencyMismatchError,
        DataLossError,
        DuplicateProviderError,
        DuplicateResourceKindError,
        LockedError,
        LockLostError,
        NotFoundError,
        OperationInterruptedError,
        PermissionDeniedError,
        PlanFileError,
        PluginError,
        PriceCatalogError,
        Problem,
        ProviderAPIError,
        ProviderNotFoundError,
        ProviderOperationError,
        ProvisioningUnavailableError,
        RateLimitError,
        RecordNotFoundError,
        RequestTimeoutError,
        ServerError,
        SpecError,
        SpecValidationError,
        StalePlanError,
        StateError,
        StoreSchemaError,
        TransportError,
        WaitTimeoutError,
    )
    from atlas.facade import (
        AsyncAtlas,
        Atlas,
        Drift,
        InfrastructureView,
    )
    from atlas.lifecycle.discovery import Discovery
    from atlas.lifecycle.plan import (
        Plan,
        PlannedChange,
    )
    from atlas.model import (
        Budget,
        InfrastructureSpec,
        ResourceSpec,
        spec_field,
    )
    from atlas.model.cloud import (
        CloudObject,
        Owner,
        ResourceState,
    )
    from atlas.model.records import (
        EventRecord,
        InfrastructureRecord,
        OperationRecord,
        ResourceRecord,
    )
    from atlas.plugins import (
        get_plugin_manager,
        hookimpl,
    )
    from atlas.providers import (
        ProviderInfo,
        ProviderRegistry,
        ResourceKind,
    )
    from atlas.providers.contract import (
        Provider,
    )
    from atlas.runtime import (
        default_registry,
        estimate,
        load_spec,
    )

__all__ = [
    "AsyncAtlas",
    "Atlas",
    "AtlasError",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BudgetExceededError",
    "CapacityError",
    "CloudObject",
    "ConflictError",
    "ConnectError",
    "CostError",
    "CredentialsError",
    "CurrencyMismatchError",
    "DataLossError",
    "Discovery",
    "Drift",
    "DuplicateProviderError",
    "DuplicateResourceKindError",
    "Estimate",
    "EventRecord",
    "InfrastructureRecord",
    "InfrastructureSpec",
    "InfrastructureView",
    "LineItem",
    "LockLostError",
    "LockedError",
    "Money",
    "NotFoundError",
    "OperationInterruptedError",
    "OperationRecord",
    "Owner",
    "PermissionDeniedError",
    "Plan",
    "PlanFileError",
    "PlannedChange",
    "PluginError",
    "Price",
    "PriceCatalog",
    "PriceCatalogError",
    "Problem",
    "Provider",
    "ProviderAPIError",
    "ProviderInfo",
    "ProviderNotFoundError",
    "ProviderOperationError",
    "ProviderRegistry",
    "ProvisioningUnavailableError",
    "RateLimitError",
    "RecordNotFoundError",
    "RequestTimeoutError",
    "ResourceEstimate",
    "ResourceKind",
    "ResourceRecord",
    "ResourceSpec",
    "ResourceState",
    "ServerError",
    "SpecError",
    "SpecValidationError",
    "StalePlanError",
    "StateError",
    "StoreSchemaError",
    "TransportError",
    "WaitTimeoutError",
    "__version__",
    "default_registry",
    "estimate",
    "get_plugin_manager",
    "hookimpl",
    "load_spec",
    "spec_field",
]

#: Where each public name lives.
_HOMES: dict[str, str] = {
    "__version__": "atlas.__about__",
    "Estimate": "atlas.cost",
    "LineItem": "atlas.cost",
    "Money": "atlas.cost",
    "Price": "atlas.cost",
    "PriceCatalog": "atlas.cost",
    "ResourceEstimate": "atlas.cost",
    "AtlasError": "atlas.exceptions",
    "AuthenticationError": "atlas.exceptions",
    "BadRequestError": "atlas.exceptions",
    "BudgetExceededError": "atlas.exceptions",
    "CapacityError": "atlas.exceptions",
    "ConflictError": "atlas.exceptions",
    "ConnectError": "atlas.exceptions",
    "CostError": "atlas.exceptions",
    "CredentialsError": "atlas.exceptions",
    "CurrencyMismatchError": "atlas.exceptions",
    "DataLossError": "atlas.exceptions",
    "DuplicateProviderError": "atlas.exceptions",
    "DuplicateResourceKindError": "atlas.exceptions",
    "LockLostError": "atlas.exceptions",
    "LockedError": "atlas.exceptions",
    "NotFoundError": "atlas.exceptions",
    "PermissionDeniedError": "atlas.exceptions",
    "PlanFileError": "atlas.exceptions",
    "PluginError": "atlas.exceptions",
    "PriceCatalogError": "atlas.exceptions",
    "Problem": "atlas.exceptions",
    "ProviderAPIError": "atlas.exceptions",
    "ProviderNotFoundError": "atlas.exceptions",
    "ProvisioningUnavailableError": "atlas.exceptions",
    "ProviderOperationError": "atlas.exceptions",
    "RateLimitError": "atlas.exceptions",
    "RecordNotFoundError": "atlas.exceptions",
    "RequestTimeoutError": "atlas.exceptions",
    "ServerError": "atlas.exceptions",
    "SpecError": "atlas.exceptions",
    "SpecValidationError": "atlas.exceptions",
    "StalePlanError": "atlas.exceptions",
    "OperationInterruptedError": "atlas.exceptions",
    "StateError": "atlas.exceptions",
    "StoreSchemaError": "atlas.exceptions",
    "TransportError": "atlas.exceptions",
    "WaitTimeoutError": "atlas.exceptions",
    "AsyncAtlas": "atlas.facade",
    "Atlas": "atlas.facade",
    "Drift": "atlas.facade",
    "InfrastructureView": "atlas.facade",
    "Discovery": "atlas.lifecycle.discovery",
    "Plan": "atlas.lifecycle.plan",
    "PlannedChange": "atlas.lifecycle.plan",
    "Budget": "atlas.model",
    "InfrastructureSpec": "atlas.model",
    "ResourceSpec": "atlas.model",
    "spec_field": "atlas.model",
    "CloudObject": "atlas.model.cloud",
    "Owner": "atlas.model.cloud",
    "ResourceState": "atlas.model.cloud",
    "EventRecord": "atlas.model.records",
    "InfrastructureRecord": "atlas.model.records",
    "OperationRecord": "atlas.model.records",
    "ResourceRecord": "atlas.model.records",
    "get_plugin_manager": "atlas.plugins",
    "hookimpl": "atlas.plugins",
    "ProviderInfo": "atlas.providers",
    "ProviderRegistry": "atlas.providers",
    "ResourceKind": "atlas.providers",
    "Provider": "atlas.providers.contract",
    "default_registry": "atlas.runtime",
    "estimate": "atlas.runtime",
    "load_spec": "atlas.runtime",
}


__getattr__, __dir__ = exports(__name__, globals(), _HOMES, __all__)
