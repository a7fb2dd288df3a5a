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
    CapacityError,
    ConflictError,
    ConnectError,
    CostError,
    CredentialsError,
    CurrencyMismatchError,
    DuplicateProviderError,
    DuplicateResourceKindError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    PriceCatalogError,
    Problem,
    ProviderAPIError,
    ProviderNotFoundError,
    ProviderOperationError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    SpecError,
    SpecValidationError,
    TransportError,
    WaitTimeoutError,
)
from atlas.model import Budget, InfrastructureSpec, ResourceSpec, spec_field
from atlas.model.state import CloudObject, Owner, ResourceState
from atlas.plugins import get_plugin_manager, hookimpl
from atlas.providers import ProviderInfo, ProviderRegistry, ResourceKind
from atlas.providers.live import Provider
from atlas.runtime import default_registry, estimate, load_spec

__all__ = [
    "AtlasError",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "CapacityError",
    "CloudObject",
    "ConflictError",
    "ConnectError",
    "CostError",
    "CredentialsError",
    "CurrencyMismatchError",
    "DuplicateProviderError",
    "DuplicateResourceKindError",
    "Estimate",
    "InfrastructureSpec",
    "LineItem",
    "Money",
    "NotFoundError",
    "Owner",
    "PermissionDeniedError",
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
    "RequestTimeoutError",
    "ResourceEstimate",
    "ResourceKind",
    "ResourceSpec",
    "ResourceState",
    "ServerError",
    "SpecError",
    "SpecValidationError",
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
