"""The public API of ``atlas`` is exactly this list; changing it is a deliberate act."""

from __future__ import annotations

import inspect

import atlas

EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert atlas.__all__ == EXPECTED


def test_all_is_sorted_and_importable() -> None:
    assert atlas.__all__ == sorted(atlas.__all__)
    for name in atlas.__all__:
        assert getattr(atlas, name) is not None


def test_exported_objects_claim_a_public_home() -> None:
    """Every exported class or function lives in a public atlas module, never a private one."""
    for name in atlas.__all__:
        obj = getattr(atlas, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        module = obj.__module__
        assert module.startswith("atlas"), name
        assert not any(part.startswith("_") for part in module.split(".")), (name, module)


def test_errors_share_one_root() -> None:
    errors = [getattr(atlas, n) for n in atlas.__all__ if n.endswith("Error")]
    assert all(issubclass(e, atlas.AtlasError) for e in errors)
