"""The command line with ``provider: gcp``: estimate and validate work; plan and apply refuse
with a message (the plugin has no live side yet), before anything is recorded."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from atlas import Atlas, ProvisioningUnavailableError
from atlas.cli import main
from atlas.providers import ProviderRegistry
from atlas.store import SQLiteStore
from tests.estimate_only import installed

SPEC = {
    "name": "small",
    "provider": "gcp",
    "region": "europe-west1",
    "resources": [
        {"type": "instance", "name": "web",
         "specifications": {"machine_type": "e2-medium", "image": "debian-12"}},
        {"type": "disk", "name": "data", "specifications": {"size_gb": 50, "attach_to": "web"}},
    ],
}  # fmt: skip
REFUSAL = (
    "atlas: provisioning on Google Cloud (provider 'gcp') is not available yet: its plugin can "
    "estimate and validate, not create resources; `atlas estimate` and `atlas validate` work "
    "for this spec\n"
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plugins installed, the state in ``tmp_path``, the spec written there."""
    monkeypatch.setenv("ATLAS_STATE", str(tmp_path / "state.db"))
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    with installed(tmp_path / "site", monkeypatch):
        yield path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_estimate(cli: Path) -> None:
    code, out, err = run("estimate", str(cli), "--json")
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert (body["currency"], body["complete"]) == ("USD", True)
    assert body["estimated_monthly_cost"] == 31.91  # e2-medium at 0.03686/h, 50 GB at 0.10
    [disk] = body["breakdown"][1]["line_items"]
    assert disk["sku"] == "disk:europe-west1:pd-balanced"
    assert disk["monthly_cost"] == 5.0


def test_validate_reports_paths(cli: Path) -> None:
    bad = dict(SPEC, resources=[{"type": "instance", "name": "web",
                                 "specifications": {"machine_type": "e2-huge"}}])  # fmt: skip
    cli.write_text(yaml.safe_dump(bad), encoding="utf-8")
    code, out, err = run("validate", str(cli))
    out += err
    assert code == 2
    assert "resources[0].specifications.machine_type: unknown machine type 'e2-huge'" in out
    assert "resources[0].specifications.image: required to create" in out


@pytest.mark.parametrize(
    "command",
    [["plan"], ["apply", "--yes"], ["plan", "--sandbox"], ["apply", "--sandbox", "--yes"]],
)
def test_plan_and_apply_refuse_with_a_message(cli: Path, command: list[str]) -> None:
    code, out, err = run(*command, str(cli))
    assert (code, out, err) == (1, "", REFUSAL)
    code, out, _ = run("status")
    assert "small" not in out  # nothing was recorded


def test_the_library_refuses_before_recording(gcp_registry: ProviderRegistry) -> None:
    with Atlas(store=SQLiteStore(":memory:"), registry=gcp_registry) as atlas:
        with pytest.raises(ProvisioningUnavailableError, match="provisioning on Google Cloud"):
            atlas.plan(SPEC)
        with pytest.raises(ProvisioningUnavailableError, match="not available yet"):
            atlas.apply(SPEC)
        assert atlas.list() == []
        assert str(atlas.estimate(SPEC).monthly) == "31.91 USD"


def test_providers_lists_what_it_can_do(cli: Path) -> None:
    code, out, _ = run("providers", "--json")
    assert code == 0
    listed = {p["name"]: p for p in json.loads(out)["providers"]}
    assert listed["gcp"]["capabilities"] == ["estimate", "validate"]
    assert listed["gcp"]["resource_types"] == ["disk", "instance", "load_balancer", "sql_instance"]
    assert listed["digitalocean"]["capabilities"] == ["estimate", "validate", "plan", "apply"]
    code, out, _ = run("providers")
    assert [line.split()[:4] for line in out.splitlines() if line.startswith("gcp")] == [
        ["gcp", "Google", "Cloud", "estimate,"]
    ]
