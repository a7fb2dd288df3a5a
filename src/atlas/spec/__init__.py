"""Spec loading and validation (cattrs): from a dict, JSON or YAML to a typed spec."""

from __future__ import annotations

from atlas.spec.dump import dump_resource, dump_spec
from atlas.spec.graph import dependencies
from atlas.spec.load import load_document
from atlas.spec.validate import NAME_PATTERN, validate_spec

__all__ = [
    "NAME_PATTERN",
    "dependencies",
    "dump_resource",
    "dump_spec",
    "load_document",
    "validate_spec",
]
