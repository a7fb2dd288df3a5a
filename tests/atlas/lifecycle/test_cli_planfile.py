"""``atlas plan FILE --out PLAN`` then ``atlas apply PLAN``: the plan shown is the plan applied;
a plan whose recorded state moved is refused (exit 2, saying what moved); a plan that destroys
data needs ``--allow-data-loss``. In-process, on the memory provider, with a state file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from atlas import DataLossError, StalePlanError
from atlas.cli import error_json, main
from atlas.testing.memory.provider import default_cloud
from tests.atlas.lifecycle.test_cli_lifecycle import WEB_APP
from tests.atlas.memory_installed import memory_installed


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ATLAS_MEMORY_TOKEN", "mem_" + "1" * 32)  # made up
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with memory_installed(tmp_path / "site", monkeypatch) as site:
        yield site


def spec_file(tmp_path: Path, name: str, **disk: Any) -> str:
    doc = json.loads(json.dumps(WEB_APP))
    doc["resources"][2]["specifications"].update(disk)
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def ids() -> dict[str, list[str]]:
    cloud = default_cloud()
    return {k: sorted(o.id for o in cloud.objects(k)) for k in ("network", "server", "disk")}


def the_plan(out: str) -> str:
    """The rendered plan: from its head to its cost line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Plan for "))
    end = next(i for i, line in enumerate(lines) if line.startswith("Monthly cost:"))
    return "\n".join(lines[start : end + 1])


def test_plan_out_then_apply_applies_exactly_the_plan_shown(tmp_path: Path) -> None:
    state, spec, saved = str(tmp_path / "s.db"), spec_file(tmp_path, "spec.json"), tmp_path / "p"
    code, planned, err = run("plan", spec, "--out", str(saved), "--state", state)
    assert (code, err) == (0, ""), planned
    assert f"Saved the plan to {saved}: atlas apply {saved} applies exactly it" in planned
    assert default_cloud().is_empty()  # planning changed nothing
    before = len(default_cloud().calls)
    code, applied, err = run("apply", str(saved), "--yes", "--state", state)
    assert (code, err) == (0, ""), applied
    assert the_plan(applied) == the_plan(planned)
    assert "Operation " in applied
    assert "completed, 3/3 steps" in applied
    assert {k: len(v) for k, v in ids().items()} == {"network": 1, "server": 1, "disk": 1}
    made = [c for c in default_cloud().calls[before:] if c.startswith("create ")]
    assert made == ["create network", "create server", "create disk"]
    # Applied, the plan is spent: its basis (nothing recorded yet) is gone.
    code, _, err = run("apply", str(saved), "--yes", "--state", state)
    assert code == 2
    assert "infrastructure 'web-app' was created since the plan was made" in err


def test_a_plan_whose_state_moved_is_refused_with_what_moved(tmp_path: Path) -> None:
    state, saved = str(tmp_path / "s.db"), str(tmp_path / "p")
    assert run("apply", spec_file(tmp_path, "a.json"), "--yes", "--state", state)[0] == 0
    grown = spec_file(tmp_path, "b.json", size_gb=40)
    assert run("plan", grown, "--out", saved, "--state", state)[0] == 0
    code, out, _ = run(
        "apply", spec_file(tmp_path, "c.json", size_gb=30), "--yes", "--state", state
    )
    assert code == 0, out
    other = out.split("Operation ")[1].split()[0]
    held = ids()
    code, out, err = run("apply", saved, "--yes", "--state", state)
    assert code == 2
    assert out == ""  # refused before it is shown, let alone confirmed
    assert err.startswith("atlas: the plan for 'web-app' is stale: ")
    assert f"another operation ran: {other} (apply, completed)" in err
    assert "resource data changed since the plan was made" in err
    assert "Nothing was changed" in err
    assert "Traceback" not in err
    assert ids() == held


def test_as_json_the_refusals_carry_their_code_and_what_they_name() -> None:
    stale = error_json(StalePlanError("stale", changed=["another operation ran: x"]))
    assert (stale["code"], stale["class"]) == ("STALE_PLAN", "StalePlanError")
    assert stale["changed"] == ["another operation ran: x"]
    lost = error_json(DataLossError("lost", resources=["db"]))
    assert (lost["code"], lost["resources"]) == ("DATA_LOSS", ["db"])


def test_a_replacement_that_destroys_data_needs_allow_data_loss(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    assert run("apply", spec_file(tmp_path, "a.json"), "--yes", "--state", state)[0] == 0
    shrunk = spec_file(tmp_path, "b.json", size_gb=10)
    held = ids()
    code, out, err = run("apply", shrunk, "--yes", "--state", state)
    assert code == 2
    assert "-/+ replace disk data  (-1.00/mo)  size_gb shrinks from 20 to 10" in out
    assert (
        "      ! destroys data: the disk data is deleted and made again empty "
        "(its data is not copied)"
    ) in out
    assert "Data loss: data; atlas apply needs --allow-data-loss (beyond --yes)" in out
    assert "Apply these changes?" not in out  # refused before asking
    assert err.startswith("atlas: the plan destroys the data of disk data (replace: ")
    assert ids() == held
    code, out, err = run("apply", shrunk, "--yes", "--allow-data-loss", "--state", state)
    assert (code, err) == (0, ""), out
    assert ids()["disk"] != held["disk"]


@pytest.mark.parametrize(
    "argv",
    [
        ("apply", "--sandbox", "{plan}"),
        ("plan", "{plan}"),
        ("plan", "--sandbox", "--out", "{plan}2", "{spec}"),
    ],
    ids=["apply-sandbox", "plan-of-a-plan", "plan-sandbox-out"],
)
def test_a_saved_plan_goes_to_apply_only_and_never_to_a_sandbox(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    state, spec, saved = str(tmp_path / "s.db"), spec_file(tmp_path, "spec.json"), tmp_path / "p"
    assert run("plan", spec, "--out", str(saved), "--state", state)[0] == 0
    args = [a.format(plan=saved, spec=spec) for a in argv]
    code, out, err = run(*args)
    assert code == 2, out
    assert err.startswith("atlas: ")
    assert "Traceback" not in err
    assert "saved plan" in err or "sandbox keeps nothing" in err
    assert default_cloud().is_empty()


def test_a_corrupt_plan_file_is_exit_2_naming_it(tmp_path: Path) -> None:
    state, spec, saved = str(tmp_path / "s.db"), spec_file(tmp_path, "spec.json"), tmp_path / "p"
    assert run("plan", spec, "--out", str(saved), "--state", state)[0] == 0
    doc = json.loads(saved.read_text(encoding="ascii"))
    doc["changes"][0]["reason"] = "trust me"
    saved.write_text(json.dumps(doc), encoding="ascii")
    code, out, err = run("apply", str(saved), "--yes", "--state", state)
    assert (code, out) == (2, "")
    assert err == (
        f"atlas: {saved} was altered after atlas wrote it (its digest does not match its "
        "content); a plan is applied as written or not at all: plan again\n"
    )
    saved.write_text(saved.read_text(encoding="ascii")[:200], encoding="ascii")
    code, _, err = run("apply", str(saved), "--yes", "--state", state)
    assert code == 2
    assert "Traceback" not in err
    assert default_cloud().is_empty()


def test_plan_json_out_keeps_stdout_for_the_json(tmp_path: Path) -> None:
    state, spec, saved = str(tmp_path / "s.db"), spec_file(tmp_path, "spec.yaml"), tmp_path / "p"
    Path(spec).write_text(yaml.safe_dump(WEB_APP), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", spec, "--json", "--out", str(saved), "--state", state], out=out, err=err)
    assert code == 0
    assert json.loads(out.getvalue())["cost_after"] == 9.3
    assert saved.exists()
