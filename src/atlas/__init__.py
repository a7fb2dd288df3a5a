"""atlas: declarative cloud infrastructure for Python.

A spec in, a cost before a cent is spent, real resources out. The names below are the public
API; everything else may change without notice. ``tests/atlas/test_exported_api.py`` pins it.
"""

from __future__ import annotations

from atlas.__about__ import __version__
from atlas.cost import Estimate, LineItem, Money, Price, PriceCatalog, ResourceEstimate
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
    DuplicateProviderError,
    DuplicateResourceKindError,
    LockedError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    PriceCatalogError,
    Problem,
    ProviderAPIError,
    ProviderNotFoundError,
    ProviderOperationError,
    RateLimitError,
    RecordNotFoundError,
    RequestTimeoutError,
    ServerError,
    SpecError,
    SpecValidationError,
    StateError,
    StoreSchemaError,
    TransportError,
    WaitTimeoutError,
)
from atlas.facade import AsyncAtlas, Atlas, Drift, InfrastructureView
from atlas.lifecycle.plan import Plan, PlannedChange
from atlas.model import Budget, InfrastructureSpec, ResourceSpec, spec_field
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.records import EventRecord, InfrastructureRecord, OperationRecord, ResourceRecord
from atlas.plugins import get_plugin_manager, hookimpl
from atlas.providers import ProviderInfo, ProviderRegistry, ResourceKind
from atlas.providers.contract import Provider
from atlas.runtime import default_registry, estimate, load_spec

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
    "Drift",
    "DuplicateProviderError",
    "DuplicateResourceKindError",
    "Estimate",
    "EventRecord",
    "InfrastructureRecord",
    "InfrastructureSpec",
    "InfrastructureView",
    "LineItem",
    "LockedError",
    "Money",
    "NotFoundError",
    "OperationRecord",
    "Owner",
    "PermissionDeniedError",
    "Plan",
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
