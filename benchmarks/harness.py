"""What every benchmark shares: the served emulator, workers in their own process, medians,
call counts from the emulator's request log, and tables.

A workload (atlas or a peer library) runs in a child process (``python -m benchmarks.worker``)
while this process serves the emulator: the client and the server never compete for one GIL,
each run starts with a fresh interpreter (no rate limiter, connection pool or cache carried
over) and a fresh emulator (empty account, empty rate-limit windows). Calls are counted by the
emulator, as it received them, so every library is counted the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from atlas_digitalocean.emulator import (
    EmulatorConfig,
    Latencies,
    RateLimits,
    RequestRecord,
    ServedEmulator,
    serve,
)

REPO = Path(__file__).resolve().parents[1]
#: DigitalOcean's real per-token limits, switched on in every provisioning benchmark.
PER_MINUTE = 250
PER_HOUR = 5000
#: A made-up token: the emulator accepts any; each run has a fresh emulator and process.
TOKEN = "dop_v1_" + "be9c" * 16


def emulator_config(
    *, boot: float = 3.0, droplet_limit: int = 1000, latencies: Latencies | None = None
) -> EmulatorConfig:
    """The account every provisioning run starts from: a fresh one (no VPC in any region),
    real rate limits, room for N droplets."""
    return EmulatorConfig(
        latencies=latencies or Latencies(droplet_boot=boot),
        rate_limits=RateLimits(enabled=True, per_minute=PER_MINUTE, per_hour=PER_HOUR),
        droplet_limit=droplet_limit,
    )


@contextlib.contextmanager
def served(config: EmulatorConfig) -> Iterator[ServedEmulator]:
    """A fresh emulator on 127.0.0.1, served as users serve it: ``serve()``."""
    handle = serve("127.0.0.1", 0, config)
    try:
        yield handle
    finally:
        handle.close()


def child_env() -> dict[str, str]:
    """The environment of every child process: this checkout importable, and no proxy that
    could send anything anywhere but loopback."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    return env


def free_port() -> int:
    """A port free on 127.0.0.1 now (the OS picks it; a child binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_module(module: str, args: Sequence[str], *, timeout: float) -> dict[str, Any]:
    """Run ``python -m module *args`` in a child process; the JSON line it prints last."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=child_env(),
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_worker(args: Sequence[str], *, timeout: float = 3600.0) -> dict[str, Any]:
    """Run ``python -m benchmarks.worker *args`` and return the JSON it prints last."""
    return run_module("benchmarks.worker", args, timeout=timeout)


# -- counting -----------------------------------------------------------------------------------


def between(records: Sequence[RequestRecord], start: float, end: float) -> list[RequestRecord]:
    """The requests the emulator handled in ``[start, end]`` (wall-clock seconds)."""
    return [r for r in records if start <= r.at <= end]


def routes(records: Sequence[RequestRecord]) -> Counter[str]:
    return Counter(r.key for r in records)


def throttled(records: Sequence[RequestRecord]) -> int:
    return sum(1 for r in records if r.status == 429)


def rate_limit_floor(calls: int, boot: float) -> float:
    """The earliest every droplet can be active for a strategy that needs ``calls`` calls
    before the last droplet is seen active, under 250 requests per sliding minute: the
    ``calls``-th call cannot leave before ``60 s x floor((calls - 1) / 250)``, and the last
    droplet it creates boots ``boot`` seconds after that."""
    return 60.0 * ((max(calls, 1) - 1) // PER_MINUTE) + boot


# -- statistics and tables ----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``median (min-max)``, or just the value for one run."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


@attrs.define
class Table:
    """A titled Markdown table with notes, printed as it will appear in README.md."""

    title: str
    headers: Sequence[str]
    rows: list[Sequence[str]] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        cells = [list(self.headers), *[list(r) for r in self.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.headers))]

        def line(row: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

        out = [f"### {self.title}", "", line(cells[0])]
        out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        out += [line(r) for r in cells[1:]]
        out += [""] + [f"- {n}" for n in self.notes] if self.notes else []
        return "\n".join(out) + "\n"


def emit(table: Table) -> str:
    text = table.render()
    print(text, flush=True)
    return text


@contextlib.contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Seconds elapsed, appended to the yielded list on exit."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)
