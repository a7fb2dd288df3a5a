"""``atlas estimate --compare`` and the placement line of a plain estimate."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from atlas.cli import main
from tests.atlas.portable.test_resolve import spec, stack
from tests.atlas.portable.toy import toy_registry


@pytest.fixture(autouse=True)
def toy_clouds(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = toy_registry()
    monkeypatch.setattr("atlas.runtime.default_registry", lambda: registry)


def run(tmp_path: Path, doc: dict[str, Any], *argv: str) -> tuple[int, str, str]:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    out, err = io.StringIO(), io.StringIO()
    code = main(["estimate", str(path), *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_compare_prints_one_table_cheapest_first(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, spec(*stack()), "--compare")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Placements for 'shop', cheapest first: 5 of them"
    assert lines[2].split() == [
        "#", "PROVIDER", "REGION", "MONTHLY", "+CHEAPEST", "WEB", "DATA", "DB", "LB"
    ]  # fmt: skip
    assert lines[4].split() == [
        "1",
        "beta",
        "b-us",
        "63.20",
        "0.00",
        "medium",
        "disk",
        "pg-small",
        "lb",
    ]
    assert lines[5].split()[:5] == ["2", "alpha", "a-us1", "71.10", "7.90"]
    assert "placement: beta/b-us, the cheapest of 5 placements" in out
    assert "runner-up alpha/a-us1 at 71.10 USD (+7.90)" in out
    assert "#1 beta/b-us: 63.20 USD a month" in out
    assert "  gamma: no translator installed" in out


def test_compare_json_has_the_documented_shape(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, spec(*stack(), budget=70), "--compare", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"placement", "decision", "candidates", "excluded"}
    assert data["placement"]["budget"] == 70.0
    assert [c["rank"] for c in data["candidates"]] == [1]
    assert set(data["candidates"][0]) == {
        "rank", "provider", "region", "region_group", "monthly_cost", "currency",
        "more_than_cheapest", "choices", "support",
    }  # fmt: skip
    assert data["candidates"][0]["support"]["resources"][0]["name"] == "lb-net"
    reasons = {(e["provider"], e["region"]): e["reason"] for e in data["excluded"]}
    assert reasons[("alpha", "a-us1")] == "over budget 70 USD: 71.10"


def test_a_plain_estimate_says_where_and_why(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, spec(*stack()))
    assert code == 0
    assert "Estimate for 'shop' (beta, b-us)" in out
    assert out.splitlines()[-1].startswith("placement: beta/b-us, the cheapest of 5")
    code, out, _ = run(tmp_path, spec(*stack()), "--json")
    assert json.loads(out)["placement"]["region"] == "b-us"


def test_errors_exit_2_with_their_paths(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, spec(*stack(), regions=["mars"]), "--compare")
    assert code == 2
    assert "placement.regions[0]: unknown region or group 'mars'" in err
    code, _, err = run(tmp_path, spec(*stack()), "--compare", "--duration", "1d")
    assert code == 2
    assert "--compare prices the month only" in err
