"""The memory plugin installed the way any plugin is: an entry point in the ``atlas`` group.

:mod:`atlas.testing.memory` has no entry point of its own, so that users never see a
``memory`` provider. Code handed a registry (the library, the server's ``Settings``) is given
``memory.registry()``; code that finds its plugins by entry point (the CLI, ``atlas serve`` in a
child process) needs the plugin installed: a ``.dist-info`` directory on the path does it, for
one test, in this process and in the processes it starts.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from atlas.plugins.manager import ENTRY_POINT_GROUP, default_plugins
from atlas.runtime import default_registry
from atlas.testing.memory.provider import default_cloud

__all__ = ["memory_installed"]

_DIST = "atlas_memory_for_tests-0.dist-info"


@contextmanager
def memory_installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Install the memory plugin into ``site`` and put it on the path (and on the children's
    ``PYTHONPATH``); the process-wide registry and memory cloud start afresh, and again after."""
    dist = site / _DIST
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: atlas-memory-for-tests\nVersion: 0\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nmemory = atlas.testing.memory.plugin\n"
    )
    monkeypatch.syspath_prepend(str(site))
    inherited = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (inherited, str(site)))))
    importlib.invalidate_caches()
    _forget_plugins()
    default_cloud.cache_clear()
    try:
        yield site
    finally:
        _forget_plugins()
        default_cloud.cache_clear()


def _forget_plugins() -> None:
    """The plugins this process loaded once, and the registry built from them, start afresh."""
    default_plugins.cache_clear()
    default_registry.cache_clear()
