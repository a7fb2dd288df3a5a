"""``atlas state export`` and ``atlas state import``: a backup of a SQLite store, restored into
PostgreSQL, gives the same ``atlas status`` for every infrastructure and operation, and the plan
that follows changes nothing (issue 15's acceptance). On the memory provider, installed the way
any plugin is; its cloud lives in this process."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from atlas.cli import main
from tests.atlas.lifecycle.conftest import stack
from tests.atlas.memory_installed import memory_installed
from tests.atlas.test_facade_api import _heavy, _loaded_after

TOKEN = "mem_" + "7" * 32  # made up

WEB_APP: dict[str, Any] = {
    "name": "web-app",
    "provider": "memory",
    "region": "mem-1",
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


def ok(*argv: str) -> str:
    code, out, err = run(*argv)
    assert (code, err) == (0, ""), out + err
    return out


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ATLAS_MEMORY_TOKEN", TOKEN)
    with memory_installed(tmp_path / "site", monkeypatch) as site:
        yield site


def _spec(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


@pytest.fixture
def applied(tmp_path: Path, installed: Path) -> tuple[str, dict[str, list[str]]]:
    """A SQLite store after applies in two workspaces, an update, and a destroy: its path,
    and the specs applied in each workspace (the destroyed one's not among them)."""
    state = str(tmp_path / "state.db")
    web_app, shop = _spec(tmp_path, WEB_APP), _spec(tmp_path, stack())
    ok("apply", "--yes", "--state", state, web_app)
    ok("apply", "--yes", "--state", state, shop)
    bigger = {**WEB_APP, "name": "scratch"}
    scratch = _spec(tmp_path, bigger)
    ok("apply", "--yes", "--state", state, "--workspace", "team-b", scratch)
    ok("destroy", "--yes", "--state", state, "--workspace", "team-b", "scratch")
    grown = stack()
    grown["resources"][1]["specifications"]["count"] = 4
    (tmp_path / "grown").mkdir()
    ok("apply", "--yes", "--state", state, _spec(tmp_path / "grown", grown))
    ok("apply", "--yes", "--state", state, "--workspace", "team-b", web_app)
    specs = {
        "default": [web_app, str(tmp_path / "grown" / "shop.yaml")],
        "team-b": [web_app],
    }
    return state, specs


def _every_status(state: str) -> dict[tuple[str, ...], str]:
    """What ``atlas status`` shows of everything in the store: the lists, each infrastructure
    and each of its operations, as text and as JSON."""
    shown: dict[tuple[str, ...], str] = {}
    for ws in ("default", "team-b"):
        for form in ((), ("--json",)):
            shown[(ws, *form)] = ok("status", "--state", state, "--workspace", ws, *form)
        listing = json.loads(shown[(ws, "--json")])["infrastructures"]
        for infra in listing:
            for key in (infra["name"], infra["id"]):
                for form in ((), ("--json",)):
                    args = ("status", "--state", state, "--workspace", ws, key, *form)
                    shown[(ws, key, *form)] = ok(*args)
            detail = json.loads(shown[(ws, infra["id"], "--json")])
            for op in detail["operations"]:
                for form in ((), ("--json",)):
                    args = ("status", "--state", state, "--workspace", ws, op["id"], *form)
                    shown[(ws, op["id"], *form)] = ok(*args)
    return shown


def test_an_export_of_sqlite_imported_into_postgres_shows_the_same_and_plans_nothing(
    tmp_path: Path, postgres_url: str, applied: tuple[str, dict[str, list[str]]]
) -> None:
    state, specs = applied
    backup = str(tmp_path / "backup.json")
    out = ok("state", "export", "--state", state, backup)
    assert out == (
        "exported 4 infrastructures, 12 resources, 6 operations, 19 steps, 18 events, 0 locks, "
        f"0 audit entries, 0 budgets, 0 threshold crossings (2 workspaces) from {state} to "
        f"{backup}\n"
    )
    out = ok("state", "import", "--state", postgres_url, backup)
    assert out.startswith("imported 4 infrastructures, 12 resources, 6 operations, 19 steps")
    assert out.endswith(f"(2 workspaces) into {postgres_url}\n")

    before, after = _every_status(state), _every_status(postgres_url)
    assert len(before) == 2 * 2 + 4 * 4 + 6 * 2  # lists; names and ids; operations
    assert after == before
    for ws, paths in specs.items():
        for spec in paths:
            for refresh in ((), ("--refresh",)):
                out = ok("plan", "--state", postgres_url, "--workspace", ws, *refresh, spec)
                assert out.startswith("No changes: "), out
    # And back: exporting the PostgreSQL store gives the very same document.
    again = tmp_path / "again.json"
    ok("state", "export", "--state", postgres_url, str(again))
    first, second = (json.loads(Path(p).read_text()) for p in (backup, again))
    assert {**first, "exported_at": None} == {**second, "exported_at": None}


def test_the_export_holds_no_secret_and_only_its_owner_reads_it(
    tmp_path: Path, applied: tuple[str, dict[str, list[str]]]
) -> None:
    state, _ = applied
    backup = tmp_path / "backup.json"
    ok("state", "export", "--state", state, str(backup))
    assert TOKEN not in backup.read_text()
    assert backup.stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")] == []


def test_export_to_standard_output_and_json_summaries(
    tmp_path: Path, applied: tuple[str, dict[str, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = applied
    code, out, err = run("state", "export", "--state", state, "-")
    assert code == 0
    assert json.loads(out)["atlas_state"] == 3
    assert err.startswith("exported 4 infrastructures")
    copy = str(tmp_path / "copy.db")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(out.encode())))
    summary = json.loads(ok("state", "import", "--json", "--state", copy, "-"))
    assert summary == {
        "imported": {
            "workspaces": 2,
            "infrastructures": 4,
            "resources": 12,
            "operations": 6,
            "steps": 19,
            "events": 18,
            "locks": 0,
            "audit_entries": 0,
            "budgets": 0,
            "threshold_crossings": 0,
        },
        "file": "-",
        "store": copy,
    }
    assert _every_status(copy) == _every_status(state)


def test_import_refuses_a_store_that_holds_anything_and_changes_nothing(
    tmp_path: Path, applied: tuple[str, dict[str, list[str]]]
) -> None:
    state, _ = applied
    backup = str(tmp_path / "backup.json")
    ok("state", "export", "--state", state, backup)
    before = _every_status(state)
    code, out, err = run("state", "import", "--state", state, backup)
    assert (code, out) == (1, "")
    assert err == (
        f"atlas: the state store at {state} is not empty (4 infrastructures, 6 operations, "
        "18 events): a backup is restored into an empty store only\n"
    )
    assert _every_status(state) == before


def test_a_file_with_problems_is_refused_with_each_one_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "atlas_state": 1,
                "workspaces": [{"name": "default", "steps": [{"operation_id": "x"}]}],
                "extra": True,
            }
        )
    )
    state = tmp_path / "new.db"
    code, out, err = run("state", "import", "--state", str(state), str(bad))
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == f"{bad}: 10 problems"
    assert "  extra: unknown field" in err
    assert "  workspaces[0].steps[0].index: required field missing" in err
    code, out, _ = run("state", "import", "--json", "--state", str(state), str(bad))
    assert code == 2
    problems = json.loads(out)["error"]["problems"]
    assert problems[0] == {"path": "extra", "message": "unknown field"}
    assert not state.exists() or ok("status", "--state", str(state)) == "No infrastructures yet.\n"
    code, _, err = run("state", "import", "--state", str(state), str(tmp_path / "none.json"))
    assert (code, err) == (
        2,
        f"atlas: cannot read {tmp_path / 'none.json'}: No such file or directory\n",
    )


def test_export_of_a_store_that_is_not_there_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    code, _, err = run("state", "export", "--state", str(missing), str(tmp_path / "b.json"))
    assert (code, err) == (1, f"atlas: there is no state store at {missing}\n")
    assert not missing.exists()


def test_an_unreachable_postgres_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://atlas:hunter2-secret@127.0.0.1:1/atlas"
    backup = tmp_path / "b.json"
    backup.write_text('{"atlas_state": 1, "workspaces": [], "locks": []}')
    code, out, err = run("state", "import", "--state", url, str(backup))
    assert (code, out) == (1, "")
    assert err.startswith(
        "atlas: cannot reach the state store at postgresql://atlas:***@127.0.0.1:1"
    )
    assert "hunter2" not in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("command", [["state"], ["state", "export"], ["state", "import"]])
def test_the_state_commands_help_leaves_the_store_unimported(command: list[str]) -> None:
    call = f"main({[*command, '--help']!r})"
    code = f"from atlas.cli import main\ntry:\n    {call}\nexcept SystemExit:\n    pass"
    assert _heavy(_loaded_after(code)) == []
