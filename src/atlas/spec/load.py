"""Reading a spec document from a mapping, JSON or YAML text, or a file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from atlas.exceptions import Problem, SpecError, SpecValidationError

__all__ = ["load_document"]


def load_document(source: object) -> Any:
    """Read a spec document: a mapping as is, JSON or YAML text, or a ``.json``/``.yaml`` file."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, os.PathLike):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read spec file {path}: {exc.strerror or exc}") from exc
        return _parse_text(text, path.suffix.lower() == ".json")
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        return _parse_text(source, source.lstrip().startswith(("{", "[")))
    return source  # any other value: validation says what a spec must be


def _parse_text(text: str, is_json: bool) -> Any:
    if is_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise SpecValidationError(
                [Problem("", f"not valid JSON ({where}): {exc.msg}")]
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecValidationError([Problem("", f"not valid YAML{where}: {reason}")]) from exc
