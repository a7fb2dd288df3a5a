"""What the GCP and Azure tests share: their plugins installed by entry point (for the CLI),
and the price-generating scripts imported from ``scripts/``."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from atlas.plugins.manager import ENTRY_POINT_GROUP, default_plugins
from atlas.runtime import default_registry
from tests.conftest import REPO

__all__ = ["PLUGINS", "installed", "script"]

#: Entry-point name -> plugin module, as pyproject.toml declares them.
PLUGINS = {"gcp": "atlas_gcp.plugin", "azure": "atlas_azure.plugin"}
_DIST = "atlas_estimate_only_for_tests-0.dist-info"


@contextmanager
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The GCP and Azure plugins found by entry point in this process. An environment
    installed before they existed has no entry points for them: a ``.dist-info`` in ``site``
    adds the missing ones (pluggy loads one plugin per entry-point name, so an installed one
    wins)."""
    present = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    missing = {name: target for name, target in PLUGINS.items() if name not in present}
    if missing:
        dist = site / _DIST
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: atlas-estimate-only-for-tests\nVersion: 0\n"
        )
        points = "".join(f"{name} = {target}\n" for name, target in missing.items())
        (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{points}")
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()
    _forget()
    try:
        yield
    finally:
        _forget()


def _forget() -> None:
    default_plugins.cache_clear()
    default_registry.cache_clear()


def script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module (its helper ``_catalog_gen`` importable beside it)."""
    folder = str(REPO / "scripts")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(
        f"_script_{name}", REPO / "scripts" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
