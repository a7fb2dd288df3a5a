"""The pytest plugin of the conformance kit (registered under the ``pytest11`` entry point).

``--atlas-provider=NAME`` names the provider under test. The suite's tests
(:mod:`atlas.testing.suite`) are parametrised over the samples of the provider's sandbox,
which a first sandbox made at collection supplies; every test then gets a fresh sandbox of
its own (:func:`atlas_kit`). Without the option the suite's tests are skipped, and the
plugin does nothing to any other test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# pytest loads this plugin in every run in an environment where atlas is installed: atlas
# itself is imported only when the kit is used (about 0.8 s otherwise, for every pytest run).
if TYPE_CHECKING:
    from atlas.model.cloud import Owner
    from atlas.model.infrastructure import InfrastructureSpec
    from atlas.providers.declarations import KindSample, Sandbox
    from atlas.testing.kit import Kit, Target

__all__ = [
    "atlas_kit",
    "atlas_owner",
    "atlas_sandbox",
    "atlas_spec",
    "atlas_target",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
]

SUITE = Path(__file__).resolve().parent / "suite"
NO_PROVIDER = (
    "the conformance kit runs against a provider: "
    "python -m pytest --pyargs atlas.testing --atlas-provider=NAME"
)
#: Parametrised arguments, each over the samples that qualify.
SAMPLE_ARGUMENTS: dict[str, Callable[[KindSample], bool]] = {
    "atlas_sample": lambda _: True,
    "atlas_counted_sample": lambda s: s.count > 1,
    "atlas_updatable_sample": lambda s: s.update is not None,
}

_TARGET = pytest.StashKey["Target"]()
_PROBE = pytest.StashKey["Sandbox"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("atlas", "atlas provider conformance kit")
    group.addoption(
        "--atlas-provider",
        action="store",
        default=None,
        metavar="NAME",
        help="run atlas's conformance suite against the sandbox of provider NAME",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--atlas-provider``, find the provider and its sandbox now, so that a name
    nobody provides (or a provider without a sandbox) stops the run with one clear error."""
    name = config.getoption("--atlas-provider")
    if name:
        from atlas.testing.kit import Target  # noqa: PLC0415 - only when the kit is used

        target = Target.resolve(str(name))
        config.stash[_TARGET] = target
        config.stash[_PROBE] = target.sandbox()  # for collection: samples, known gaps


def _target(config: pytest.Config) -> Target | None:
    return config.stash.get(_TARGET, None)


def _probe(config: pytest.Config) -> Sandbox:
    """The sandbox made at configuration, for what collection needs to know."""
    return config.stash[_PROBE]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "atlas_importable_sample" in metafunc.fixturenames:
        _importable_samples(metafunc)
    for argument, qualifies in SAMPLE_ARGUMENTS.items():
        if argument not in metafunc.fixturenames:
            continue
        target = _target(metafunc.config)
        if target is None:
            metafunc.parametrize(argument, [None], ids=["no-provider"])
            continue
        samples = [s for s in _probe(metafunc.config).samples if qualifies(s)]
        metafunc.parametrize(argument, samples, ids=[s.type for s in samples])


def _importable_samples(metafunc: pytest.Metafunc) -> None:
    """The samples of importable kinds, when the sandbox can make resources by hand; else one
    ``None`` the import tests skip, saying why."""
    target = _target(metafunc.config)
    if target is None:
        metafunc.parametrize("atlas_importable_sample", [None], ids=["no-provider"])
        return
    probe = _probe(metafunc.config)
    kinds = target.registry.kinds(target.name)
    samples = [s for s in probe.samples if (k := kinds.get(s.type)) is not None and k.importable]
    if probe.unmanaged is None or not samples:
        metafunc.parametrize("atlas_importable_sample", [None], ids=["none-importable"])
        return
    metafunc.parametrize("atlas_importable_sample", samples, ids=[s.type for s in samples])


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: known gaps are checked against all
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    suite = [item for item in items if _in_suite(item)]
    if not suite:
        return
    target = _target(config)
    if target is None:
        for item in suite:
            item.add_marker(pytest.mark.skip(reason=NO_PROVIDER))
        return
    gaps = _probe(config).known_gaps
    unknown = sorted(g for g in gaps if g.partition("[")[0] not in _suite_tests())
    if unknown:
        raise pytest.UsageError(
            f"the {target.name} sandbox lists known gaps for tests the kit does not have: "
            + ", ".join(unknown)
        )
    for item in suite:
        reason = gaps.get(item.name)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"known gap: {reason}", strict=True))


def _suite_tests() -> set[str]:
    """The names of the suite's test functions, whichever of them this run collects."""
    names: set[str] = set()
    for path in SUITE.glob("test_*.py"):
        module = importlib.import_module(f"atlas.testing.suite.{path.stem}")
        names.update(n for n in vars(module) if n.startswith("test_"))
    return names


def _in_suite(item: pytest.Item) -> bool:
    return SUITE in item.path.resolve().parents


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def atlas_target(request: pytest.FixtureRequest) -> Target:
    """The provider under test (``--atlas-provider``)."""
    target = _target(request.config)
    if target is None:
        pytest.skip(NO_PROVIDER)
    return target


@pytest.fixture
def atlas_kit(atlas_target: Target) -> Iterator[Kit]:
    """A fresh sandbox, an owner of this test's own, and an event loop to run them on."""
    import asyncio  # noqa: PLC0415 - not for every pytest run

    from atlas.testing.kit import Kit  # noqa: PLC0415 - only when the kit is used

    with asyncio.Runner() as runner:
        sandbox = atlas_target.sandbox()
        try:
            yield Kit(atlas_target, sandbox, runner)
        finally:
            runner.run(sandbox.provider.aclose())


@pytest.fixture
def atlas_sandbox(atlas_kit: Kit) -> Sandbox:
    """This test's sandbox."""
    return atlas_kit.sandbox


@pytest.fixture
def atlas_owner(atlas_kit: Kit) -> Owner:
    """An owner no other test shares."""
    return atlas_kit.owner


@pytest.fixture
def atlas_spec(atlas_kit: Kit, atlas_sample: KindSample) -> InfrastructureSpec:
    """The sample as a validated spec: its needs, then the subject."""
    return atlas_kit.spec(atlas_sample)
