"""The progress display (atlas.cli.progress) on a fake clock and a string stream: a line as each
step starts and ends with its own elapsed time, heartbeats while steps run quietly, one line
per stretch of rate-limit holds, and the same lines from a stale (always pending) step."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from decimal import Decimal

import pytest

from atlas.cli.progress import HEARTBEAT_NOT_TTY, HEARTBEAT_TTY, ProgressPrinter, elapsed
from atlas.http import announce_hold
from atlas.model.records import OperationRecord, StepAction, StepRecord, StepStatus


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def op(done: int = 0, total: int = 4) -> OperationRecord:
    return OperationRecord(
        id="op-1",
        workspace="default",
        infrastructure_id="infra-1",
        kind="apply",
        status="in_progress",
        total_steps=total,
        completed_steps=done,
        current_step=None,
        created_resources=(),
        cost_change=Decimal(0),
        currency="USD",
        error=None,
        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        finished_at=None,
        spec={},
    )


def step(
    index: int,
    resource: str,
    status: StepStatus,
    *,
    type: str = "droplet",
    action: StepAction = "create",
    error: str | None = None,
    note: str | None = None,
) -> StepRecord:
    return StepRecord("op-1", index, resource, type, action, status, (), error, None, None, note)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def printer(out: io.StringIO, clock: Clock) -> ProgressPrinter:
    return ProgressPrinter(out, clock=clock, heartbeat_every=30.0)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_each_step_starts_and_ends_with_its_own_time(
    printer: ProgressPrinter, out: io.StringIO, clock: Clock
) -> None:
    printer(op(0), step(0, "web", "running"))
    clock.now += 2.0
    printer(op(0), step(1, "db", "running", type="database"))
    clock.now += 3.25
    printer(op(1), step(0, "web", "done"))
    clock.now += 40.0
    printer(op(2), step(1, "db", "done", type="database"))
    assert lines(out) == [
        "[0/4] create droplet web ...",
        "[0/4] create database db ...",
        "[1/4] create droplet web: done in 5.2s",
        "[2/4] create database db: done in 43.2s",
    ]


def test_how_a_step_ended_is_said(printer: ProgressPrinter, out: io.StringIO, clock: Clock) -> None:
    printer(op(0), step(0, "web", "running"))
    printer(op(0), step(1, "db", "running"))
    printer(op(0), step(2, "kept", "running", action="delete"))
    clock.now += 1.0
    printer(op(0), step(0, "web", "failed", error="quota exceeded"))
    printer(op(0), step(1, "db", "timed_out", error="not ready in 600s"))
    printer(op(1), step(2, "kept", "done", action="delete", note="left in place: imported"))
    printer(op(1), step(3, "net", "rolled_back"))
    assert lines(out)[3:] == [
        "[0/4] create droplet web: failed in 1.0s: quota exceeded",
        "[0/4] create droplet db: timed out in 1.0s: not ready in 600s",
        "[1/4] delete droplet kept: done in 1.0s: left in place: imported",
        "[1/4] create droplet net: rolled back",
    ]


def test_a_stale_pending_step_starts_then_ends(
    printer: ProgressPrinter, out: io.StringIO, clock: Clock
) -> None:
    """An executor that passes the plan's copy of the step (always ``pending``)."""
    printer(op(0), step(0, "web", "pending"))
    clock.now += 1.5
    printer(op(1), step(0, "web", "pending"))
    printer(op(1), step(0, "web", "pending"))  # nothing more to say about it
    assert lines(out) == ["[0/4] create droplet web ...", "[1/4] create droplet web: done in 1.5s"]


def test_a_heartbeat_lists_what_runs_when_all_is_quiet(
    printer: ProgressPrinter, out: io.StringIO, clock: Clock
) -> None:
    printer.tick()
    assert lines(out) == []  # nothing runs: nothing to say
    printer(op(0, total=5), step(0, "web", "running"))
    clock.now += 5.0
    printer(op(0, total=5), step(1, "db", "running", type="database"))
    clock.now += 29.0
    printer.tick()
    assert len(lines(out)) == 2  # 29 s of quiet: not yet
    clock.now += 1.0
    printer.tick()
    assert lines(out)[-1] == (
        "... still running: create droplet web 35.0s, create database db 30.0s; 3 steps not started"
    )
    printer.tick()
    assert len(lines(out)) == 3  # the heartbeat itself counts as a line
    clock.now += 60.0
    printer(op(1, total=5), step(0, "web", "done"))
    clock.now += 30.0
    printer.tick()
    assert lines(out)[-1] == "... still running: create database db 2m00s; 3 steps not started"


def test_the_heartbeat_is_quicker_on_a_terminal(clock: Clock) -> None:
    assert ProgressPrinter.for_stream(Tty(), clock=clock).heartbeat_every == HEARTBEAT_TTY == 10
    assert ProgressPrinter.for_stream(io.StringIO()).heartbeat_every == HEARTBEAT_NOT_TTY == 30


def test_holds_get_one_line_per_stretch(
    printer: ProgressPrinter, out: io.StringIO, clock: Clock
) -> None:
    printer.on_hold(0.2, "spacing them out")  # too short to mention
    printer.on_hold(12.0, "the limit of 250 requests per 60s is reached")
    clock.now += 3.0
    printer.on_hold(9.0, "the limit of 250 requests per 60s is reached")  # within the first
    clock.now += 20.0
    printer.on_hold(4.0, "the API answered 429 Too Many Requests")
    assert lines(out) == [
        "... requests held back 12.0s: the limit of 250 requests per 60s is reached",
        "... requests held back 4.0s: the API answered 429 Too Many Requests",
    ]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.04, "0.0s"), (5.26, "5.3s"), (59.9, "59.9s"), (125, "2m05s"), (3725, "1h02m")],
)
def test_elapsed_times_read_short(seconds: float, shown: str) -> None:
    assert elapsed(seconds) == shown


async def test_live_beats_and_hears_holds_only_while_it_runs(out: io.StringIO) -> None:
    printer = ProgressPrinter(out, heartbeat_every=0.01)
    async with printer.live(poll=0.01):
        printer(op(0), step(0, "web", "running"))
        announce_hold(5.0, "the API asked for a pause (429, or none left)")
        for _ in range(200):  # generous: a loaded machine still beats within 2 s
            await asyncio.sleep(0.01)
            if "still running" in out.getvalue():
                break
    announce_hold(50.0, "heard by nobody")
    text = out.getvalue()
    assert "... still running: create droplet web" in text
    assert "... requests held back 5.0s: the API asked for a pause (429, or none left)" in text
    assert "heard by nobody" not in text
    assert printer.running() == ["create droplet web"]
