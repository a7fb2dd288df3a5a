"""The lifecycle commands on DigitalOcean: the examples through ``--sandbox``, and a state file
against the emulator served on loopback (``DIGITALOCEAN_API_URL``). The same commands on the
memory provider are the core's own tests (tests/atlas/lifecycle/test_cli_lifecycle.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from atlas.cli import main
from tests.conftest import EXAMPLES


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_apply_sandbox_runs_the_whole_lifecycle() -> None:
    code, out, err = run("apply", "--sandbox", str(EXAMPLES / "web-app.yaml"))
    assert (code, err) == (0, "")
    assert "+ create  droplet web-server  (+31.20/mo)" in out
    assert "apply: completed (2/2 steps)" in out
    assert "plan again: No changes" in out
    assert "destroy: completed; the sandbox holds nothing" in out


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir()), ids=str)
def test_every_example_applies_in_the_sandbox(example: str) -> None:
    code, out, err = run("apply", "--sandbox", "--yes", str(EXAMPLES / example))
    assert (code, err) == (0, ""), out
    assert "apply: completed" in out
    assert "destroy: completed; the sandbox holds nothing" in out


def test_plan_sandbox_and_json() -> None:
    code, out, _ = run("plan", "--sandbox", str(EXAMPLES / "stack.yaml"))
    assert code == 0
    assert "Monthly cost: 0.00 -> 149.20 USD (+149.20)" in out
    code, out, _ = run("plan", "--sandbox", "--json", str(EXAMPLES / "stack.yaml"))
    data = json.loads(out)
    assert data["cost_after"] == 149.2
    assert {c["action"] for c in data["changes"]} == {"create"}


@pytest.mark.loopback
def test_apply_refuses_without_yes_when_not_interactive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with serve(port=0, config=EmulatorConfig(latency_scale=0)) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_" + "2" * 64)
        state = str(tmp_path / "state.db")
        code, out, _ = run("apply", "--state", state, str(EXAMPLES / "web-app.yaml"))
        assert code == 1
        assert "+ create  droplet web-server" in out  # the plan is shown first
        assert "Refusing without --yes" in out
        assert "Nothing changed." in out
        assert served.emulator.is_empty()


def test_graph_mermaid_and_dot() -> None:
    code, out, _ = run("graph", str(EXAMPLES / "stack.yaml"))
    assert code == 0
    assert out.startswith("graph TD\n")
    assert "n_fw --> n_lb" in out
    assert "n_data --> n_worker" in out
    code, out, _ = run("graph", "--format", "dot", str(EXAMPLES / "stack.yaml"))
    assert '"web" -> "net";' in out


@pytest.mark.loopback
def test_apply_status_reconcile_destroy_with_a_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    config = EmulatorConfig(latency_scale=0.01)
    with serve(port=0, config=config) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_" + "1" * 64)
        monkeypatch.setenv("DIGITALOCEAN_POLL_INTERVAL", "0.02")
        state = str(tmp_path / "state.db")
        spec = str(EXAMPLES / "web-app.yaml")
        code, out, err = run("apply", "--yes", "--state", state, spec)
        assert (code, err) == (0, ""), out
        assert "[2/2] create database app-db: done" in out
        op_id = out.split("Operation ")[1].split()[0]

        code, out, _ = run("status", "--state", state)
        assert "web-app" in out
        assert "61.20 USD/mo" in out
        code, out, _ = run("status", "--state", state, "web-app")
        assert "droplet        web-server   active" in out
        code, out, _ = run("status", "--state", state, op_id)
        assert f"Operation {op_id} (apply): completed, 2/2 steps" in out

        code, out, _ = run("plan", "--state", state, spec)
        assert out == "No changes: 'web-app' matches its spec.\n"
        code, out, _ = run("plan", "--refresh", "--state", state, spec)
        assert out == "No changes: 'web-app' matches its spec.\n"
        code, out, _ = run("status", "--refresh", "--state", state, "web-app")
        assert "No drift: the provider matches the spec." in out
        code, out, _ = run("reconcile", "--state", state, "web-app")
        assert out == "Nothing unknown carries this infrastructure's marks.\n"

        code, out, _ = run("destroy", "--yes", "--state", state, "web-app")
        assert code == 0, out
        assert served.emulator.is_empty()
        assert "destroyed" in run("status", "--state", state)[1]


@pytest.mark.loopback
def test_the_example_stack_on_a_fresh_account_applies_and_destroys_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13's acceptance: a new user's account, with no VPC in the stack's region yet."""
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    with serve(port=0, config=EmulatorConfig(latency_scale=0.01)) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_" + "2" * 64)
        monkeypatch.setenv("DIGITALOCEAN_POLL_INTERVAL", "0.02")
        state = str(tmp_path / "state.db")
        code, out, err = run("apply", "--yes", "--state", state, str(EXAMPLES / "stack.yaml"))
        assert (code, err) == (0, ""), out
        assert "account: create vpc default-fra1 in fra1 \u2014 fra1 has no default VPC" in out
        assert "prepare vpc default-fra1: done" in out

        code, out, err = run("destroy", "--yes", "--state", state, "shop")
        assert (code, err) == (0, ""), out
        assert "note:" not in out
        assert "(destroy): completed" in out
        assert [v["name"] for v in served.emulator.objects("vpcs")] == ["default-fra1"]
        assert served.emulator.is_empty()


@pytest.mark.loopback
def test_every_live_read_happens_once_per_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: the plan shown is the plan applied, so the cloud is read once, not once to
    show the plan and again to apply it; a saved plan is applied with no read of its own."""
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    with serve(port=0, config=EmulatorConfig(latency_scale=0)) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_" + "3" * 64)
        monkeypatch.setenv("DIGITALOCEAN_POLL_INTERVAL", "0.02")
        log = served.emulator.log
        state = str(tmp_path / "state.db")
        spec = str(EXAMPLES / "web-app.yaml")
        code, out, _ = run("apply", "--yes", "--state", state, spec)
        assert code == 0, out
        assert log.count("GET /v2/sizes") == 1
        assert log.count("GET /v2/account") == 1
        log.clear()
        # Nothing to change: what is read (prices, then each kind's resources) is read once.
        code, out, _ = run("apply", "--yes", "--state", state, spec)
        assert (code, out.splitlines()[-1]) == (0, "No changes: 'web-app' matches its spec.")
        reads = [r.key for r in log.records]
        assert reads[0] == "GET /v2/sizes"
        assert len(reads) == len(set(reads)), reads
        log.clear()
        saved = str(tmp_path / "resize.plan")
        bigger = tmp_path / "web-app.yaml"
        bigger.write_text(
            (EXAMPLES / "web-app.yaml").read_text().replace("s-2vcpu-4gb", "s-4vcpu-8gb")
        )
        assert run("plan", str(bigger), "--out", saved, "--state", state)[0] == 0
        assert log.count("GET /v2/sizes") == 1
        log.clear()
        code, out, _ = run("apply", saved, "--yes", "--state", state)
        assert code == 0, out
        assert "completed, 1/1 steps" in out
        assert log.count("GET /v2/sizes") == 0  # the saved plan's prices are the ones applied
        assert "~ update  droplet web-server  (+31.20/mo)" in out


@pytest.mark.loopback
def test_destroy_without_a_token_changes_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas.store import SQLiteStore
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    with serve(port=0, config=EmulatorConfig(latency_scale=0)) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", "dop_v1_" + "3" * 64)
        state = str(tmp_path / "state.db")
        code, out, _ = run("apply", "--yes", "--state", state, str(EXAMPLES / "web-app.yaml"))
        assert code == 0, out

        def records() -> tuple[object, ...]:
            store = SQLiteStore(state)
            try:
                [infra] = store.list_infrastructures("default")
                resources = sorted((r.name, r.status) for r in store.list_resources(infra.id))
                ops = [(o.id, o.status) for o in store.list_operations("default", infra.id)]
                return infra.status, resources, ops
            finally:
                store.close()

        before = records()
        monkeypatch.delenv("DIGITALOCEAN_TOKEN")
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        code, out, err = run("destroy", "--yes", "--state", state, "web-app")
        assert code != 0
        assert "DIGITALOCEAN_TOKEN" in out + err
        assert "Traceback" not in out + err
        assert records() == before  # no operation, nothing marked deleting
        assert not served.emulator.is_empty()
