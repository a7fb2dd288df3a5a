"""``atlas discover`` and ``atlas destroy --include-imported`` in-process, on the memory
provider's own cloud (real time), with resources made there by hand."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from atlas.testing.memory.provider import default_cloud
from atlas.testing.memory.sandbox import by_hand
from tests.atlas.lifecycle.test_cli_lifecycle import installed, run, token

__all__ = ["installed", "token"]  # the fixtures this module uses from its neighbour


def make_by_hand(token: str) -> dict[str, str]:
    make = by_hand(default_cloud(), token, "mem-1")

    async def both() -> dict[str, str]:
        [web] = await make("server", "web-1")
        [data] = await make("disk", "data")
        return {"web-1": web, "data": data}

    return asyncio.run(both())


def test_discover_json_then_spec_out_apply_and_destroy(tmp_path: Path, token: str) -> None:
    made = make_by_hand(token)
    state = str(tmp_path / "state.db")
    code, out, err = run("discover", "--provider", "memory", "--json", "--state", state)
    assert (code, err) == (0, ""), err
    found = json.loads(out)
    assert {r["name"]: (r["ids"], r["monthly_cost"]) for r in found["resources"]} == {
        "web-1": ([made["web-1"]], 7.3),
        "data": ([made["data"]], 2.0),
    }
    assert found["monthly_cost"] == 9.3

    spec = tmp_path / "found.json"
    code, out, err = run(
        "discover", "--provider", "memory", "--state", state, "--spec-out", str(spec)
    )
    assert code == 0, err
    assert "web-1" in out
    assert "Total (USD/mo)" in out
    assert "9.30" in out
    assert f"wrote {spec}: 2 resources to import" in out
    doc = json.loads(spec.read_text())
    assert {r["name"]: r["import"] for r in doc["resources"]} == made

    creates_before = sum(c.startswith("create ") for c in default_cloud().calls)
    code, out, err = run("apply", "--yes", "--state", state, str(spec))
    assert code == 0, out + err
    assert "<= import" in out
    assert sum(c.startswith("create ") for c in default_cloud().calls) == creates_before

    code, out, _ = run("discover", "--provider", "memory", "--state", state)
    assert out == "Nothing in the memory account that atlas does not manage.\n"

    code, out, _ = run("destroy", "--yes", "--state", state, "imported")
    assert code == 0, out
    assert "Left in place (imported): data, web-1" in out
    assert "left in place: imported" in out
    assert {o.id for o in default_cloud().objects("server")} == {made["web-1"]}

    code, out, _ = run("apply", "--yes", "--state", state, str(spec))
    assert code == 0, out
    code, out, _ = run("destroy", "--yes", "--include-imported", "--state", state, "imported")
    assert code == 0, out
    assert default_cloud().is_empty()


def test_discover_needs_a_provider_when_several_are_installed(tmp_path: Path) -> None:
    # The memory provider beside the installed one(s): which account to look in is asked.
    code, out, err = run("discover", "--state", str(tmp_path / "s.db"))
    assert (code, out) == (1, "")
    assert "more than one provider is installed: pass --provider (" in err
    assert "memory" in err
