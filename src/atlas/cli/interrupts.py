"""Ctrl-C and SIGTERM while an operation runs: stop starting steps, then, if asked again, stop.

The first SIGINT or SIGTERM sets the operation's ``stop`` event: no new step starts, what is
under way finishes (the cloud calls answer or time out) and is journaled, and the command ends
with one paragraph saying what was done, what is not known yet and what did not start, how to
resume and where to look, and exit status 130. A second signal cancels the operation at once:
what was under way stays ``running`` in the journal, which the next apply reads as "may exist"
and looks for before making anything (the store commits every step as it goes, so nothing is
lost by stopping). If the cancellation itself has not ended within a moment, the process
exits 130 there and then.

The handlers are the event loop's own (``loop.add_signal_handler``), installed only while the
operation runs: asyncio's default SIGINT handling, which turns Ctrl-C into a
``KeyboardInterrupt`` raised wherever the loop happens to be, never sees these signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

import attrs

from atlas.cli.progress import ProgressPrinter
from atlas.exceptions import OperationInterruptedError

if TYPE_CHECKING:
    from atlas.facade import AsyncAtlas
    from atlas.lifecycle.executor import ProgressCallback
    from atlas.model.records import OperationRecord, StepRecord

__all__ = ["EXIT_INTERRUPTED", "Interrupts", "Outcome", "report", "run_operation"]

EXIT_INTERRUPTED = 130
#: Seconds a second interrupt waits for the cancelled operation to unwind before exiting anyway.
HARD_EXIT_AFTER = 2.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The command that carries an interrupted operation on, or how to make it from the operation.
Again: TypeAlias = "str | Callable[[OperationRecord], str]"

#: Starts the operation with the progress callback and the stop event it must honour.
Start = Callable[["ProgressCallback", asyncio.Event], Awaitable["OperationRecord"]]


@attrs.define(eq=False)
class Interrupts:
    """SIGINT/SIGTERM handlers for the running loop, counting what arrives (``with`` block).

    :param on_first: called on the first signal, after ``stop`` is set.
    :param on_again: called on the second, before the task is cancelled.
    """

    stop: asyncio.Event
    on_first: Callable[[], None]
    on_again: Callable[[], None]
    hard_exit_after: float = HARD_EXIT_AFTER
    count: int = 0
    _task: asyncio.Task[Any] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _previous: dict[int, Any] = attrs.field(factory=dict)
    _on_loop: list[int] = attrs.field(factory=list)
    _hard_exit: asyncio.TimerHandle | None = None

    @property
    def cancelled(self) -> bool:
        """Whether a second signal cancelled the operation."""
        return self.count > 1

    def __enter__(self) -> Interrupts:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in _SIGNALS:
            self._previous[sig] = signal.getsignal(sig)
            try:
                self._loop.add_signal_handler(sig, self._signalled)
                self._on_loop.append(sig)
            except (NotImplementedError, RuntimeError):  # Windows; not the main thread
                with contextlib.suppress(ValueError):
                    signal.signal(sig, self._from_signal_module)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        if self._hard_exit is not None:
            self._hard_exit.cancel()
        for sig in _SIGNALS:
            if sig in self._on_loop:
                self._loop.remove_signal_handler(sig)
            # Back to what was there (asyncio.run's own SIGINT handler, say).
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, self._previous[sig])

    def _from_signal_module(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._signalled)

    def _signalled(self) -> None:
        self.count += 1
        if self.count == 1:
            self.stop.set()
            self.on_first()
            return
        if self.count == 2:
            self.on_again()
            if self._task is not None:
                self._task.cancel()
            assert self._loop is not None
            self._hard_exit = self._loop.call_later(self.hard_exit_after, _exit_now)
            return
        _exit_now()  # a third: whatever is still unwinding, go


def _exit_now() -> None:
    """Leave without unwinding: the journal is committed step by step, so it is complete."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(EXIT_INTERRUPTED)


@attrs.frozen
class Outcome:
    """How an operation run by :func:`run_operation` ended: its record (``None`` when it was
    cancelled before one existed), and whether it was interrupted (the paragraph is printed)."""

    operation: OperationRecord | None
    interrupted: bool


async def run_operation(
    atlas: AsyncAtlas,
    out: TextIO,
    start: Start,
    *,
    again: Again,
    name: str | None,
) -> Outcome:
    """Run ``start(progress, stop)`` with live progress on ``out`` and clean interrupts.

    ``again`` is the command that resumes (``atlas apply shop.yaml``), or makes it from the
    operation (a saved plan is stale once applied in part: ``atlas resume ID``), ``name`` the
    infrastructure's, for the hint to ``atlas status`` (looked up when ``None``)."""
    printer = ProgressPrinter.for_stream(out)
    stop = asyncio.Event()

    def first() -> None:
        under_way = ", ".join(printer.running()) or "nothing"
        printer.say(
            f"interrupted: no new step starts; waiting for what is under way ({under_way}) "
            "to finish. Ctrl-C again stops at once."
        )

    def second() -> None:
        printer.say("interrupted again: stopping now.")

    op: OperationRecord | None = None
    with Interrupts(stop, first, second) as signals:
        async with printer.live():
            try:
                op = await start(printer, stop)
            except OperationInterruptedError:
                if not signals.count:
                    raise
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not signals.cancelled or task is None:
                    raise
                task.uncancel()
    if not signals.count:
        return Outcome(op, interrupted=False)
    if op is not None and op.status == "completed":
        out.write("Every step had started before the interrupt, and all of them finished.\n")
        return Outcome(op, interrupted=False)
    known = op or _latest(atlas, printer.operation)
    out.write(report(atlas, known, again=again, name=name))
    return Outcome(known, interrupted=True)


def _latest(atlas: AsyncAtlas, seen: OperationRecord | None) -> OperationRecord | None:
    if seen is None:
        return None
    return atlas.store.get_operation(seen.workspace, seen.id) or seen


def report(atlas: AsyncAtlas, op: OperationRecord | None, *, again: Again, name: str | None) -> str:
    """The paragraph an interrupt ends with: what was done, what is not known yet, what did
    not start, how to resume, where to look."""
    if op is None:
        return "Interrupted before any step started: nothing was changed.\n"
    if name is None:
        infra = atlas.store.get_infrastructure(op.workspace, op.infrastructure_id)
        name = infra.name if infra is not None else op.infrastructure_id
    steps = atlas.store.steps(op.id)
    done = [s for s in steps if s.status == "done"]
    unknown = [s for s in steps if s.status == "running"]
    pending = [s for s in steps if s.status == "pending"]
    failed = [s for s in steps if s.status not in ("done", "running", "pending")]
    names = f" ({', '.join(s.resource for s in done)})" if done else ""
    parts = [f"Interrupted: {len(done)} of {len(steps)} steps done{names}."]
    if unknown:
        parts.append(
            f"Not known yet: {_labels(unknown)} (under way when it stopped; the next run looks "
            "for what they made before making anything)."
        )
    if failed:
        parts.append(f"Did not finish: {_labels(failed)}.")
    if pending:
        parts.append(f"Not started: {len(pending)} step{'s' if len(pending) != 1 else ''}.")
    if op.error and not op.error.startswith("interrupted"):
        parts.append(f"It failed as well: {op.error}.")  # what a rollback did, it says
    else:
        parts.append("Nothing was rolled back.")
    command = again if isinstance(again, str) else again(op)
    parts.append(
        f"`{command}` again carries on from here; `atlas status {name}` shows where it stands."
    )
    # One line: a terminal wraps it, and a script or an agent can find the hint in it.
    return " ".join(parts) + "\n"


def _labels(steps: list[StepRecord]) -> str:
    return ", ".join(f"{s.action} {s.type} {s.resource}" for s in steps)
