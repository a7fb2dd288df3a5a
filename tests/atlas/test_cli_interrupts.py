"""The interrupt handling of the operation commands (atlas.cli.interrupts), in this process: the
loop's own signal handlers count signals (the first sets ``stop``, the second cancels), are
removed afterwards, and the closing paragraph says what became of each step. The real thing,
a signal sent to `atlas apply` in a process of its own, is tests/test_interrupts.py."""

from __future__ import annotations

import asyncio
import signal

import pytest

from atlas.cli.interrupts import Interrupts, report
from atlas.facade import AsyncAtlas
from atlas.store import SQLiteStore


async def _signal_and_settle(sig: signal.Signals = signal.SIGINT) -> None:
    signal.raise_signal(sig)
    for _ in range(50):  # the loop reads the signal off its wakeup socket
        await asyncio.sleep(0.001)


async def test_the_first_signal_sets_stop_and_the_second_cancels() -> None:
    stop = asyncio.Event()
    said: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    cancelled = False
    with Interrupts(
        stop, lambda: said.append("first"), lambda: said.append("again"), hard_exit_after=600
    ) as interrupts:
        await _signal_and_settle(signal.SIGTERM)
        assert stop.is_set()
        assert (said, interrupts.cancelled) == (["first"], False)
        try:
            await _signal_and_settle()
        except asyncio.CancelledError:
            cancelled = True
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
    assert cancelled
    assert said == ["first", "again"]
    assert interrupts.cancelled
    # Handed back: Ctrl-C outside an operation is the default behaviour again.
    assert signal.getsignal(signal.SIGINT) == before


@pytest.fixture
def atlas_() -> AsyncAtlas:
    return AsyncAtlas(store=SQLiteStore(":memory:"))


def test_an_interrupt_before_any_operation_changed_nothing(atlas_: AsyncAtlas) -> None:
    said = report(atlas_, None, again="atlas apply shop.yaml", name="shop")
    assert said == "Interrupted before any step started: nothing was changed.\n"
