"""Writing a JSON document to a file whole, readable by its owner only: saved plans
(:mod:`atlas.lifecycle.planfile`) and state exports (:mod:`atlas.store.backup`)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_private_json"]


def write_private_json(
    document: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    error: Callable[[str], Exception],
    what: str = "",
) -> Path:
    """Write ``document`` to ``path`` through a temporary file in the same directory, so the
    file is replaced whole or not at all, with mode 0600 (``mkstemp``'s); the path.

    ASCII only (other characters as ``\\u`` escapes): the file reads as the same document
    whichever parser meets it first (a YAML parser refuses some raw control characters).
    A failure to write raises ``error("cannot write {what}{path}: {reason}")``."""
    text = json.dumps(document, indent=2, allow_nan=False)
    target = Path(path)

    def failed(exc: OSError) -> Exception:
        return error(f"cannot write {what}{target}: {exc.strerror or exc}")

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise failed(exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise failed(exc) from exc
        raise
    return target
