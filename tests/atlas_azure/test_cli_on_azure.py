"""The command line with ``provider: azure``: estimate and validate work; plan and apply refuse
with a message (the plugin has no live side yet), before anything is recorded."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from atlas.cli import main
from tests.estimate_only import installed

SPEC = {
    "name": "small",
    "provider": "az",
    "region": "westus2",
    "resources": [
        {"type": "virtual_machine", "name": "web",
         "specifications": {"size": "Standard_D2ps_v5", "image": "Ubuntu2404"}},
    ],
}  # fmt: skip


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ATLAS_STATE", str(tmp_path / "state.db"))
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    with installed(tmp_path / "site", monkeypatch):
        yield path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_estimate_through_the_alias(cli: Path) -> None:
    code, out, err = run("estimate", str(cli))
    assert (code, err) == (0, "")
    assert "VM Standard_D2ps_v5" in out
    assert out.splitlines()[-1].split()[-2:] == ["56.21", "0.0770"]


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"]])
def test_plan_and_apply_refuse_with_a_message(cli: Path, command: list[str]) -> None:
    code, out, err = run(*command, str(cli))
    assert (code, out) == (1, "")
    assert err.startswith("atlas: provisioning on Microsoft Azure (provider 'azure') is not ")
    assert "Traceback" not in err
    assert "small" not in run("status")[1]


def test_providers_lists_what_it_can_do(cli: Path) -> None:
    listed = {p["name"]: p for p in json.loads(run("providers", "--json")[1])["providers"]}
    assert listed["azure"]["capabilities"] == ["estimate", "validate"]
    assert "postgresql_flexible_server" in listed["azure"]["resource_types"]
