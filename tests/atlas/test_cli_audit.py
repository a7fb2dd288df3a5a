"""``atlas audit``: lists the trail, and ``--verify`` says whether it is whole (exit 0) or
names the first entry edited or removed by hand (exit 1)."""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from atlas.cli import main
from atlas.store import SQLiteStore
from tests.atlas.store.factories import audit_entry


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def state(tmp_path: Path) -> str:
    """A store with four entries: three of ws-a, one of ws-b."""
    path = str(tmp_path / "state.db")
    with SQLiteStore(path) as store:
        for n in range(1, 5):
            store.append_audit(audit_entry(n, workspace="ws-b" if n == 3 else "ws-a"))
    return path


def _sql(path: str, statement: str) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(statement)


def test_verify_passes_with_a_one_line_summary(state: str) -> None:
    code, out, err = run("audit", "--verify", "--state", state)
    assert (code, err) == (0, "")
    assert out.startswith("audit trail whole: 4 entries, last seq 4 (hash ")
    assert out.count("\n") == 1


def test_verify_names_the_entry_edited_by_hand_and_exits_1(state: str) -> None:
    _sql(state, "UPDATE audit SET workspace = 'ws-b' WHERE seq = 2")
    code, out, _ = run("audit", "--verify", "--state", state)
    assert code == 1
    assert out == (
        "audit trail broken at seq 2 (entry audit-2): hash mismatch: the entry was changed "
        "after it was written; the 1 entries before it are whole\n"
    )
    code, out, _ = run("audit", "--verify", "--json", "--state", state)
    assert code == 1
    verdict = json.loads(out)
    assert verdict["verified"] is False
    assert verdict["bad"]["seq"] == 2
    assert verdict["bad"]["id"] == "audit-2"


def test_verify_finds_a_deleted_entry(state: str) -> None:
    _sql(state, "DELETE FROM audit WHERE seq = 3")
    code, out, _ = run("audit", "--verify", "--state", state)
    assert code == 1
    assert out.startswith("audit trail broken at seq 4 (entry audit-4): entries missing")


def test_entries_of_one_workspace_as_text_and_json(state: str) -> None:
    code, out, _ = run("audit", "--workspace", "ws-a", "--state", state)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "4"]
    assert "ws-a/user-7  POST /api/v1/infrastructure  web  ok 201" in lines[0]
    code, out, _ = run("audit", "--json", "--after", "1", "--limit", "2", "--state", state)
    assert code == 0
    doc = json.loads(out)
    assert [e["seq"] for e in doc["entries"]] == [2, 3]
    assert doc["entries"][1]["workspace"] == "ws-b"


def test_verify_of_one_workspace_is_refused(state: str) -> None:
    code, _, err = run("audit", "--verify", "--workspace", "ws-a", "--state", state)
    assert code == 2
    assert "--verify walks the whole trail" in err


def test_no_store_is_made_for_a_mistyped_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = run("audit", "--verify", "--state", str(missing))
    assert code == 1
    assert f"there is no state store at {missing}" in err
    assert not missing.exists()
