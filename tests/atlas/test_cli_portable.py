"""``atlas plan`` / ``atlas apply`` of a ``provider: any`` spec: the placement shown, recorded,
kept, and re-placed with ``--replace-placement``; ``--sandbox`` on the chosen provider.

The memory provider with a toy translator (:mod:`tests.atlas.portable.memory_toy`) and the
toy cloud ``alpha`` (estimate-only); the end-to-end test on DigitalOcean and AWS runs once
their translators are installed.
"""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from atlas.cli import main
from atlas.providers.registry import ProviderRegistry
from atlas.testing.memory.provider import default_cloud
from tests.atlas.portable.memory_toy import MemoryTranslator, memory_registry
from tests.atlas.portable.test_placement_plan import ALPHA, CHEAP_ALPHA, spec
from tests.atlas.portable.toy import ToyClouds
from tests.atlas.test_cli import _help


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ok(*argv: str) -> str:
    code, out, err = run(*argv)
    assert (code, err) == (0, ""), out + err
    return out


class Installed:
    """What the command line finds installed: memory (with its translator) and alpha."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.translator = MemoryTranslator()
        self.use(ALPHA)

    def use(self, alpha: Any) -> None:
        registry = memory_registry(self.translator, ToyClouds(clouds=(alpha,), live=True))
        self.registry = registry
        self.monkeypatch.setattr("atlas.runtime.default_registry", lambda: registry)
        self.monkeypatch.setattr("atlas.facade.default_registry", lambda: registry)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Installed]:
    monkeypatch.setenv("ATLAS_MEMORY_TOKEN", "mem_for_tests")
    default_cloud.cache_clear()
    yield Installed(monkeypatch)
    default_cloud.cache_clear()


def write(tmp_path: Path, doc: dict[str, Any], name: str = "spec.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_plan_and_apply_have_replace_placement_in_their_help() -> None:
    for command in ("plan", "apply"):
        assert "--replace-placement" in _help([command])


def test_apply_sandbox_places_on_the_chosen_provider_and_plans_nothing_after(
    tmp_path: Path, installed: Installed
) -> None:
    out = ok("apply", "--sandbox", write(tmp_path, spec()))
    assert "sandbox: an in-process memory cloud" in out  # the chosen provider's sandbox
    assert "placement: memory mem-2, 8.30 USD a month (runner-up alpha a-us1, +1.60 USD)" in out
    assert "web (memory, mem-2): active" in out
    assert "plan again: No changes: 'web' matches its spec.\nplacement kept: memory mem-2" in out
    assert "the sandbox holds nothing" in out


def test_plan_apply_status_show_the_placement_and_keep_it(
    tmp_path: Path, installed: Installed
) -> None:
    state = str(tmp_path / "state.db")
    path = write(tmp_path, spec())
    planned = ok("plan", path, "--state", state)
    assert planned.splitlines()[1].startswith("placement: memory mem-2, 8.30 USD a month")
    data = json.loads(ok("plan", path, "--state", state, "--json"))
    assert (data["placement"]["provider"], data["placement"]["region"]) == ("memory", "mem-2")
    assert data["placement"]["runner_up"]["difference"] == 1.6
    applied = ok("apply", "--yes", path, "--state", state)
    assert "placement: memory mem-2" in applied
    status = ok("status", "web", "--state", state)
    assert "  placement: memory mem-2, decided " in status
    shown = json.loads(ok("status", "web", "--state", state, "--json"))["infrastructure"]
    assert shown["placement"]["provider"] == "memory"
    assert shown["spec"]["placed"]["region"] == "mem-2"
    # Cheaper elsewhere now: kept, and said so.
    installed.use(CHEAP_ALPHA)
    again = ok("plan", path, "--state", state)
    assert again.startswith("No changes: 'web' matches its spec.\n")
    assert "placement kept: memory mem-2, 8.30 USD a month (now runner-up alpha a-eu1 is " in again
    assert "--replace-placement to move)" in again
    kept = json.loads(ok("plan", path, "--state", state, "--json"))["placement"]
    assert kept["kept"] is True
    assert Decimal(str(kept["runner_up"]["difference"])) == Decimal("-2.8")


def test_replace_placement_to_another_provider_is_refused_with_what_to_do(
    tmp_path: Path, installed: Installed
) -> None:
    state = str(tmp_path / "state.db")
    path = write(tmp_path, spec())
    ok("apply", "--yes", path, "--state", state)
    installed.use(CHEAP_ALPHA)
    for command in (("plan",), ("apply", "--yes")):
        code, out, err = run(*command, path, "--state", state, "--replace-placement")
        assert code != 0
        text = out + err
        assert "placement: placing web again chose alpha a-eu1, but it lives on memory" in text
        assert "destroy it (atlas destroy web" in text
    status = json.loads(ok("status", "web", "--state", state, "--json"))["infrastructure"]
    assert (status["provider"], status["region"], status["status"]) == ("memory", "mem-2", "active")


def test_a_pin_the_constraints_no_longer_allow_is_shown_at_placement(
    tmp_path: Path, installed: Installed
) -> None:
    state = str(tmp_path / "state.db")
    ok("apply", "--yes", write(tmp_path, spec()), "--state", state)
    code, out, err = run("plan", write(tmp_path, spec("alpha"), "alpha.json"), "--state", state)
    assert code == 2
    assert "1 problem" in out + err
    assert "  placement: the recorded placement memory/mem-2 no longer fits: " in out + err
    assert "--replace-placement" in out + err


def test_replace_placement_moves_it_to_a_cheaper_region_of_its_provider(
    tmp_path: Path, installed: Installed
) -> None:
    state = str(tmp_path / "state.db")
    path = write(tmp_path, spec())
    ok("apply", "--yes", path, "--state", state)
    installed.translator.offered = {"mem-1": ("small",), "mem-2": ("medium",)}
    planned = ok("plan", path, "--state", state, "--replace-placement")
    assert "placement moves: memory mem-2 -> memory mem-1" in planned
    assert "region changes from mem-2 to mem-1" in planned
    moved = ok("apply", "--yes", "--allow-data-loss", path, "--state", state, "--replace-placement")
    assert "completed" in moved
    status = json.loads(ok("status", "web", "--state", state, "--json"))["infrastructure"]
    assert (status["region"], status["placement"]["region"]) == ("mem-1", "mem-1")
    assert ok("plan", path, "--state", state).startswith("No changes: 'web' matches its spec.")


def test_a_saved_plan_is_not_re_placed(tmp_path: Path, installed: Installed) -> None:
    state = str(tmp_path / "state.db")
    path = write(tmp_path, spec())
    saved = str(tmp_path / "plan.json")
    ok("plan", path, "--state", state, "--out", saved)
    code, out, err = run("apply", "--yes", saved, "--state", state, "--replace-placement")
    assert code != 0
    assert "--replace-placement: " in out + err
    assert "make it with atlas plan --replace-placement --out" in out + err
    applied = ok("apply", "--yes", saved, "--state", state)
    assert "placement: memory mem-2" in applied  # the saved plan shows it, as it was made
    status = json.loads(ok("status", "web", "--state", state, "--json"))["infrastructure"]
    assert status["placement"]["region"] == "mem-2"


# -- DigitalOcean and AWS ----------------------------------------------------------------------


def _translators_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("atlas_digitalocean.portable", "atlas_aws.portable")
    )


DO_AWS = {
    "name": "shop",
    "provider": "any",
    "placement": {"providers": ["digitalocean", "aws"], "regions": ["eu"]},
    "resources": [
        {
            "type": "server",
            "name": "web",
            "specifications": {"vcpus": 2, "memory_gb": 4, "count": 2},
        },
        {"type": "volume", "name": "data", "specifications": {"size_gb": 100}},
    ],
}


@pytest.mark.skipif(
    not _translators_installed(),
    reason="atlas_digitalocean.portable and atlas_aws.portable (the DigitalOcean and AWS "
    "translators) are not importable",
)
def test_apply_sandbox_on_digitalocean_or_aws_takes_the_cheaper(tmp_path: Path) -> None:
    from atlas.portable.resolve import compare
    from atlas.runtime import default_registry

    registry: ProviderRegistry = default_registry()
    comparison = compare(DO_AWS, registry=registry, purpose="create")
    providers = {c.provider for c in comparison.candidates}
    assert providers == {"digitalocean", "aws"}, comparison.excluded
    cheapest = comparison.candidates[0]
    other = next(c for c in comparison.candidates if c.provider != cheapest.provider)
    assert cheapest.monthly is not None
    assert other.monthly is not None
    assert cheapest.monthly <= other.monthly
    out = ok("apply", "--sandbox", write(tmp_path, DO_AWS))
    where = f"{cheapest.provider} {cheapest.region.name}"
    assert f"placement: {where}, " in out
    assert f"shop ({cheapest.provider}, {cheapest.region.name}): active" in out
    assert "plan again: No changes: 'shop' matches its spec.\nplacement kept: " + where in out
    assert "the sandbox holds nothing" in out
