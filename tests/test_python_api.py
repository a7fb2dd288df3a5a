"""A user's script on the sync API type-checks under ``mypy --strict`` and runs.

``Atlas`` used to build its methods in ``__getattr__``: every call was ``Any`` to a type checker,
so a wrong argument passed mypy. The second script proves the check can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

USER_SCRIPT = '''\
from decimal import Decimal
from pathlib import Path

import atlas


def deploy(a: atlas.Atlas, spec: Path) -> atlas.OperationRecord:
    """What a user writes against a real account: Atlas() with the configured store."""
    plan: atlas.Plan = a.plan(spec, refresh=True)
    if plan.empty:
        return a.operations(plan.infrastructure)[0]
    return a.apply(spec, budget=atlas.Budget(Decimal(100)), rollback=True)


def for_real(spec: Path) -> str:
    with atlas.Atlas() as a:
        return deploy(a, spec).status


def main() -> None:
    spec = Path("examples/web-app.yaml")
    cost: atlas.Estimate = atlas.estimate(spec)
    with atlas.Atlas.in_sandbox("digitalocean") as a:
        estimate: atlas.Estimate = a.estimate(spec)
        assert estimate.monthly == cost.monthly
        op = deploy(a, spec)
        view: atlas.InfrastructureView = a.get(op.infrastructure_id)
        names: list[str] = [r.name for r in view.resources]
        done: atlas.OperationRecord = a.destroy(view.infrastructure.name)
        assert a.sandbox is not None
        print(op.status, sorted(names), done.status, a.sandbox.is_empty())


if __name__ == "__main__":
    main()
'''

#: Each of these lines must be refused.
WRONG = """\
from pathlib import Path

import atlas

with atlas.Atlas.in_sandbox("digitalocean") as a:
    a.apply(Path("spec.yaml"), budget="100")
    a.plan(Path("spec.yaml"), refesh=True)
    count: int = a.estimate(Path("spec.yaml"))
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy comes with the lint extra")
    script = tmp_path / "script.py"
    script.write_text(source, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(REPO / "src")}  # this checkout's atlas, typed
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_user_script_passes_mypy_strict(tmp_path: Path) -> None:
    result = _mypy(tmp_path, USER_SCRIPT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_refuses_wrong_calls(tmp_path: Path) -> None:
    result = _mypy(tmp_path, WRONG)
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert sorted({int(line.split(":")[1]) for line in errors}) == [6, 7, 8], result.stdout


def test_the_user_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-c", USER_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "completed ['app-db', 'web-server'] completed True\n"
