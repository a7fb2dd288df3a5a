"""Spec loading and validation (cattrs): from a dict, JSON or YAML to a typed spec."""

from __future__ import annotations

from atlas.spec.dump import dump_resource, dump_spec
from atlas.spec.load import load_document
from atlas.spec.references import Reference, dependencies, iter_references
from atlas.spec.validate import NAME_PATTERN, validate_spec

__all__ = [
    "NAME_PATTERN",
    "Reference",
    "dependencies",
    "dump_resource",
    "dump_spec",
    "iter_references",
    "load_document",
    "validate_spec",
]
