"""Spec loading and validation (cattrs): from a dict, JSON or YAML to a typed spec.

Each name is imported on first use (PEP 562): ``atlas.spec.references`` does not pull in YAML,
cattrs and the validator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atlas._lazy import exports

if TYPE_CHECKING:
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

_HOMES = {
    "dump_resource": "atlas.spec.dump",
    "dump_spec": "atlas.spec.dump",
    "load_document": "atlas.spec.load",
    "Reference": "atlas.spec.references",
    "dependencies": "atlas.spec.references",
    "iter_references": "atlas.spec.references",
    "NAME_PATTERN": "atlas.spec.validate",
    "validate_spec": "atlas.spec.validate",
}

__getattr__, __dir__ = exports(__name__, globals(), _HOMES, __all__)
