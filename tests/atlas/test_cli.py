"""The ``atlas`` command: tables, JSON, and exit status 2 with every problem on bad input."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from atlas.cli import build_parser, main
from atlas.plugins import default_plugins
from tests.atlas.test_facade_api import _heavy, _loaded_after
from tests.conftest import EXAMPLES
from tests.test_docs import ENVIRONMENT


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_estimate_prints_a_table() -> None:
    code, out, err = run("estimate", str(EXAMPLES / "web-app.yaml"))
    assert (code, err) == (0, "")
    assert "Droplet s-2vcpu-4gb" in out
    assert "Daily backups (30 %)" in out
    lines = out.splitlines()
    assert lines[-1].split()[-2:] == ["61.20", "0.09106"]


def test_estimate_json() -> None:
    code, out, _ = run("estimate", str(EXAMPLES / "one-droplet.json"), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["estimated_monthly_cost"] == 6.0
    assert data["estimated_hourly_cost"] == 0.00893
    assert data["breakdown"][0]["resource_name"] == "web"


def test_estimate_shows_budget_verdict() -> None:
    _, out, _ = run("estimate", str(EXAMPLES / "stack.yaml"))
    assert "budget: 250.00 USD a month; within budget" in out


FIVE_MISTAKES = """
name: shop
provider: digitalocean
region: nyc9
resources:
  - {type: droplet, name: web, specifications: {size: s-1vcpu-1gx}}
  - {type: volume, name: data, specifications: {size_gigabytes: "100"}}
  - {type: dropplet, name: x}
  - {type: droplet, name: web, specifications: {size: s-1vcpu-1gb}}
"""


def test_invalid_spec_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(FIVE_MISTAKES)
    code, out, err = run("estimate", str(path))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0] == f"{path}: 5 problems"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "region",
        "resources[0].specifications.size",
        "resources[1].specifications.size_gigabytes",
        "resources[2].type",
        "resources[3].name",
    ]


def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(FIVE_MISTAKES)
    proc = subprocess.run(
        [sys.executable, "-m", "atlas", "estimate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "resources[2].type" in proc.stderr


def test_missing_file_is_exit_2() -> None:
    code, _, err = run("estimate", "/nonexistent/spec.yaml")
    assert code == 2
    assert "cannot read spec file" in err


def test_validate_for_create_asks_for_more_than_estimate(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "one-droplet.json").read_text(encoding="utf-8"))
    del doc["resources"][0]["specifications"]["image"]
    path = str(tmp_path / "no-image.json")
    Path(path).write_text(json.dumps(doc), encoding="utf-8")
    assert run("validate", path, "--for", "estimate")[0] == 0
    code, _, err = run("validate", path)
    assert code == 2
    assert "resources[0].specifications.image: required to create" in err


def test_providers_listing() -> None:
    code, out, _ = run("providers")
    assert code == 0
    assert "digitalocean" in out
    assert "load_balancer" in out
    code, out, _ = run("providers", "--json")
    assert "digitalocean" in [p["name"] for p in json.loads(out)["providers"]]


def test_emulator_names_the_provider_and_hands_it_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from atlas.plugins import Plugins, get_plugin_manager, hookimpl
    from atlas.providers import CliCommand, ProviderInfo

    seen: list[list[str]] = []

    class Clouds:
        @hookimpl
        def atlas_add_providers(self) -> list[ProviderInfo]:
            return [
                ProviderInfo("one", "One", "atlas-one"),
                ProviderInfo("two", "Two", "atlas-two"),
            ]

        @hookimpl
        def atlas_emulator(self, provider: str) -> CliCommand | None:
            def serve(argv: Sequence[str]) -> int:
                seen.append([provider, *argv])
                return 0

            return CliCommand("emulator", "serve", serve) if provider in ("one", "two") else None

    pm = get_plugin_manager(plugins=[Clouds()], autoload=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("atlas.cli.default_plugins", lambda: Plugins(pm))
        assert main(["emulator", "--provider", "two", "--port", "0"]) == 0
        assert main(["emulator", "--port", "1", "--provider=one"]) == 0
        assert seen == [["two", "--port", "0"], ["one", "--port", "1"]]
        assert main(["emulator", "--port", "0"], err=io.StringIO()) == 2  # which one?
        assert main(["emulator", "--provider", "three"], err=io.StringIO()) == 1


def test_usage_errors_exit_2() -> None:
    code, out, err = run("estimate")
    assert (code, out) == (2, "")
    assert err.endswith("atlas estimate: error: the following arguments are required: file\n")


def test_budget_verdicts(tmp_path: Path) -> None:
    text = (EXAMPLES / "stack.yaml").read_text()
    over = tmp_path / "over.yaml"
    over.write_text(text.replace("monthly_limit: 250", "monthly_limit: 100"))
    assert "OVER budget" in run("estimate", str(over))[1]
    euros = tmp_path / "eur.yaml"
    euros.write_text(text.replace("monthly_limit: 250", "monthly_limit: 250\n  currency: EUR"))
    code, out, _ = run("estimate", str(euros))
    assert code == 0
    assert "cannot compare a budget in EUR with prices in USD" in out
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(text.replace("num_nodes: 2", "num_nodes: 2\n      storage_size_mib: 20480"))
    assert "unknown: some prices are unknown" in run("estimate", str(unknown))[1]
    data = json.loads(run("estimate", str(over), "--json")[1])
    assert data["budget"] == {"monthly_limit": 100.0, "currency": "USD", "verdict": "OVER budget"}


def _no_image(tmp_path: Path, **changes: str) -> str:
    doc = json.loads((EXAMPLES / "one-droplet.json").read_text(encoding="utf-8"))
    del doc["resources"][0]["specifications"]["image"]
    doc.update(changes)
    path = tmp_path / "no-image.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("region", ["nyc3", "nyc9"], ids=["create-only", "and-a-bad-region"])
def test_plan_reports_every_problem_validate_reports(tmp_path: Path, region: str) -> None:
    # An image is asked for only to create: plan, which is for creating, asks as validate does,
    # with --sandbox too (which used to validate for estimate first and hold it back).
    path = _no_image(tmp_path, region=region)
    state = str(tmp_path / "state.db")
    runs = {
        "validate": ["validate", path],
        "plan": ["plan", path, "--state", state],
        "plan --sandbox": ["plan", "--sandbox", path],
        "apply": ["apply", "--yes", path, "--state", state],
    }
    texts = {name: run(*argv) for name, argv in runs.items()}
    assert {name: code for name, (code, _, _) in texts.items()} == dict.fromkeys(runs, 2)
    errs = {err for _, _, err in texts.values()}
    assert len(errs) == 1, errs
    assert "resources[0].specifications.image: required to create" in errs.pop()
    problems = {
        name: json.loads(run(*argv, "--json")[1])["error"]["problems"]
        for name, argv in runs.items()
        if name != "apply"
    }
    first = problems["validate"]
    assert "resources[0].specifications.image" in [p["path"] for p in first]
    assert len(first) == (1 if region == "nyc3" else 2)
    assert all(found == first for found in problems.values()), problems


# -- help: a description, examples, and the environment each command reads -----------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    plugins = default_plugins()
    parser = build_parser(plugins.cli_commands(), plugins.providers())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    # Their own parsers say their own (`atlas emulator` hands its arguments to the emulator's).
    plugin = {c.name for c in plugins.cli_commands()} | {"emulator"}
    return {name: p for name, p in sub.choices.items() if name not in plugin}


SUBCOMMANDS = _subcommands()
#: The commands that reach the cloud (some only with an option), and read its token.
REACH_THE_CLOUD = {
    *("plan", "apply", "destroy", "discover", "status", "resume", "reconcile", "serve", "costs"),
}


def _help(argv: list[str]) -> str:
    """What ``atlas ARGV --help`` prints (argparse prints help on sys.stdout, and exits)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return out.getvalue()


def test_every_subcommand_is_found() -> None:
    assert {"estimate", "validate", "plan", "apply", "status", "graph", "serve"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS), ids=str)
def test_every_subcommand_s_help_has_a_description_and_examples(name: str) -> None:
    parser = SUBCOMMANDS[name]
    assert len(parser.description or "") > 60, name
    assert parser.formatter_class is argparse.RawDescriptionHelpFormatter
    text = parser.format_help()
    examples = text.split("\nexamples:\n", 1)[1].split("\n\n")[0].splitlines()
    assert examples
    assert all(re.search(rf"\batlas {name}\b", e) for e in examples), examples
    # Each example parses (the placeholders are names, ids and files).
    for example in examples:
        argv = example.split("atlas ", 1)[1].split(" | ")[0].split()
        build_parser().parse_args(argv)
    assert _help([name]) == parser.format_help()  # what `atlas NAME --help` prints


def _environment(parser: argparse.ArgumentParser) -> str:
    epilog = parser.epilog or ""
    return epilog.split("\nenvironment:\n", 1)[1] if "\nenvironment:\n" in epilog else ""


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS), ids=str)
def test_every_subcommand_s_help_names_the_environment_it_reads(name: str) -> None:
    parser = SUBCOMMANDS[name]
    env = _environment(parser)
    options = {o for a in parser._actions for o in a.option_strings}
    if "--state" in options:  # it opens the store
        assert "ATLAS_STATE" in env, name
    token = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_API_TOKEN")
    settings = ("DIGITALOCEAN_API_URL", "DIGITALOCEAN_POLL_INTERVAL", "CONTEXT_MANAGER_URL")
    for variable in (*token, *settings):
        assert (variable in env) == (name in REACH_THE_CLOUD), (name, variable)
    if name not in REACH_THE_CLOUD and "--state" not in options:
        assert env == ""
        assert "Offline" in (parser.description or "")


def test_every_environment_variable_is_in_some_help() -> None:
    texts = [_help([]), *(p.format_help() for p in SUBCOMMANDS.values())]
    for name in ENVIRONMENT:
        assert any(name in t for t in texts), f"no --help names {name}"


def test_atlas_help_has_the_exit_status_table() -> None:
    text = _help([])
    table = text.split("exit status:\n", 1)[1].split("\n\n")[0]
    assert [line.split()[0] for line in table.splitlines() if not line.startswith("       ")] == [
        "0",
        "1",
        "2",
        "130",
    ]
    assert '{"error": {"code", "class", "message", "problems"' in text


@pytest.mark.parametrize("command", ["plan", "apply", "status", "serve"])
def test_a_subcommand_s_help_leaves_the_lifecycle_unimported(command: str) -> None:
    call = f"main([{command!r}, '--help'])"
    code = f"from atlas.cli import main\ntry:\n    {call}\nexcept SystemExit:\n    pass"
    assert _heavy(_loaded_after(code)) == []
