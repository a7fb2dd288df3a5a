"""The resource model: plain attrs classes, no I/O."""

from __future__ import annotations

from atlas.model.fields import FieldInfo, Label, field_info, spec_field
from atlas.model.infrastructure import Budget, InfrastructureSpec, ResourceSpec
from atlas.model.references import Reference, iter_references

__all__ = [
    "Budget",
    "FieldInfo",
    "InfrastructureSpec",
    "Label",
    "Reference",
    "ResourceSpec",
    "field_info",
    "iter_references",
    "spec_field",
]
