"""The resource model: plain attrs classes, no I/O."""

from __future__ import annotations

from atlas.model.fields import FieldInfo, Label, field_info, spec_field
from atlas.model.infrastructure import Budget, InfrastructureSpec, ResourceSpec

__all__ = [
    "Budget",
    "FieldInfo",
    "InfrastructureSpec",
    "Label",
    "ResourceSpec",
    "field_info",
    "spec_field",
]
