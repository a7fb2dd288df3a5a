"""The lifecycle commands, run in-process against a sandbox or a state file, on the memory
provider (installed for the test the way any plugin is; its live cloud is the plugin's own,
in this process, in real time)."""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from atlas.cli import main
from atlas.cli.progress import ProgressPrinter
from atlas.testing.memory.provider import default_cloud
from tests.atlas.lifecycle.conftest import stack
from tests.atlas.memory_installed import memory_installed

#: 9.30 a month: a small server (7.30) and its 20 GB disk (2.00), on a network.
WEB_APP: dict[str, Any] = {
    "name": "web-app",
    "provider": "memory",
    "region": "mem-1",
    "tags": {"env": "demo"},
    "resources": [
        {"type": "network", "name": "lan", "specifications": {"ip_range": "10.40.0.0/16"}},
        {
            "type": "server",
            "name": "web",
            "specifications": {"size": "small", "image": "debian-12", "network": "lan"},
        },
        {"type": "disk", "name": "data", "specifications": {"size_gb": 20, "attach_to": "web"}},
    ],
}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with memory_installed(tmp_path / "site", monkeypatch) as site:
        yield site


@pytest.fixture
def web_app(tmp_path: Path) -> str:
    path = tmp_path / "web-app.yaml"
    path.write_text(yaml.safe_dump(WEB_APP, sort_keys=False))
    return str(path)


@pytest.fixture
def shop(tmp_path: Path) -> str:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(stack(), sort_keys=False))
    return str(path)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    """The memory token in the environment, where the plugin's factory looks for it."""
    value = "mem_" + "1" * 32  # made up
    monkeypatch.setenv("ATLAS_MEMORY_TOKEN", value)
    return value


def test_apply_sandbox_runs_the_whole_lifecycle(web_app: str) -> None:
    code, out, err = run("apply", "--sandbox", web_app)
    assert (code, err) == (0, "")
    assert "sandbox: an in-process memory cloud on a manual clock stands in" in out
    assert "+ create  server web  (+7.30/mo)" in out
    assert "apply: completed (3/3 steps)" in out
    assert "plan again: No changes" in out
    assert "destroy: completed; the sandbox holds nothing" in out


def test_plan_sandbox_and_json(shop: str) -> None:
    code, out, _ = run("plan", "--sandbox", shop)
    assert code == 0
    assert "Monthly cost: 0.00 -> 80.70 USD (+80.70)" in out
    code, out, _ = run("plan", "--sandbox", "--json", shop)
    data = json.loads(out)
    assert data["cost_after"] == 80.7
    assert [c["resource_name"] for c in data["changes"]] == [
        "net",
        "web",
        "worker",
        "data",
        "db",
        "dbdata",
    ]
    assert {c["action"] for c in data["changes"]} == {"create"}


def test_apply_refuses_without_yes_when_not_interactive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web_app: str, token: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    state = str(tmp_path / "state.db")
    code, out, _ = run("apply", "--state", state, web_app)
    assert code == 1
    assert "+ create  server web" in out  # the plan is shown first
    assert "Refusing without --yes" in out
    assert "Nothing changed." in out
    assert default_cloud().is_empty()
    assert token not in out


def test_status_of_an_empty_store_and_unknown_names(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    assert run("status", "--state", state)[1] == "No infrastructures yet.\n"
    code, _, err = run("status", "--state", state, "nope")
    assert code == 1
    assert "no infrastructure 'nope'" in err


def test_graph_mermaid_and_dot(shop: str) -> None:
    code, out, _ = run("graph", shop)
    assert code == 0
    assert out.startswith("graph TD\n")
    assert "n_data --> n_worker" in out
    assert "n_dbdata --> n_db" in out
    code, out, _ = run("graph", "--format", "dot", shop)
    assert '"web" -> "net";' in out


def test_apply_status_reconcile_destroy_with_a_state_file(
    tmp_path: Path, web_app: str, token: str
) -> None:
    state = str(tmp_path / "state.db")
    code, out, err = run("apply", "--yes", "--state", state, web_app)
    assert (code, err) == (0, ""), out
    assert "[3/3] create disk data: done" in out
    op_id = out.split("Operation ")[1].split()[0]
    assert len(default_cloud().objects("server")) == 1

    code, out, _ = run("status", "--state", state)
    assert "web-app" in out
    assert "9.30 USD/mo" in out
    code, out, _ = run("status", "--state", state, "web-app")
    assert "server         web          active" in out
    code, out, _ = run("status", "--state", state, op_id)
    assert f"Operation {op_id} (apply): completed, 3/3 steps" in out

    code, out, _ = run("plan", "--state", state, web_app)
    assert out == "No changes: 'web-app' matches its spec.\n"
    code, out, _ = run("plan", "--refresh", "--state", state, web_app)
    assert out == "No changes: 'web-app' matches its spec.\n"
    code, out, _ = run("status", "--refresh", "--state", state, "web-app")
    assert "No drift: the provider matches the spec." in out
    code, out, _ = run("reconcile", "--state", state, "web-app")
    assert out == "Nothing unknown carries this infrastructure's marks.\n"

    code, out, _ = run("destroy", "--yes", "--state", state, "web-app")
    assert code == 0, out
    assert default_cloud().is_empty()
    assert "destroyed" in run("status", "--state", state)[1]
    code, out, _ = run("destroy", "--yes", "--state", state, "web-app")
    assert (code, out) == (0, "'web-app' is already destroyed: nothing to do.\n")


def test_ctrl_c_mid_apply_stops_cleanly_and_apply_again_finishes(
    tmp_path: Path, web_app: str, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C as the server starts: it finishes, the disk does not start, the paragraph says
    so, exit 130; then `atlas resume` (with progress) finishes, each object made once."""
    shown = ProgressPrinter.__call__

    def ctrl_c_when_web_starts(self: ProgressPrinter, op: Any, step: Any) -> None:
        shown(self, op, step)
        if step is not None and (step.resource, step.status) == ("web", "running"):
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(ProgressPrinter, "__call__", ctrl_c_when_web_starts)
    state = str(tmp_path / "state.db")
    code, out, err = run("apply", "--yes", "--state", state, web_app)
    assert (code, err) == (130, ""), out
    assert (
        "interrupted: no new step starts; waiting for what is under way (create server web)" in out
    )
    assert "[2/3] create server web: done in " in out
    assert "create disk data ..." not in out
    assert (
        "Interrupted: 2 of 3 steps done (lan, web). Not started: 1 step. Nothing was rolled back. "
        f"`atlas apply {web_app} --state {state}` again carries on from here; "
        "`atlas status web-app` shows where it stands.\n"
    ) in out
    monkeypatch.setattr(ProgressPrinter, "__call__", shown)

    op_id = atlas_ops(state)[0]
    code, out, err = run("resume", "--state", state, op_id)
    assert (code, err) == (0, ""), out
    assert "create disk data: done in " in out
    cloud = default_cloud()
    assert [len(cloud.objects(k)) for k in ("network", "server", "disk")] == [1, 1, 1]


def atlas_ops(state: str) -> list[str]:
    """The operation ids `atlas status web-app` lists, newest first."""
    _, out, _ = run("status", "--state", state, "web-app")
    return [line.split()[1] for line in out.splitlines() if line.startswith("  operation ")]
