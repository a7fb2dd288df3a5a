"""Plugins are found through the ``atlas`` entry-point group of installed distributions."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from atlas import ProviderRegistry
from atlas.plugins import DISABLE_AUTOLOAD_ENV, DISABLE_PLUGINS_ENV, Plugins, get_plugin_manager

PLUGIN = """
from atlas import ProviderInfo, hookimpl

@hookimpl
def atlas_add_providers():
    return [ProviderInfo(name="fakecloud", title="Fake Cloud", package="atlas-fakecloud")]
"""


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution, ``atlas-fakecloud``, as importlib.metadata sees one."""
    (tmp_path / "atlas_fakecloud_plugin.py").write_text(PLUGIN)
    info = tmp_path / "atlas_fakecloud-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: atlas-fakecloud\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[atlas]\nfakecloud = atlas_fakecloud_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


def test_installed_plugins_are_discovered(
    fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    registry = ProviderRegistry.from_plugin_manager(get_plugin_manager())
    assert "fakecloud" in registry.names()
    assert "digitalocean" in registry.names()  # the built-in plugin, by the same path


def test_autoload_can_be_turned_off_by_environment(
    fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    assert ProviderRegistry.from_plugin_manager(get_plugin_manager()).names() == ()


def test_explicit_plugins_load_without_autoload(fake_distribution: Path) -> None:
    import atlas_fakecloud_plugin  # type: ignore[import-not-found]

    pm = get_plugin_manager(plugins=[atlas_fakecloud_plugin], autoload=False)
    assert ProviderRegistry.from_plugin_manager(pm).names() == ("fakecloud",)


def test_a_plugin_both_installed_and_explicit_registers_once(fake_distribution: Path) -> None:
    import atlas_fakecloud_plugin

    pm = get_plugin_manager(plugins=[atlas_fakecloud_plugin], autoload=True)
    assert "fakecloud" in ProviderRegistry.from_plugin_manager(pm).names()


def test_one_plugin_can_be_disabled_by_name(
    fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, "fakecloud")
    names = ProviderRegistry.from_plugin_manager(get_plugin_manager()).names()
    assert "fakecloud" not in names
    assert "digitalocean" in names  # only the one named is left out


def test_blocked_overrides_the_environment(
    fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, "fakecloud")
    plugins = Plugins.load(blocked=["digitalocean"])
    assert "fakecloud" in plugins.names()
    assert "digitalocean" not in ProviderRegistry.from_plugins(plugins).names()


def test_the_facade_answers_what_the_hooks_answer(fake_distribution: Path) -> None:
    import atlas_fakecloud_plugin

    plugins = Plugins.load(plugins=[atlas_fakecloud_plugin], autoload=False)
    assert [p.name for p in plugins.providers()] == ["fakecloud"]
    assert plugins.resource_kinds() == []
    assert plugins.cli_commands() == []
    assert plugins.sandbox("fakecloud") is None
    assert not plugins.adjusts_prices()
    assert plugins.event_listeners() == []


def test_a_disabled_provider_is_named_as_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas import ProviderNotFoundError

    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    registry = ProviderRegistry.from_plugins(Plugins.load(blocked=["digitalocean"]))
    with pytest.raises(ProviderNotFoundError, match="'digitalocean' is disabled"):
        registry.get("digitalocean")
