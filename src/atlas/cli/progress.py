"""What a person, or an agent reading the output, sees while an operation runs.

Plain lines, one per event, so that a log, a pipe and a terminal read alike::

    [0/8] create vpc net ...
    [1/8] create vpc net: done in 0.4s
    [1/8] create database db ...
    ... still running: create database db 30s; 4 steps not started
    ... requests held back 12.0s: the limit of 250 requests per 60s is reached
    [2/8] create database db: done in 41.2s

- A step has a line when it starts and one when it ends (``done``, ``failed``, ``timed out``,
  ``rolled back``), with the time since it started. ``[done/total]`` counts the steps done.
- While steps run and nothing else is printed, a heartbeat line lists what is still running
  and for how long: every 10 s on a terminal, every 30 s otherwise.
- When the rate limiter (or a 429) holds requests back for a second or more, a line says for
  how long and why (:func:`atlas.http.hold_listener`).

The printer is driven by ``on_progress(operation, step)`` callbacks and reads the step's
status; a step still shown ``pending`` (an executor that passes the plan's copy) is taken to
start the first time it is seen and to end the second. Time comes from an injected clock, so
tests run on a fake one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TextIO

import attrs

if TYPE_CHECKING:
    from atlas.model.records import OperationRecord, StepRecord

__all__ = ["HEARTBEAT_NOT_TTY", "HEARTBEAT_TTY", "ProgressPrinter", "elapsed"]

#: Seconds of quiet before a heartbeat line, on a terminal and elsewhere (logs, pipes, agents).
HEARTBEAT_TTY, HEARTBEAT_NOT_TTY = 10.0, 30.0
#: Holds shorter than this are not worth a line: the limiter spaces requests by less all along.
MIN_HOLD = 1.0

_ENDED = {
    "done": "done",
    "failed": "failed",
    "timed_out": "timed out",
    "rolled_back": "rolled back",
}


def elapsed(seconds: float) -> str:
    """``0.4s``, ``41.2s``, ``2m05s``, ``1h02m``: short, and exact enough to compare."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@attrs.define
class _Running:
    label: str
    since: float


@attrs.define(eq=False)
class ProgressPrinter:
    """Writes an operation's progress to ``out``; pass the instance as ``on_progress``.

    :param clock: monotonic seconds (a fake one in tests).
    :param heartbeat_every: seconds of quiet before a heartbeat (see :meth:`for_stream`).
    """

    out: TextIO
    clock: Callable[[], float] = time.monotonic
    heartbeat_every: float = HEARTBEAT_NOT_TTY
    #: The latest operation record seen: what an interrupt message reports on.
    operation: OperationRecord | None = None
    _running: dict[tuple[str, int], _Running] = attrs.field(factory=dict)
    _ended: set[tuple[str, int]] = attrs.field(factory=set)
    _last_line: float | None = None
    _held_until: float = float("-inf")

    @classmethod
    def for_stream(
        cls, out: TextIO, *, clock: Callable[[], float] = time.monotonic
    ) -> ProgressPrinter:
        """A printer whose heartbeat suits ``out``: every 10 s on a terminal, else 30 s."""
        tty = hasattr(out, "isatty") and out.isatty()
        return cls(out, clock=clock, heartbeat_every=HEARTBEAT_TTY if tty else HEARTBEAT_NOT_TTY)

    # -- the callbacks -----------------------------------------------------------------------

    def __call__(self, op: OperationRecord, step: StepRecord | None) -> None:
        """``on_progress``: a step started or ended (or, with ``step=None``, nothing to say)."""
        self.operation = op
        if step is None:
            return
        key = (step.operation_id, step.index)
        label = f"{step.action} {step.type} {step.resource}"
        counter = f"[{op.completed_steps}/{op.total_steps}]"
        now = self.clock()
        running = self._running.get(key)
        if step.status == "running" or (step.status == "pending" and running is None):
            if running is None and key not in self._ended:
                self._running[key] = _Running(label, now)
                self._write(f"{counter} {label} ...")
            return
        ended = _ENDED.get(step.status, "done")  # a stale "pending" seen twice: it ended
        self._running.pop(key, None)
        self._ended.add(key)
        took = f" in {elapsed(now - running.since)}" if running is not None else ""
        detail = step.error if step.status in ("failed", "timed_out") else step.note
        self._write(f"{counter} {label}: {ended}{took}" + (f": {detail}" if detail else ""))

    def on_hold(self, seconds: float, reason: str) -> None:
        """:data:`atlas.http.HoldListener`: requests wait ``seconds``; said once per hold."""
        now = self.clock()
        until = now + seconds
        # The limiter announces each wait of its queue's head; one line covers a stretch.
        if seconds < MIN_HOLD or until <= self._held_until + MIN_HOLD:
            return
        self._held_until = until
        self._write(f"... requests held back {elapsed(seconds)}: {reason}")

    def tick(self) -> None:
        """Write a heartbeat if steps are running and nothing was printed for a while."""
        if not self._running or self._last_line is None:
            return
        now = self.clock()
        if now - self._last_line < self.heartbeat_every:
            return
        runs = ", ".join(
            f"{r.label} {elapsed(now - r.since)}"
            for r in sorted(self._running.values(), key=lambda r: r.since)
        )
        waiting = self._not_started()
        tail = f"; {waiting} step{'s' if waiting != 1 else ''} not started" if waiting else ""
        self._write(f"... still running: {runs}{tail}")

    def running(self) -> list[str]:
        """What is under way now, as ``create droplet web`` labels, oldest first."""
        return [r.label for r in sorted(self._running.values(), key=lambda r: r.since)]

    def say(self, line: str) -> None:
        """Write a line of one's own among the progress lines (an interrupt notice)."""
        self._write(line)

    # -- running alongside an operation ------------------------------------------------------

    @contextlib.asynccontextmanager
    async def live(self, *, poll: float = 1.0) -> AsyncIterator[ProgressPrinter]:
        """While the block runs: heartbeats, and a line for each hold of the rate limiter."""
        from atlas.http.holds import hold_listener  # noqa: PLC0415 - not for `atlas --help`

        async def beat() -> None:
            while True:
                await asyncio.sleep(min(poll, self.heartbeat_every))
                self.tick()

        task = asyncio.create_task(beat())
        try:
            with hold_listener(self.on_hold):
                yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- helpers -----------------------------------------------------------------------------

    def _not_started(self) -> int:
        total = self.operation.total_steps if self.operation is not None else 0
        return max(total - len(self._ended) - len(self._running), 0)

    def _write(self, line: str) -> None:
        self._last_line = self.clock()
        self.out.write(line + "\n")
        self.out.flush()
