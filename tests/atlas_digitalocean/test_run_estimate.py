"""``atlas estimate FILE --duration D``: a run priced under each product's 2026 billing rule."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from atlas.cli import main
from atlas.cost import parse_duration
from atlas.cost.engine import estimate_spec
from atlas.runtime import default_registry, load_spec
from tests.conftest import EXAMPLES


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_json(path: Path, duration: str) -> dict[str, Any]:
    code, out, err = run("estimate", str(path), "--duration", duration, "--json")
    assert (code, err) == (0, "")
    data: dict[str, Any] = json.loads(out)
    return data


def droplet_spec(tmp_path: Path, size: str) -> Path:
    spec = json.loads((EXAMPLES / "one-droplet.json").read_text(encoding="utf-8"))
    spec["resources"][0]["specifications"]["size"] = size
    path = tmp_path / f"{size}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


@pytest.mark.parametrize(("duration", "cost"), [("10m", 0.01), ("20d", 4.29), ("30d", 6.0)])
def test_the_small_droplet(duration: str, cost: float) -> None:
    data = run_json(EXAMPLES / "one-droplet.json", duration)
    line = data["breakdown"][0]["line_items"][0]
    assert line["sku"] == "droplet:s-1vcpu-1gb"
    assert line["run_cost"] == data["estimated_run_cost"] == cost
    assert line["billing"]["rule"] == "droplet-per-second-2026"
    assert line["billing"]["metering"] == "second"
    assert line["billing"]["as_of"] == "2026-01-01"
    assert data["duration"]["text"] == duration
    assert data["estimated_monthly_cost"] == 6.0  # the monthly figures are unchanged


def test_the_large_droplet_for_ten_minutes(tmp_path: Path) -> None:
    data = run_json(droplet_spec(tmp_path, "s-8vcpu-16gb"), "10m")
    assert data["breakdown"][0]["line_items"][0]["run_cost"] == 0.02
    spec = load_spec(droplet_spec(tmp_path, "s-8vcpu-16gb"), purpose="estimate")
    est = estimate_spec(spec, default_registry(), duration=parse_duration("10m"))
    exact = est.breakdown[0].line_items[0].run_cost
    assert exact is not None
    assert round(exact.amount, 4) == Decimal("0.0238")


def test_a_stack_names_the_rule_of_every_line() -> None:
    data = run_json(EXAMPLES / "stack.yaml", "36h")
    rules = {
        li["sku"].split(":")[0]: li["billing"]["rule"]
        for res in data["breakdown"]
        for li in res["line_items"]
    }
    assert rules["droplet"] == rules["droplet-backups"] == "droplet-per-second-2026"
    for family in ("volume", "database", "load_balancer", "firewall", "vpc"):
        assert rules[family] == "hourly-672", family
    by_name = {res["resource_name"]: res for res in data["breakdown"]}
    assert by_name["data"]["estimated_run_cost"] == 0.54  # 100 GiB x 0.10 / 672 x 36 h
    total = sum(res["estimated_run_cost"] for res in data["breakdown"])
    assert data["estimated_run_cost"] == pytest.approx(total)


def test_the_table_gains_a_column_and_the_rules() -> None:
    code, out, _ = run("estimate", str(EXAMPLES / "one-droplet.json"), "--duration", "45d")
    assert code == 0
    assert out.splitlines()[2].split()[-3:] == ["HOURLY", "FOR", "45d"]
    assert out.splitlines()[-2].split()[-1] == "9.13"  # one capped month, then 350 h
    assert "billing droplet-per-second-2026: per second, minimum 60 s" in out


def test_without_a_duration_nothing_changes() -> None:
    code, out, _ = run("estimate", str(EXAMPLES / "stack.yaml"), "--json")
    assert code == 0
    assert "run_cost" not in out
    assert "billing" not in out
    assert "duration" not in out


@pytest.mark.parametrize("bad", ["10x", "0m", "forever", "1.5h"])
def test_bad_durations_exit_2_naming_the_option(bad: str) -> None:
    code, out, err = run("estimate", str(EXAMPLES / "one-droplet.json"), "--duration", bad)
    assert (code, out) == (2, "")
    assert "atlas estimate: error: argument --duration: duration" in err
