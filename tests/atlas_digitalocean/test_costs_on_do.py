"""Accrued cost on DigitalOcean, through the emulator on a fake clock: a droplet's month to
date from the journal, per second under the 2026 rule, a resize priced at each size for its
own span, and the emulator's own bill (``--actual``) beside it."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from atlas.cli import main
from atlas.cost.accrual import journal_spans
from atlas.credentials import Secret
from atlas.facade import AsyncAtlas
from atlas.providers import ProviderRegistry
from atlas.server import AuthConfig, Settings, create_app
from atlas.store import SQLiteStore
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from tests.atlas.server.conftest import SECRET, Served, bearer

TOKEN = "dop_v1_" + "cd34" * 16  # made up
MARCH = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
PER_SECOND = Decimal(6) / 2_419_200  # $6 a month over 672 hours


def at(clock: ManualClock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock(), dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MARCH.timestamp())


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    return Emulator(EmulatorConfig(latency_scale=1.0, seed=5, droplet_limit=10), clock=clock)


@pytest.fixture
async def atlas_(
    emulator: Emulator, clock: ManualClock, registry: ProviderRegistry
) -> AsyncIterator[AsyncAtlas]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    provider = DigitalOceanProvider(
        TOKEN,
        transport=emulator.transport(),
        env={},
        settings=OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep),
    )
    store = SQLiteStore(":memory:", clock=lambda: at(clock))
    async with AsyncAtlas(
        store=store, registry=registry, providers={"digitalocean": provider}
    ) as a:
        yield a


def droplet(size: str = "s-1vcpu-1gb") -> dict[str, Any]:
    return {
        "name": "meter",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": [
            {
                "type": "droplet",
                "name": "web",
                "specifications": {"size": size, "image": "ubuntu-24-04-x64"},
            }
        ],
    }


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), ROUND_HALF_UP)


async def _run_for(atlas_: AsyncAtlas, clock: ManualClock, seconds: int) -> int:
    """Apply one droplet, let it run ``seconds``, destroy it: the seconds the journal bills."""
    op = await atlas_.apply(droplet())
    assert op.status == "completed", op.error
    clock.advance(seconds)
    done = await atlas_.destroy("meter")
    assert done.status == "completed", done.error
    (span,) = journal_spans(
        atlas_.store, "default", atlas_.get("meter").infrastructure, atlas_.registry
    )
    assert span.end is not None
    return int((span.end - span.start).total_seconds())


async def test_ten_minutes_of_a_six_dollar_droplet_accrue_one_cent(
    atlas_: AsyncAtlas, clock: ManualClock
) -> None:
    billed = await _run_for(atlas_, clock, 600)
    assert 600 <= billed < 700  # the boot and the delete's wait count too
    report = atlas_.costs("meter", month="2026-03", now=at(clock))
    (infra,) = report.infrastructures
    (res,) = infra.resources
    assert res.seconds == billed
    assert not res.live
    # 600 s x 6 / 2,419,200 = 0.0015: the minimum charge, $0.01, is higher.
    assert res.accrued == res.forecast == Decimal("0.01")
    assert report.accrued == Decimal("0.01")


async def test_three_days_accrue_sixty_four_cents(atlas_: AsyncAtlas, clock: ManualClock) -> None:
    billed = await _run_for(atlas_, clock, 259_200)
    report = atlas_.costs(month="2026-03", now=at(clock))
    assert report.accrued == cents(billed * PER_SECOND) == Decimal("0.64")
    # The chart: three whole days and the start of a fourth, adding up to the month to date.
    days = report.daily
    assert [d.isoformat() for d, _ in days][:2] == ["2026-03-01", "2026-03-02"]
    assert sum(c for _, c in days) == report.accrued
    assert days[0][1] == 0  # nothing ran on March 1
    # A whole day is 86,400 x 6 / 2,419,200 = 0.214; the days are differences of rounded
    # month-to-date figures, so a day shows 0.21 or 0.22.
    assert days[2][1] in (Decimal("0.21"), Decimal("0.22"))


async def test_a_resize_is_priced_at_each_size_for_its_own_span(
    atlas_: AsyncAtlas, clock: ManualClock
) -> None:
    assert (await atlas_.apply(droplet())).status == "completed"
    clock.advance(86_400)
    resized = await atlas_.apply(droplet("s-2vcpu-4gb"))
    assert resized.status == "completed", resized.error
    clock.advance(86_400)
    assert (await atlas_.destroy("meter")).status == "completed"
    infra = atlas_.get("meter").infrastructure
    small, large = journal_spans(atlas_.store, "default", infra, atlas_.registry)
    assert [m.sku for m in small.meters] == ["droplet:s-1vcpu-1gb"]
    assert [m.sku for m in large.meters] == ["droplet:s-2vcpu-4gb"]
    assert small.end == large.start
    s1 = int((small.end - small.start).total_seconds())  # type: ignore[operator]
    s2 = int((large.end - large.start).total_seconds())  # type: ignore[operator]
    expected = cents(s1 * PER_SECOND) + cents(s2 * Decimal(24) / 2_419_200)
    report = atlas_.costs(month="2026-03", now=at(clock))
    assert report.accrued == expected
    assert Decimal("1.07") <= expected <= Decimal("1.08")  # 0.21 + 0.86, and the resize's wait


async def test_a_live_droplet_is_forecast_to_the_end_of_the_month(
    atlas_: AsyncAtlas, clock: ManualClock
) -> None:
    assert (await atlas_.apply(droplet())).status == "completed"
    clock.advance(86_400)
    report = atlas_.costs(now=at(clock))
    (res,) = report.infrastructures[0].resources
    assert res.live
    assert report.period == "2026-03"
    assert res.accrued == cents(res.seconds * PER_SECOND)
    # From March 2 to April 1 is 30 days, over the 672-hour cap: the whole $6.
    assert res.forecast == Decimal("6.00")
    # An earlier month has nothing; a later one nothing yet accrued.
    assert atlas_.costs(month="2026-02", now=at(clock)).infrastructures == ()


async def test_the_emulator_bills_what_ran_and_atlas_agrees(
    atlas_: AsyncAtlas, clock: ManualClock
) -> None:
    assert (await atlas_.apply(droplet())).status == "completed"
    clock.advance(3 * 86_400)
    actual = await atlas_.actual_costs("digitalocean", now=at(clock))
    assert actual is not None
    assert not actual.final
    assert actual.source == "GET /v2/customers/my/balance"
    estimate = atlas_.costs(now=at(clock)).accrued
    assert actual.amount == estimate
    # Into April: March is invoiced, the preview is April's.
    clock.set(dt.datetime(2026, 4, 3, tzinfo=dt.UTC).timestamp())
    march = await atlas_.actual_costs("digitalocean", month="2026-03")
    assert march is not None
    assert march.final
    assert march.amount == Decimal("6.00")
    assert march.source == "GET /v2/customers/my/invoices"
    assert atlas_.costs(month="2026-03", now=at(clock)).accrued == Decimal("6.00")


async def test_the_cli_and_the_http_api_agree_to_the_cent(
    emulator: Emulator, clock: ManualClock, registry: ProviderRegistry, tmp_path: Path
) -> None:
    path = str(tmp_path / "state.db")

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep)
    provider = DigitalOceanProvider(
        TOKEN, transport=emulator.transport(), env={}, settings=settings
    )
    store = SQLiteStore(path, clock=lambda: at(clock))
    async with AsyncAtlas(
        store=store, registry=registry, workspace="ws-a", providers={"digitalocean": provider}
    ) as a:
        assert (await a.apply(droplet())).status == "completed"
        clock.advance(100_000)
        assert (await a.apply(droplet("s-2vcpu-4gb"))).status == "completed"
        clock.advance(50_000)
    out, err = io.StringIO(), io.StringIO()
    argv = ["costs", "--month", "2026-03", "--workspace", "ws-a", "--state", path]
    # The command runs an event loop of its own: off this one.
    code = await asyncio.to_thread(main, [*argv, "--json"], out=out, err=err)
    assert code == 0, out.getvalue()
    from_cli = json.loads(out.getvalue())
    app = create_app(
        Settings(
            store=SQLiteStore(path), registry=registry, auth=AuthConfig(jwt_secret=Secret(SECRET))
        )
    )
    async with app.router.lifespan_context(app), Served(app).client(bearer("ws-a")) as client:
        r = await client.get("/api/v1/costs", params={"month": "2026-03"})
    assert r.status_code == 200, r.text
    from_http = r.json()["costs"]
    del from_cli["as_of"], from_http["as_of"]  # each says when it was asked
    assert from_cli == from_http
    # March is over for both (the real clock is past it) and the droplet still exists: about
    # 100,000 s at $6 (0.25), then the rest of March at $24, over its cap (24.00).
    assert from_cli["month_to_date"] == from_cli["forecast"] == 24.25
    text = io.StringIO()
    assert await asyncio.to_thread(main, argv, out=text, err=err) == 0
    lines = text.getvalue().splitlines()
    assert lines[0].startswith("Costs of workspace 'ws-a' for 2026-03 (as of ")
    total = next(line for line in lines if line.startswith("Total (USD)"))
    assert total.split()[-2:] == [f"{from_cli['month_to_date']:.2f}"] * 2
    assert "Per day" not in text.getvalue()  # not a terminal: no chart
    terminal = Terminal()
    assert await asyncio.to_thread(main, argv, out=terminal, err=err) == 0
    chart = terminal.getvalue().split("Per day (USD):\n")[1].splitlines()
    assert len(chart) == 31  # one bar a day of March
    assert chart[0] == "03-01 " + " " * 40 + " 0.00"
    # The widest bars are the dearest days, whole days at $24 (86,400 x 24 / 2,419,200 =
    # 0.857); March 2, at $6 for 0.21, has a quarter of the width.
    assert all(line.endswith(" 0.86") for line in chart if "#" * 40 in line)
    assert (
        chart[1] == "03-02 " + f"{'#' * int(Decimal('0.21') * 40 / Decimal('0.86')):<40}" + " 0.21"
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_the_cli_sets_shows_checks_and_clears_the_budget(
    emulator: Emulator, clock: ManualClock, registry: ProviderRegistry, tmp_path: Path
) -> None:
    path = str(tmp_path / "state.db")

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    settings = OpsSettings(poll_interval=1.0, clock=clock, sleep=sleep)
    provider = DigitalOceanProvider(
        TOKEN, transport=emulator.transport(), env={}, settings=settings
    )
    async with AsyncAtlas(
        store=SQLiteStore(path, clock=lambda: at(clock)),
        registry=registry,
        providers={"digitalocean": provider},
    ) as a:
        assert (await a.apply(droplet())).status == "completed"  # in March 2026, still there

    async def run(*argv: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        code = await asyncio.to_thread(main, [*argv, "--state", path], out=out, err=err)
        return code, out.getvalue() + err.getvalue()

    assert await run("budget", "show") == (0, "No budget for workspace 'default'.\n")
    assert (await run("budget", "set", "0.01", "--thresholds", "100,50"))[0] == 0
    code, text = await run("budget", "show", "--json")
    assert json.loads(text) == {
        "budget": {
            "monthly_limit": 0.01,
            "currency": "USD",
            "thresholds": [50, 100],
            "include_forecast": False,
        }
    }
    code, text = await run("budget", "set", "5", "--thresholds", "fifty")
    assert code == 2
    assert "--thresholds 'fifty' is not whole percentages" in text
    code, text = await run("budget", "set", "5", "--thresholds", "0")
    assert code == 2
    assert "budget.thresholds[0]" in text
    # This month (on the real clock) the droplet has cost at least the $0.01 minimum.
    code, text = await run("budget", "check", "--json")
    assert code == 0, text
    checked = json.loads(text)
    assert [c["threshold_percent"] for c in checked["crossed"]] == [50, 100]
    assert checked["crossed"][0]["scope"] == "workspace"
    assert await run("budget", "check") == (0, "No threshold newly crossed.\n")
    assert (await run("budget", "clear"))[0] == 0
    assert (await run("budget", "show"))[1] == "No budget for workspace 'default'.\n"
