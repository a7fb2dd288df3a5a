"""Benchmark 10: large plans, in the library and through ``atlas serve``, and the event loop while
eight of them run at once.

- *Library*: a spec of 1,000, 10,000 and 50,000 resources (the seven of examples/stack.yaml,
  repeated with their references, as benchmark 4 builds them), each phase of what a served
  plan does, in CPU seconds of this process: parse the JSON body (``json.loads``),
  ``AsyncAtlas.validate``, ``AsyncAtlas.plan`` of the validated spec against an empty store, and
  ``json.dumps(plan.to_dict())``. CPU seconds, not wall-clock ones, because the machine is
  shared; *per resource* shows whether the cost grows with the size (it should not).
- *Served*: the same specs as ``POST /api/v1/plan`` bodies to ``atlas serve --sandbox``
  (``ATLAS_MAX_BODY_BYTES`` raised to 16 MiB for the largest), wall-clock time of each answer
  and the server's CPU time for it (``/proc``).
- *Eight at once*: eight concurrent ``POST /api/v1/plan`` of 36,000 VPCs each (the tersest
  spec: ``{"name": "v0", "type": "vpc"}``..., just under 1 MiB, the default body limit), while
  another process polls ``GET /api/v1/health`` on a kept-alive connection every 20 ms; rounds
  are repeated until at least 50 polls fell inside rounds. Each plan's time is from its request
  to the last byte of its answer (about 8 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.client
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from atlas import AsyncAtlas
from atlas.store import SQLiteStore
from benchmarks.engine import large_spec
from benchmarks.harness import REPO, Table, child_env, median, spread, verdict
from benchmarks.server import atlas_serve

SIZES = (1_000, 10_000, 50_000)
CONCURRENT = 8
VPCS = 36_000
POLLS = 50
POLL_GAP = 0.02
HEALTH_P99_MS = 100.0
PLAN_SECONDS = 3.0
MAX_ROUNDS = 6
SERVED_BODY_LIMIT = 16 * 2**20


def vpcs(count: int) -> dict[str, Any]:
    """``count`` VPCs with nothing but a short name (``v`` and base 36): 36,000 fit in 1 MiB."""
    return {
        "name": "big",
        "provider": "digitalocean",
        "region": "fra1",
        "resources": [{"name": "v" + _base36(i), "type": "vpc"} for i in range(count)],
    }


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if not number:
            return digits


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


# -- the library ---------------------------------------------------------------------------------


def _cpu(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = call()
    return time.process_time() - start, result


def library(count: int, runs: int) -> dict[str, list[float]]:
    """CPU seconds of each phase of a served plan, ``runs`` times after a warm-up; and
    (``paused``) the total with the cyclic collector paused, as the server's workers run it."""
    raw = body(large_spec(count))
    atlas = AsyncAtlas(store=SQLiteStore(":memory:"))
    keys = ("parse", "validate", "plan", "dump", "wall", "paused")
    out: dict[str, list[float]] = {k: [] for k in keys}

    async def one(keep: bool, *, collect: bool = True) -> None:
        gc.collect()
        if not collect:
            gc.disable()
        began = time.perf_counter()
        parse, doc = _cpu(lambda: json.loads(raw))
        validate, spec = _cpu(lambda: atlas.validate(doc))
        start = time.process_time()
        plan = await atlas.plan(spec)
        planning = time.process_time() - start
        dump, text = _cpu(lambda: json.dumps(plan.to_dict()))
        wall = time.perf_counter() - began
        gc.enable()
        assert len(plan.changes) == count, len(plan.changes)
        assert text
        if keep and not collect:
            out["paused"].append(parse + validate + planning + dump)
        elif keep:
            for key, value in zip(keys, (parse, validate, planning, dump, wall), strict=False):
                out[key].append(value)

    async def go() -> None:
        await one(keep=False)  # catalogs loaded, caches built: once per process
        for _ in range(runs):
            await one(keep=True)
            await one(keep=True, collect=False)

    asyncio.run(go())
    total = sum(median(out[k]) for k in ("parse", "validate", "plan", "dump"))
    print(f"  library {count:>6,} resources: {total:.3f} s CPU", flush=True)
    return out


def library_table(results: dict[int, dict[str, list[float]]], runs: int) -> Table:
    t = Table(
        f"10a. Large plans in the library, CPU seconds - median of {runs} runs after a warm-up",
        ["resources", "parse", "validate", "plan", "write out", "total", "per resource (µs)",
         "collector paused: per resource (µs)", "wall-clock (s)"],
    )  # fmt: skip
    for count, r in sorted(results.items()):
        phases = [median(r[k]) for k in ("parse", "validate", "plan", "dump")]
        total = sum(phases)
        t.add(
            f"{count:,}",
            *(f"{p:.3f}" for p in phases),
            f"{total:.3f}",
            f"{total / count * 1e6:.1f}",
            f"{median(r['paused']) / count * 1e6:.1f}",
            spread(r["wall"], "{:.2f}"),
        )
    t.notes += [
        "The specs repeat examples/stack.yaml's seven resources with their references "
        "(benchmark 4's). parse = `json.loads` of the body; validate = `AsyncAtlas.validate`; "
        "plan = `AsyncAtlas.plan(spec)` of the validated spec, against an empty store (it "
        "validates nothing again); write out = `json.dumps(plan.to_dict())`.",
        "CPU seconds of this process (`time.process_time`): the machine is shared, and the "
        "wall-clock column moves with what else runs on it.",
        "collector paused: the same phases with `gc.disable()` (as the server's worker processes "
        "and threads run them): the code's own cost per resource, flat from 1,000 to 50,000; "
        "what grows with the size beside it is the cyclic collector's passes over a larger heap.",
    ]
    return t


# -- through the server --------------------------------------------------------------------------


def _server_cpu(pid: int) -> float:
    """CPU seconds of the server process and of its children (the worker processes)."""
    total = 0.0
    for each in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def served(url: str, pid: int, count: int, runs: int) -> dict[str, Any]:
    raw = body(large_spec(count))
    out: dict[str, Any] = {"wall": [], "cpu": [], "body": len(raw), "answer": 0}
    with httpx.Client(base_url=url, timeout=600) as client:
        for run in range(runs + 1):
            cpu = _server_cpu(pid)
            began = time.perf_counter()
            r = client.post(
                "/api/v1/plan", content=raw, headers={"content-type": "application/json"}
            )
            wall = time.perf_counter() - began
            if r.status_code != 200:
                raise RuntimeError(f"POST /api/v1/plan of {count}: {r.status_code} {r.text[:300]}")
            if run:  # the first is the warm-up
                out["wall"].append(wall)
                out["cpu"].append(_server_cpu(pid) - cpu)
            out["answer"] = len(r.content)
    print(f"  served  {count:>6,} resources: {median(out['wall']):.2f} s", flush=True)
    return out


def served_table(results: dict[int, dict[str, Any]], runs: int) -> Table:
    t = Table(
        f"10b. Large plans through `atlas serve --sandbox`: POST /api/v1/plan - median "
        f"(min-max) of {runs} requests after a warm-up",
        ["resources", "body (MiB)", "answer (MiB)", "answered in (s)", "server CPU (s)"],
    )
    for count, r in sorted(results.items()):
        t.add(
            f"{count:,}",
            f"{r['body'] / 2**20:.1f}",
            f"{r['answer'] / 2**20:.1f}",
            spread(r["wall"], "{:.2f}"),
            spread(r["cpu"], "{:.2f}"),
        )
    t.notes += [
        f"One request at a time; ATLAS_MAX_BODY_BYTES={SERVED_BODY_LIMIT} for the largest "
        "spec, every other setting its default. server CPU: the CPU time of the server process "
        "and its worker processes (/proc) over the request: parse, validate, plan, write out, "
        "and HTTP (a plan of a new infrastructure is made in a worker process).",
    ]
    return t


# -- eight at once -------------------------------------------------------------------------------


async def _plans(url: str, raw: bytes, count: int = CONCURRENT) -> list[tuple[float, float, int]]:
    """(start, end, status) of ``count`` plans sent at once, wall clock (time.time)."""
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def one() -> tuple[float, float, int]:
            start = time.time()
            r = await client.post(
                "/api/v1/plan", content=raw, headers={"content-type": "application/json"}
            )
            await r.aread()
            return start, time.time(), r.status_code

        return list(await asyncio.gather(*(one() for _ in range(count))))


def concurrent(url: str, pid: int) -> dict[str, Any]:
    raw = body(vpcs(VPCS))
    assert len(raw) <= 2**20, len(raw)
    poller = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bigplans", "--poll", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
        env=child_env(),
        text=True,
    )
    rounds: list[list[tuple[float, float, int]]] = []
    cpu: list[tuple[float, float]] = []
    try:
        asyncio.run(_plans(url, raw, 1))  # the worker processes started, the plugins loaded
        time.sleep(0.5)  # the poller is polling
        # Rounds until they lasted long enough for POLLS polls at the poller's pace.
        while not rounds or (
            len(rounds) < MAX_ROUNDS and sum(w for _, w in cpu) < POLLS * (POLL_GAP + 0.005)
        ):
            before, began = _server_cpu(pid), time.perf_counter()
            rounds.append(asyncio.run(_plans(url, raw)))
            cpu.append((_server_cpu(pid) - before, time.perf_counter() - began))
            time.sleep(0.3)
    finally:
        out, _ = poller.communicate("stop\n", timeout=30)
    samples = json.loads(out.strip().splitlines()[-1])["polls"]
    windows = [(min(s for s, _, _ in r), max(e for _, e, _ in r)) for r in rounds]
    during = [ms for at, ms in samples if any(a <= at <= b for a, b in windows)]
    statuses = {status for r in rounds for _, _, status in r}
    if statuses != {200}:
        raise RuntimeError(f"eight plans at once answered {statuses}")
    durations = [end - start for r in rounds for start, end, _ in r]
    print(
        f"  eight at once: plans {median(durations):.2f} s (max {max(durations):.2f}), "
        f"health p99 {_percentile(during, 0.99):.1f} ms over {len(during)} polls",
        flush=True,
    )
    return {
        "durations": durations,
        "walls": [b - a for a, b in windows],
        "health": during,
        "cpu": cpu,
        "rounds": len(rounds),
        "body": len(raw),
    }


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


#: The runs of table 10c: what atlas serve does by default, and the same on threads alone.
SETUPS = (
    ("worker processes (default)", {}),
    ("threads only (ATLAS_CPU_PROCESSES=0)", {"ATLAS_CPU_PROCESSES": "0"}),
)


def concurrent_table(results: Sequence[tuple[str, dict[str, Any]]]) -> Table:
    rounds = sorted({r["rounds"] for _, r in results})
    t = Table(
        f"10c. {CONCURRENT} concurrent 1 MiB POST /api/v1/plan of {VPCS:,} VPCs, /api/v1/health "
        f"polled meanwhile - {'/'.join(map(str, rounds))} round(s) of eight",
        ["server", "each plan (s): median / max", "all eight (s)", "CPU / wall",
         "health polls", "health p50 / p99 / max (ms)", "targets"],
    )  # fmt: skip
    for label, r in results:
        health = r["health"]
        p99 = _percentile(health, 0.99)
        longest = max(r["durations"])
        t.add(
            label,
            f"{median(r['durations']):.2f} / {longest:.2f}",
            spread(r["walls"], "{:.2f}"),
            " ".join(f"{c:.1f}/{w:.1f}" for c, w in r["cpu"]),
            str(len(health)),
            f"{_percentile(health, 0.5):.1f} / {p99:.1f} / {max(health, default=float('nan')):.1f}",
            f"health p99 < {HEALTH_P99_MS:.0f} ms: {verdict(p99 < HEALTH_P99_MS)}; each plan "
            f"< {PLAN_SECONDS:g} s: {verdict(longest < PLAN_SECONDS)}",
        )
    t.notes += [
        f"Bodies of {results[0][1]['body']:,} bytes (the default ATLAS_MAX_BODY_BYTES is 1 MiB), "
        "sent at once on eight connections by one asyncio client; each plan timed from its "
        "request to the last byte of its answer. `atlas serve --sandbox`, default settings "
        "(ATLAS_CPU_PROCESSES=2, ATLAS_CPU_THREADS=2) but for the second row's.",
        f"health: another process's GET /api/v1/health on one kept-alive connection, every "
        f"{POLL_GAP * 1000:.0f} ms; the polls that started while plans were running count.",
        "CPU / wall: the CPU seconds of the server and its worker processes over each round's "
        "seconds (2.0 would be both cores); one plan was made first, so that the worker "
        "processes had started.",
    ]
    return t


def _poll(url: str) -> None:
    """``--poll URL``: GET /api/v1/health until a line arrives on stdin; (time, ms) pairs."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    polls: list[tuple[float, float]] = []
    while not select.select([sys.stdin], [], [], 0)[0]:
        at, began = time.time(), time.perf_counter()
        conn.request("GET", "/api/v1/health")
        answer = conn.getresponse()
        answer.read()
        polls.append((at, (time.perf_counter() - began) * 1000))
        if answer.status != 200:
            raise RuntimeError(f"health answered {answer.status}")
        time.sleep(POLL_GAP)
    print(json.dumps({"polls": polls}), flush=True)


# -- the suite -----------------------------------------------------------------------------------


def run_all(sizes: Sequence[int], runs: int) -> list[Table]:
    tables = [library_table({n: library(n, runs) for n in sizes}, runs)]
    with tempfile.TemporaryDirectory(prefix="atlas-bench-bigplans-") as tmp:
        env = {"ATLAS_MAX_BODY_BYTES": str(SERVED_BODY_LIMIT)}
        with atlas_serve("warning", Path(tmp), env) as server:
            pid = server.proc.pid
            results = {n: served(server.url, pid, n, runs) for n in sizes}
            tables.append(served_table(results, runs))
        results = []
        for label, settings in SETUPS:  # the defaults (the 1 MiB limit) but for these
            with atlas_serve("warning", Path(tmp), settings) as server:
                results.append((label, concurrent(server.url, server.proc.pid)))
        tables.append(concurrent_table(results))
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bigplans", description=__doc__)
    p.add_argument("--poll", metavar="URL", help="(internal) poll URL's health; see --help")
    args = p.parse_args(argv)
    if args.poll:
        _poll(args.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
