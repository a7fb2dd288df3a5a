"""``POST /api/v1/estimate-cost?duration=``: a run's cost, each line under its billing rule."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from tests.atlas.server.conftest import spec


async def test_without_a_duration_there_is_no_run(client: httpx.AsyncClient) -> None:
    body = (await client.post("/api/v1/estimate-cost", json=spec())).json()
    assert body["estimated_monthly_cost"] == 22.0
    assert "duration" not in body
    assert "estimated_run_cost" not in body
    for line in body["breakdown"][1]["line_items"]:
        assert "billing" not in line
        assert "run_cost" not in line


async def test_a_duration_prices_the_run_and_names_each_lines_rule(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/v1/estimate-cost", params={"duration": "36h"}, json=spec())
    assert r.status_code == 200
    body = r.json()
    assert body["duration"] == {"text": "36h", "seconds": 36 * 3600}
    # The memory catalog names no rule: hourly up to its 730-hour month. Two small servers at
    # $0.01 an hour for 36 hours, and 74 GB at 0.10 / 730 an hour (0.3649...).
    web, disk = body["breakdown"][1], body["breakdown"][2]
    assert web["estimated_run_cost"] == 0.72
    assert disk["estimated_run_cost"] == 0.36
    assert body["estimated_run_cost"] == 1.08
    for resource in body["breakdown"]:
        for line in resource["line_items"]:
            assert line["billing"]["rule"] == "hourly"
            assert line["billing"]["cap_hours_per_month"] == 730
    # The same figures as the library's (and so as `atlas estimate --duration 36h --json`).
    assert web["line_items"][0]["run_cost"] == 0.72


async def test_the_duration_is_read_like_the_cli_reads_it(client: httpx.AsyncClient) -> None:
    day = await client.post("/api/v1/estimate-cost", params={"duration": "1d"}, json=spec())
    hours = await client.post("/api/v1/estimate-cost", params={"duration": "24h"}, json=spec())
    assert day.json()["estimated_run_cost"] == hours.json()["estimated_run_cost"]
    assert day.json()["duration"] == {"text": "1d", "seconds": 86400}


@pytest.mark.parametrize("bad", ["", "0s", "36", "h", "1.5h", "-2h", "3w", "36h ok"])
async def test_a_malformed_duration_is_422_naming_it(client: httpx.AsyncClient, bad: str) -> None:
    r = await client.post("/api/v1/estimate-cost", params={"duration": bad}, json=spec())
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert [p["path"] for p in body["problems"]] == ["duration"]
    assert "duration" in body["problems"][0]["message"]


def test_the_duration_is_documented(app: Starlette) -> None:
    op = app.state.service.document["paths"]["/api/v1/estimate-cost"]["post"]
    (param,) = [p for p in op["parameters"] if p["name"] == "duration"]
    assert (param["in"], param["required"]) == ("query", False)
    pattern = re.compile(param["schema"]["pattern"])
    for good in ("10m", "36h", "45d", "1d12h", "90s", "0h5m"):
        assert pattern.fullmatch(good), good
    for bad in ("0s", "0h0m", "36", "1.5h", "3w"):
        assert not pattern.fullmatch(bad), bad
