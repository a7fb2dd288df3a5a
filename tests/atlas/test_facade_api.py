"""``Atlas`` declares what ``AsyncAtlas`` offers, signature for signature; the sandbox is public;
``import atlas`` and the CLI's startup import only what they use."""

from __future__ import annotations

import asyncio
import inspect
import json
import pydoc
import re
import subprocess
import sys
from typing import Any

import pytest

import atlas
from atlas import AsyncAtlas, Atlas
from atlas.exceptions import ProviderNotFoundError
from atlas.testing import memory

#: AsyncAtlas's name for a method -> Atlas's (the rest are the same).
RENAMED = {"aclose": "close"}
#: Instance attributes, which Atlas offers as properties.
ATTRIBUTES = ("events", "registry", "sandbox", "store", "workspace")


def _public(cls: type) -> dict[str, Any]:
    return {
        name: value
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and callable(value)
    }


def _signature(obj: Any, *, of_async: bool) -> inspect.Signature:
    """The signature as written, with the async class's name read as the sync one's."""
    sig = inspect.signature(obj)
    if not of_async:
        return sig

    def sync(annotation: Any) -> Any:
        return (
            annotation.replace("AsyncAtlas", "Atlas") if isinstance(annotation, str) else annotation
        )

    params = [p.replace(annotation=sync(p.annotation)) for p in sig.parameters.values()]
    return sig.replace(parameters=params, return_annotation=sync(sig.return_annotation))


ASYNC_METHODS = sorted(_public(AsyncAtlas))


def test_the_methods_are_found() -> None:
    assert {"apply", "plan", "estimate", "destroy", "in_sandbox", "aclose"} <= set(ASYNC_METHODS)


@pytest.mark.parametrize("name", ASYNC_METHODS)
def test_atlas_declares_every_method_of_asyncatlas(name: str) -> None:
    """A method added to AsyncAtlas (or an argument added to one) must be added to Atlas."""
    sync_name = RENAMED.get(name, name)
    assert sync_name in vars(Atlas), f"Atlas lacks {sync_name}() (AsyncAtlas.{name})"
    mine = getattr(AsyncAtlas, name)
    theirs = getattr(Atlas, sync_name)
    assert inspect.iscoroutinefunction(theirs) is False, f"Atlas.{sync_name} must block"
    assert _signature(theirs, of_async=False) == _signature(mine, of_async=True), sync_name
    assert inspect.getdoc(theirs), f"Atlas.{sync_name} has no docstring"
    assert inspect.getdoc(mine), f"AsyncAtlas.{name} has no docstring"


def test_atlas_has_nothing_public_asyncatlas_lacks() -> None:
    extra = set(_public(Atlas)) - {RENAMED.get(n, n) for n in ASYNC_METHODS}
    assert not extra


def test_the_constructors_take_the_same_arguments() -> None:
    assert inspect.signature(Atlas.__init__) == inspect.signature(AsyncAtlas.__init__)


def test_the_instance_attributes_are_properties_of_atlas() -> None:
    a = AsyncAtlas.in_sandbox("memory", registry=memory.registry())
    public = {n for n in vars(a) if not n.startswith("_")} | {"sandbox"}
    assert public == set(ATTRIBUTES)
    for name in ATTRIBUTES:
        assert isinstance(inspect.getattr_static(Atlas, name), property), name
    asyncio.run(a.aclose())


def test_dir_lists_the_methods() -> None:
    listed = dir(atlas.Atlas)
    for name in ("apply", "plan", "estimate", "destroy", "get", "close", "in_sandbox", "store"):
        assert name in listed


def test_help_on_atlas_shows_each_method_with_its_arguments() -> None:
    text = pydoc.render_doc(Atlas, renderer=pydoc.plaintext)
    assert "apply(self, source: 'SpecInput | Plan', *, budget: 'Budget | None' = None" in text
    assert "in_sandbox(provider: 'str', *, workspace: 'str' = 'default'" in text
    assert "Make the infrastructure match the spec" in text
    assert "__getattr__" not in text
    assert len(text.splitlines()) < 250


def test_help_on_the_package_starts_with_a_map_of_it() -> None:
    """pydoc documents every exported class in full after the docstring, so the docstring, on
    the first screen, names every export (grouped) and says where to start."""
    text = pydoc.render_doc(atlas, renderer=pydoc.plaintext)
    head = text[: text.index("PACKAGE CONTENTS")]
    assert "Atlas.in_sandbox(" in head
    assert len(head.splitlines()) < 45
    words = set(re.findall(r"\w+", head))
    assert [name for name in atlas.__all__ if name not in words] == []
    for name in ("class Atlas(", "class AsyncAtlas(", "load_spec(source", "estimate(source"):
        assert name in text, name


# -- the public sandbox --------------------------------------------------------------------

SPEC = {
    "name": "lab",
    "provider": "memory",
    "region": "mem-1",
    "resources": [
        {"type": "network", "name": "lan", "specifications": {"ip_range": "10.30.0.0/16"}},
        {
            "type": "server",
            "name": "app",
            "specifications": {"size": "small", "image": "debian-12", "network": "lan"},
        },
    ],
}


def test_a_sync_sandbox_runs_the_lifecycle() -> None:
    with Atlas.in_sandbox("memory", registry=memory.registry(), workspace="w") as a:
        assert a.sandbox is not None
        assert a.workspace == "w"
        assert [c.action for c in a.plan(SPEC).changes] == ["create", "create"]
        op = a.apply(SPEC)
        assert op.status == "completed", op.error
        assert not a.sandbox.is_empty()
        assert a.get("lab").infrastructure.status == "active"
        assert a.plan(SPEC).empty
        assert a.destroy("lab").status == "completed"
        assert a.sandbox.is_empty()
        assert a.sandbox.requests() > 0


def test_an_async_sandbox_is_fresh_each_time() -> None:
    async def go() -> None:
        registry = memory.registry()
        async with AsyncAtlas.in_sandbox("memory", registry=registry) as first:
            assert (await first.apply(SPEC)).status == "completed"
            async with AsyncAtlas.in_sandbox("memory", registry=registry) as second:
                assert second.sandbox is not None
                assert second.sandbox.is_empty()
                assert second.list() == []
            assert (await first.destroy("lab")).status == "completed"

    asyncio.run(go())


def test_an_atlas_not_in_a_sandbox_has_none() -> None:
    from atlas.store import SQLiteStore

    with Atlas(store=SQLiteStore(":memory:"), registry=memory.registry()) as a:
        assert a.sandbox is None


def test_an_unknown_provider_has_no_sandbox() -> None:
    with pytest.raises(ProviderNotFoundError, match="nimbus"):
        Atlas.in_sandbox("nimbus", registry=memory.registry())


# -- what importing costs ------------------------------------------------------------------

#: Imported by a command that runs the lifecycle or the server, never by the ones below.
HEAVY = ("atlas.facade", "atlas.lifecycle", "atlas.store", "atlas.server", "httpx", "asyncio")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_import_atlas_imports_nothing_it_does_not_use() -> None:
    loaded = _loaded_after("import atlas")
    assert not [m for m in loaded if m.startswith("atlas.") and m != "atlas._lazy"]


def test_the_lazy_names_are_the_exported_ones() -> None:
    assert set(atlas._HOMES) == set(atlas.__all__)
    assert set(atlas.__all__) <= set(dir(atlas))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = atlas.nope  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "code",
    [
        "from atlas.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "import atlas.testing.plugin",
    ],
    ids=["atlas --help", "the pytest plugin"],
)
def test_startup_leaves_the_lifecycle_unimported(code: str) -> None:
    assert _heavy(_loaded_after(code)) == []
