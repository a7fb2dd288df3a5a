"""Issue 15's acceptance on DigitalOcean: the example stack applied with a SQLite store against
the emulator (on loopback), exported, imported into PostgreSQL, shows the same ``atlas status``
and plans no change, even reading the cloud back; the token is nowhere in the export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from atlas.cli import main
from tests.conftest import EXAMPLES

TOKEN = "dop_v1_" + "5" * 64  # made up


def ok(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    assert (code, err.getvalue()) == (0, ""), out.getvalue() + err.getvalue()
    return out.getvalue()


@pytest.mark.loopback
def test_the_stack_moved_from_sqlite_to_postgres_shows_the_same_and_plans_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    with serve(port=0, config=EmulatorConfig(latency_scale=0.01)) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKEN)
        monkeypatch.setenv("DIGITALOCEAN_POLL_INTERVAL", "0.02")
        sqlite = str(tmp_path / "state.db")
        specs = [str(EXAMPLES / "web-app.yaml"), str(EXAMPLES / "stack.yaml")]
        for spec in specs:
            ok("apply", "--yes", "--state", sqlite, spec)
        backup = tmp_path / "backup.json"
        ok("state", "export", "--state", sqlite, str(backup))
        assert TOKEN not in backup.read_text()
        ok("state", "import", "--state", postgres_url, str(backup))

        for form in ((), ("--json",)):
            assert ok("status", "--state", postgres_url, *form) == ok(
                "status", "--state", sqlite, *form
            )
        listed = json.loads(ok("status", "--json", "--state", sqlite))["infrastructures"]
        assert len(listed) == 2
        for infra in listed:
            for form in ((), ("--json",)):
                args = ("status", infra["name"], *form)
                assert ok(*args, "--state", postgres_url) == ok(*args, "--state", sqlite)
        for spec in specs:
            for refresh in ((), ("--refresh",)):
                out = ok("plan", *refresh, "--state", postgres_url, spec)
                assert out.startswith("No changes: "), out
