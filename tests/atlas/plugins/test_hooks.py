"""Every hook in atlas.plugins.hookspecs has a test here, named ``test_hook_<hook name>``."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal

import pytest

import atlas
from atlas import DuplicateProviderError, PluginError, ProviderNotFoundError, ProviderRegistry
from atlas.plugins import Plugins, get_plugin_manager, hookimpl, hookspecs
from atlas.spec import validate_spec
from tests.atlas.plugins.toy import HalfPrice, ToyPlugin


def toy_registry(*extra: object) -> ProviderRegistry:
    pm = get_plugin_manager(plugins=[ToyPlugin(), *extra], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)


def toy_spec(*nodes: dict[str, object]) -> dict[str, object]:
    return {"name": "t", "provider": "toy", "region": "r1", "resources": list(nodes)}


def node(name: str, *peers: str) -> dict[str, object]:
    return {"type": "node", "name": name, "specifications": {"size": "small", "peers": peers}}


HOOKS = sorted(
    n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("atlas_")
)


def test_every_hook_has_a_test() -> None:
    tests = {n for n in globals() if n.startswith("test_hook_")}
    assert {f"test_hook_{h}" for h in HOOKS} <= tests
    assert HOOKS, "no hooks found"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_typed_and_documented(hook: str) -> None:
    func = getattr(hookspecs, hook)
    sig = inspect.signature(func)
    doc = inspect.getdoc(func) or ""
    assert sig.return_annotation is not inspect.Signature.empty, hook
    for name, param in sig.parameters.items():
        assert param.annotation is not inspect.Parameter.empty, (hook, name)
        assert f":param {name}:" in doc, (hook, name)
    assert ":return:" in doc, hook


def test_hook_atlas_add_providers() -> None:
    registry = toy_registry()
    assert registry.names() == ("toy",)
    assert registry.get("toy").title == "Toy Cloud"


def test_hook_atlas_add_resource_kinds() -> None:
    spec = validate_spec(toy_spec(node("a"), node("b", "a")), registry=toy_registry())
    assert [r.type for r in spec.resources] == ["node", "node"]


def test_hook_atlas_add_price_catalogs() -> None:
    est = atlas.estimate(toy_spec(node("a")), registry=toy_registry())
    assert est.monthly == atlas.Money("7.30")
    assert est.catalogs[0].provider == "toy"


def test_hook_atlas_adjust_price() -> None:
    est = atlas.estimate(toy_spec(node("a")), registry=toy_registry(HalfPrice()))
    assert est.monthly == atlas.Money("3.65")
    assert est.hourly == atlas.Money("0.005")
    assert est.breakdown[0].line_items[0].monthly == atlas.Money(Decimal("3.65"))


def test_reference_cycles_are_reported_once_each() -> None:
    doc = toy_spec(node("a", "b"), node("b", "a"), node("c", "c"), node("d", "a"))
    with pytest.raises(atlas.SpecValidationError) as info:
        validate_spec(doc, registry=toy_registry())
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("resources[0]", "reference cycle: a -> b -> a"),
        ("resources[2]", "reference cycle: c -> c"),
    ]


def test_two_plugins_claiming_one_provider_are_refused() -> None:
    with pytest.raises(DuplicateProviderError, match="'toy' is registered twice"):
        toy_registry(ToyPlugin())


def test_a_kind_for_a_missing_provider_is_refused() -> None:
    class Stray:
        @hookimpl
        def atlas_add_resource_kinds(self) -> list[atlas.ResourceKind]:
            return [atlas.ResourceKind("ghost", "thing", object, "?")]

    with pytest.raises(PluginError, match="'ghost', which no plugin provides"):
        toy_registry(Stray())


def test_a_missing_provider_says_what_to_install() -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        toy_registry().get("aws")
    assert "pip install atlas-aws" in str(info.value)
    assert "installed: toy" in str(info.value)
    assert info.value.package == "atlas-aws"


def test_the_manager_module_has_no_import_side_effects() -> None:
    # No provider's package (atlas_*) and no test kit is imported until a manager is made.
    code = (
        "import sys, atlas, atlas.plugins.manager; "
        "print(sorted(m for m in sys.modules if m.startswith(('atlas_', 'atlas.testing'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_misspelt_hook_is_a_plugin_error_not_a_traceback() -> None:
    class Misspelt:
        @hookimpl
        def atlas_add_provider(self) -> list[atlas.ProviderInfo]:  # one letter short
            return []

    with pytest.raises(PluginError, match="is invalid"):
        get_plugin_manager(plugins=[Misspelt()], autoload=False)


def test_hook_atlas_cli_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from atlas.cli import main
    from atlas.providers import CliCommand

    seen: list[list[str]] = []

    def hello(argv: Sequence[str]) -> int:
        seen.append(list(argv))
        return 3

    class Commands:
        @hookimpl
        def atlas_cli_commands(self) -> list[CliCommand]:
            return [CliCommand("hello", "say hello", hello)]

    pm = get_plugin_manager(plugins=[Commands()], autoload=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("atlas.cli.default_plugins", lambda: Plugins(pm))
        assert main(["hello", "--port", "0", "x"]) == 3
        assert seen == [["--port", "0", "x"]]
        with pytest.raises(SystemExit):
            main(["--help"])
        assert "say hello" in capsys.readouterr().out

    class Clash:
        @hookimpl
        def atlas_cli_commands(self) -> list[CliCommand]:
            return [CliCommand("estimate", "mine", hello)]

    clash = get_plugin_manager(plugins=[Clash()], autoload=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("atlas.cli.default_plugins", lambda: Plugins(clash))
        assert main(["estimate", "x"]) == 1


def test_hook_atlas_emulator() -> None:
    from atlas.providers import CliCommand

    class Toy:
        @hookimpl
        def atlas_emulator(self, provider: str) -> CliCommand | None:
            return CliCommand("emulator", "toy", lambda _argv: 7) if provider == "toy" else None

    plugins = Plugins(get_plugin_manager(plugins=[ToyPlugin(), Toy()], autoload=False))
    command = plugins.emulator("toy")
    assert command is not None
    assert command.main([]) == 7
    assert plugins.emulator("other") is None
    assert plugins.emulated() == ["toy"]
    # The shipped plugins answer for their own providers only.
    import atlas_aws.plugin
    import atlas_digitalocean.plugin

    both = Plugins(
        get_plugin_manager(plugins=[atlas_aws.plugin, atlas_digitalocean.plugin], autoload=False)
    )
    assert both.emulated() == ["aws", "digitalocean"]


def test_hook_atlas_sandbox() -> None:
    from atlas.providers import Sandbox

    class Toy:
        @hookimpl
        def atlas_sandbox(self, provider: str) -> Sandbox | None:
            return Sandbox(object(), lambda: True, lambda: 0, "toy") if provider == "toy" else None

    pm = get_plugin_manager(plugins=[Toy()], autoload=False)
    found = pm.hook.atlas_sandbox(provider="toy")
    assert isinstance(found, Sandbox)
    assert found.description == "toy"
    assert pm.hook.atlas_sandbox(provider="other") is None
    # A real plugin's: the memory plugin offers one, empty to begin with (DigitalOcean's:
    # test_lifecycle_on_do.py, with the DigitalOcean tests).
    from atlas.testing import memory

    mem = get_plugin_manager(plugins=[memory.plugin], autoload=False)
    sandbox = mem.hook.atlas_sandbox(provider="memory")
    assert sandbox.is_empty()
    assert sandbox.requests() == 0
    assert mem.hook.atlas_sandbox(provider="toy") is None


async def test_hook_atlas_on_event() -> None:
    from atlas.events import EventDispatcher, new_event
    from atlas.model.records import EventRecord
    from atlas.store import SQLiteStore

    seen: list[EventRecord] = []

    class Listener:
        @hookimpl
        def atlas_on_event(self, event: EventRecord) -> None:
            seen.append(event)

    store = SQLiteStore(":memory:")
    event = new_event(
        "deployment.started",
        workspace="w",
        infrastructure_id="i",
        infrastructure_name="shop",
        operation_id="o",
        cost_change=atlas.Money("6", "USD"),
    )
    store.add_events([event])
    pm = get_plugin_manager(plugins=[Listener()], autoload=False)
    report = await EventDispatcher(store, pm).deliver_pending()
    assert [e.id for e in seen] == [event.id]
    assert report.delivered == (event.id,)
    assert store.pending_events() == []


def test_a_catalog_in_another_currency_than_its_provider_is_refused() -> None:
    from atlas import ProviderInfo
    from tests.atlas.plugins.toy import ToyPlugin

    class EuroToy(ToyPlugin):
        """The toy provider declaring euros while its catalog is in dollars."""

        @hookimpl
        def atlas_add_providers(self) -> list[ProviderInfo]:
            return [ProviderInfo("toy", "Toy Cloud", "atlas-toy", currency="EUR")]

    pm = get_plugin_manager(plugins=[EuroToy()], autoload=False)
    with pytest.raises(PluginError, match="'toy' is in USD, but the provider declares EUR"):
        ProviderRegistry.from_plugin_manager(pm)


def test_hook_atlas_portable_translator() -> None:
    from atlas.cost.estimate import PriceLookup
    from atlas.portable import Offer, PortableTranslator, Region, Translation, TranslationRequest

    class ToyTranslator:
        provider = "toy"

        def regions(self) -> Sequence[Region]:
            return (Region("r1", "eu"),)

        def translate(self, request: TranslationRequest) -> Translation:
            return Translation()

        def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[Offer]:
            return ()

    class Toy:
        @hookimpl
        def atlas_portable_translator(self, provider: str) -> PortableTranslator | None:
            return ToyTranslator() if provider == "toy" else None

    registry = toy_registry(Toy())
    found = registry.portable_translator("toy")
    assert isinstance(found, PortableTranslator)
    assert [r.name for r in found.regions()] == ["r1"]
    assert (
        Plugins(get_plugin_manager(plugins=[Toy()], autoload=False)).portable_translator("other")
        is None
    )
