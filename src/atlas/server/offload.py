"""CPU-heavy work off the event loop: worker threads, worker processes, and a deadline for
each request.

Reading, validating, pricing and planning a spec of tens of thousands of resources, and
writing out its answer, is half a second of CPU. On the event loop that would hold every other
request, every event stream and the operations' polling. Here work on :data:`INLINE_BELOW`
resources or more goes to a worker; smaller work (the usual request) stays on the loop, where
it costs less than handing it over.

**Processes for what needs nothing of the server.** A large estimate, and the plan of a spec
nothing is recorded for, need only the body and the installed plugins: one of
:attr:`Settings.cpu_processes <atlas.server.Settings.cpu_processes>` worker processes
(``ATLAS_CPU_PROCESSES``; ``atlas serve`` starts 2) answers them whole
(:mod:`atlas.server.jobs`), bytes in and bytes out. A process has a GIL of its own: eight such
plans use both cores of a two-core machine, and the loop's process keeps its GIL to itself.

**Threads for the rest.** Everything else reads what the server holds: the journal a plan of
an existing infrastructure diffs against (and its basis digests), the providers of a
``?refresh=true`` plan or an import, the spec a create validates and then applies. A process
would get those only as a copy of a large spec each way, which costs about what the work does.
So they run on one of :attr:`Settings.cpu_threads <atlas.server.Settings.cpu_threads>` worker
threads (``ATLAS_CPU_THREADS``, 2), and the GIL decides how the loop fares beside them: while
such work runs, two things are set for the process and put back when the last job ends:

- the switch interval is :data:`SWITCH_INTERVAL` (1 ms, from Python's 5 ms): a thread waiting
  for the GIL (the loop, woken by a request) has it back within about that (with 5 ms,
  ``/health`` beside eight large plans on threads had a p99 of 215 ms; with 1 ms, 56 to 85 ms);
- the cyclic garbage collector is paused (for at most :data:`MAX_GC_PAUSE` seconds in a row):
  a full collection over the heap of several large specs holds the GIL for tens to hundreds of
  milliseconds at a time, and is about half of the CPU their validation takes otherwise. What
  the work frees, reference counting frees at once. (A worker process pauses its own collector
  for each job.)

**The deadline.** Each request's heavy work must end within :attr:`Settings.request_deadline
<atlas.server.Settings.request_deadline>` seconds of the request's start
(``ATLAS_REQUEST_DEADLINE``, default 20), waiting for a worker included; beyond it the answer is
``503 DEADLINE_EXCEEDED`` with ``Retry-After``, and what had not started never does. A step a
worker already runs cannot be interrupted: it finishes, its result is dropped, and the request's
next step does not start (nothing of a plan or an estimate is ever written; a change only starts
its operation after this work). Operations running in the background have no deadline, nor
has the answer of a request that started one.

Large answers are written out in pieces (:func:`render_json`), so that the loop can take the
GIL between them rather than wait for one ``json.dumps`` of megabytes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import contextlib
import contextvars
import gc
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from atlas.runtime import default_registry
from atlas.server.errors import ApiError
from atlas.server.settings import REQUEST_DEADLINE_ENV

__all__ = [
    "INLINE_BELOW",
    "WorkerPool",
    "deadline_exceeded",
    "in_worker",
    "no_deadline",
    "render_json",
    "request_deadline",
    "warm",
]

T = TypeVar("T")

logger = logging.getLogger("atlas.server")

#: Work on fewer resources than this (a few milliseconds) runs on the event loop itself.
INLINE_BELOW = 256
#: The GIL switch interval while heavy work runs (seconds).
SWITCH_INTERVAL = 0.001
#: The longest the collector stays paused while heavy work keeps coming (seconds).
MAX_GC_PAUSE = 10.0
#: How soon a caller refused by the deadline may try again (seconds).
RETRY_AFTER = 5
#: Items of a list written out by one ``json.dumps`` call (about a millisecond of the GIL).
_CHUNK = 512

#: When the request being served must be done with its heavy work (``time.monotonic()``).
_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "atlas_request_deadline", default=None
)


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """The request served inside must be done with its heavy work within ``seconds``."""
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextlib.contextmanager
def no_deadline() -> Iterator[None]:
    """No deadline inside: for an operation, which outlives the request that started it (and
    whose context it inherits), and for the answer of a request that started one (which has
    done what it was asked: only a failure it cannot report could come of a deadline now)."""
    token = _deadline.set(None)
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_exceeded(seconds: float) -> ApiError:
    return ApiError(
        503,
        "DEADLINE_EXCEEDED",
        f"the request's work did not finish within the server's deadline of {seconds:g} s "
        f"({REQUEST_DEADLINE_ENV}): the server is busy, or the spec is very large; nothing was "
        "changed, try again later",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


class WorkerPool:
    """The worker threads, and the worker processes if any (see the module docstring); one
    per app, closed at shutdown.

    :meth:`run` is the :class:`~atlas.facade.CpuRunner` the service's AsyncAtlas instances
    get; :meth:`offload` sends work to a worker thread whatever its size, :meth:`in_process`
    to a worker process.
    """

    def __init__(
        self, threads: int, *, processes: int = 0, inline_below: int = INLINE_BELOW
    ) -> None:
        if threads < 1:
            raise ValueError(f"a worker pool needs at least one thread, not {threads}")
        self.threads = threads
        self.processes = processes
        self.inline_below = inline_below
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._processes: concurrent.futures.ProcessPoolExecutor | None = None
        #: Per event loop (a semaphore belongs to one): the slots of the threads, of the
        #: processes.
        self._slots: dict[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, ...]] = {}
        self._heavy = _HeavyWork()

    async def run(self, work: Callable[[], T], size: int) -> T:
        """``work()``, a step on ``size`` resources: in place when small, else on a worker."""
        if size < self.inline_below:
            return work()
        return await self.offload(work)

    async def offload(self, work: Callable[[], T]) -> T:
        """``work()`` on a worker thread, within the request's deadline (if any); raises
        :func:`deadline_exceeded`'s error beyond it, and whatever ``work`` raises."""
        loop = asyncio.get_running_loop()
        executor = self._threads()
        job = contextvars.copy_context().run  # the request id reaches the worker's logs
        return await self._bounded(
            self._slots_of(loop)[0],
            lambda: loop.run_in_executor(executor, job, self._heavy.around, work),
        )

    async def in_process(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in a worker process (a function of a module and arguments that
        pickle), within the request's deadline; on a worker thread when there are no worker
        processes, or when one has died (they are started again for the next job)."""
        if not self.processes:
            return await self.offload(lambda: work(*args))
        loop = asyncio.get_running_loop()
        executor = self._worker_processes()
        try:
            return await self._bounded(
                self._slots_of(loop)[1],
                lambda: loop.run_in_executor(executor, in_worker, work, *args),
            )
        except concurrent.futures.process.BrokenProcessPool:
            logger.warning("a worker process died; starting them again, and working on a thread")
            if self._processes is executor:
                self._processes = None
            executor.shutdown(wait=False, cancel_futures=True)
            return await self.offload(lambda: work(*args))

    def start(self) -> None:
        """Start the worker processes now, each loading the plugins, rather than at the first
        job (which would wait for that)."""
        if self.processes:
            executor = self._worker_processes()
            for _ in range(self.processes):
                executor.submit(warm)

    def close(self) -> None:
        """Stop the workers; work not started is dropped, work running finishes alone."""
        for executor in (self._executor, self._processes):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._processes = None
        self._slots.clear()

    async def _bounded(
        self, slots: asyncio.Semaphore, submit: Callable[[], asyncio.Future[T]]
    ) -> T:
        bound = _deadline.get()
        at, seconds = bound if bound is not None else (None, 0.0)
        if at is not None and time.monotonic() >= at:
            raise deadline_exceeded(seconds)
        try:
            # A worker first: the wait counts toward the deadline, and a job still waiting
            # when it passes never starts.
            async with asyncio.timeout(_remaining(at)):
                await slots.acquire()
        except TimeoutError:
            raise deadline_exceeded(seconds) from None
        try:
            future = submit()
        except BaseException:
            slots.release()
            raise
        # The worker is given back when the work really ends, not when a caller stops waiting.
        future.add_done_callback(lambda _: slots.release())
        try:
            async with asyncio.timeout(_remaining(at)):
                return await asyncio.shield(future)
        except TimeoutError:
            raise deadline_exceeded(seconds) from None

    def _threads(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                self.threads, thread_name_prefix="atlas-cpu"
            )
        return self._executor

    def _worker_processes(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._processes is None:
            # Spawned, not forked: the server has threads (and a loop, and sockets) a fork
            # would copy in whatever state they are in.
            self._processes = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        return self._processes

    def _slots_of(self, loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Semaphore, ...]:
        # As many jobs as workers are handed over; the others wait here, where the deadline
        # can still stop them.
        found = self._slots.get(loop)
        if found is None:
            self._slots.clear()  # (a test's earlier loop, closed)
            found = self._slots[loop] = (
                asyncio.Semaphore(self.threads),
                asyncio.Semaphore(max(1, self.processes)),
            )
        return found


def _remaining(at: float | None) -> float | None:
    return None if at is None else max(0.0, at - time.monotonic())


class _HeavyWork:
    """The process settings for while heavy work runs (the module docstring says why)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._interval: float | None = None
        self._gc_paused_at: float | None = None

    def around(self, work: Callable[[], T]) -> T:
        self._enter()
        try:
            return work()
        finally:
            self._exit()

    def _enter(self) -> None:
        with self._lock:
            self._running += 1
            if self._running == 1:
                self._interval = sys.getswitchinterval()
                sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
                if gc.isenabled():  # (never re-enabled here if someone else turned it off)
                    gc.disable()
                    self._gc_paused_at = time.monotonic()
            elif (
                self._gc_paused_at is not None
                and time.monotonic() - self._gc_paused_at > MAX_GC_PAUSE
            ):
                # Heavy work has not stopped for a while: collect as usual again, until the
                # pool is next idle, rather than let cyclic garbage pile up.
                gc.enable()
                self._gc_paused_at = None

    def _exit(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running:
                return
            if self._interval is not None:
                sys.setswitchinterval(self._interval)
                self._interval = None
            if self._gc_paused_at is not None:
                gc.enable()
                self._gc_paused_at = None


def in_worker(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a worker process, without the cyclic collector: a job's objects are
    freed by reference counting when it ends, and collecting meanwhile would only repeat
    passes over the spec it holds (half its CPU). The process does nothing else."""
    gc.disable()
    try:
        return work(*args)
    finally:
        gc.enable()


def warm() -> int:
    """Load the plugins in a new worker process, and freeze what they made out of the
    collector (it lives as long as the process); the worker's pid."""
    default_registry()
    gc.collect()
    gc.freeze()
    return os.getpid()


def render_json(content: Any) -> bytes:
    """``content`` as Starlette's JSONResponse writes it (compact, UTF-8, no NaN), byte for
    byte, but a long list a few hundred items per ``json.dumps``: each call holds the GIL
    throughout, and one for megabytes would hold it for tens of milliseconds."""
    out: list[str] = []
    _render(content, out)
    return "".join(out).encode("utf-8")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _render(value: Any, out: list[str]) -> None:
    # Mappings are walked down to the long lists they hold (a plan's changes, an
    # infrastructure's resources), which go a chunk per call; anything else is one call.
    if type(value) is list and len(value) > _CHUNK:
        out.append("[")
        for start in range(0, len(value), _CHUNK):
            if start:
                out.append(",")
            out.append(_dumps(value[start : start + _CHUNK])[1:-1])
        out.append("]")
    elif type(value) is list and any(_holds_long_list(item) for item in value):
        # A short list of mappings that hold long lists: a page of large infrastructures.
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _render(item, out)
        out.append("]")
    elif type(value) is dict and all(type(k) is str for k in value):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(("," if i else "") + _dumps(key) + ":")
            if type(item) in (dict, list):
                _render(item, out)
            else:
                out.append(_dumps(item))
        out.append("}")
    else:
        out.append(_dumps(value))


def _holds_long_list(value: Any) -> bool:
    return type(value) is dict and any(type(v) is list and len(v) > _CHUNK for v in value.values())
