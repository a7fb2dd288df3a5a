"""Benchmark 5: the HTTP API under load, one worker process, on loopback.

The server is what a user starts: ``atlas serve --sandbox`` (uvicorn, one process, the
DigitalOcean emulator in-process), launched as a child process on a free port; once with its
default logging (a JSON access-log line per request, at ``info``) and once with
``--log-level warning``. The load comes from :mod:`benchmarks.loadgen` in another process.

For each endpoint and each run:

- *closed loop*: 16 kept-alive connections sending as fast as answers come back, for the most
  requests per second one worker gives; the server's CPU time over that window (from
  ``/proc/<pid>/stat``) shows whether the server, not the load generator, was the limit;
- *open loop at 1,000 requests/s*: requests scheduled at a fixed rate and latency counted from
  when each was due, for the p50 and p99 a caller sees at the target rate.

``POST /api/v1/estimate-cost`` sends examples/stack.yaml (7 resources); ``GET
/api/v1/operations/{id}`` reads the finished ``apply`` of that stack, made in the sandbox
before the runs (8 steps, each with its provider ids).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import yaml

from benchmarks.harness import REPO, Table, child_env, median, run_module, spread, verdict

TARGET_RATE = 1000.0  # requests/s, POST /estimate-cost on one worker
TARGET_P99_MS = 25.0
CONNECTIONS = 16
#: The open-loop generator may keep this many requests in flight (queued beyond that).
OPEN_CONNECTIONS = 64
LOGGING = {"info": "default (access log, info)", "warning": "--log-level warning"}


@attrs.frozen
class Endpoint:
    label: str
    method: str
    path: str
    body: Path | None = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@attrs.define
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


@contextlib.contextmanager
def atlas_serve(
    log_level: str, workdir: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """``atlas serve --sandbox`` on a free loopback port, until it answers /api/v1/health;
    ``extra_env``: settings of its own (``ATLAS_MAX_BODY_BYTES``...)."""
    port = _free_port()
    log = workdir / f"serve-{log_level}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "atlas", "serve", "--sandbox", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", log_level],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**child_env(), **(extra_env or {})},
        )  # fmt: skip
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"atlas serve did not come up:\n{server.log.read_text()[-2000:]}")


def _finished_operation(server: Server, spec: dict[str, Any]) -> str:
    """Apply ``spec`` in the sandbox through the API; the id of its finished operation."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post("/api/v1/infrastructure", json=spec)
        answer.raise_for_status()
        op_id: str = answer.json()["operation"]["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            op = client.get(f"/api/v1/operations/{op_id}").json()["operation"]
            if op["status"] == "completed":
                return op_id
            if op["status"] in ("failed", "rolled_back", "cancelled"):
                raise RuntimeError(f"the sandbox apply ended {op['status']}: {op['error']}")
            time.sleep(0.2)
    raise RuntimeError(f"the sandbox apply {op_id} did not finish in 120 s")


def load(server: Server, endpoint: Endpoint, *extra: str) -> dict[str, Any]:
    """One run of :mod:`benchmarks.loadgen` against ``server``; what it printed."""
    port = server.url.rsplit(":", 1)[1]
    args = ["--port", port, "--method", endpoint.method, "--path", endpoint.path,
            "--watch-pid", str(server.proc.pid), *extra]  # fmt: skip
    if endpoint.body is not None:
        args += ["--body-file", str(endpoint.body)]
    result = run_module("benchmarks.loadgen", args, timeout=600)
    bad = {k: v for k, v in result["statuses"].items() if not k.startswith("2")}
    if bad:
        raise RuntimeError(f"{endpoint.label}: answers other than 2xx: {bad}")
    return result


@attrs.frozen
class Round:
    """One run of both loads against one endpoint."""

    endpoint: str
    logging: str
    closed: dict[str, Any]
    opened: dict[str, Any]


def run_all(runs: int, duration: float) -> list[Round]:
    stack: dict[str, Any] = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text())
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="atlas-bench-server-") as tmp:
        workdir = Path(tmp)
        body = workdir / "stack.json"
        body.write_text(json.dumps(stack))
        warmup = str(min(1.0, duration / 2))
        for level in LOGGING:
            with atlas_serve(level, workdir) as server:
                op_id = _finished_operation(server, stack)
                endpoints = [
                    Endpoint("POST /estimate-cost", "POST", "/api/v1/estimate-cost", body),
                    Endpoint("GET /operations/{id}", "GET", f"/api/v1/operations/{op_id}"),
                ]
                for run in range(runs):
                    for ep in endpoints:
                        print(f"  {ep.label}, logging {level}, run {run + 1}/{runs}", flush=True)
                        closed = load(
                            server, ep, "--mode", "closed", "--connections", str(CONNECTIONS),
                            "--duration", str(duration), "--warmup", warmup,
                        )  # fmt: skip
                        opened = load(
                            server, ep, "--mode", "open", "--rate", str(TARGET_RATE),
                            "--connections", str(OPEN_CONNECTIONS),
                            "--duration", str(duration), "--warmup", warmup,
                        )  # fmt: skip
                        rounds.append(Round(ep.label, level, closed, opened))
    return rounds


def table(rounds: Sequence[Round], runs: int, duration: float) -> Table:
    rate_label = f"{TARGET_RATE:,.0f}/s"
    t = Table(
        f"5. HTTP server: atlas serve --sandbox, one uvicorn worker, loopback load - median "
        f"(min-max) of {runs} run{'s' * (runs > 1)} of {duration:g} s",
        [
            "endpoint",
            "server logging",
            f"requests / s ({CONNECTIONS} conn.)",
            "p50 / p99 (ms) at that load",
            "server CPU / request (µs)",
            f"p50 (ms) at {rate_label}",
            f"p99 (ms) at {rate_label}",
            "target",
        ],
    )
    seen: list[tuple[str, str]] = []
    for r in rounds:
        if (r.endpoint, r.logging) not in seen:
            seen.append((r.endpoint, r.logging))
    for endpoint, level in seen:
        mine = [r for r in rounds if (r.endpoint, r.logging) == (endpoint, level)]
        rate = [r.closed["rate"] for r in mine]
        closed_lat = (
            f"{median([r.closed['p50_ms'] for r in mine]):.1f} / "
            f"{median([r.closed['p99_ms'] for r in mine]):.1f}"
        )
        cpu = [r.closed["server_cpu"] / r.closed["rate"] * 1e6 for r in mine]
        p50 = [r.opened["p50_ms"] for r in mine]
        p99 = [r.opened["p99_ms"] for r in mine]
        target = "-"
        if endpoint.startswith("POST /estimate-cost"):
            closed_p99 = median([r.closed["p99_ms"] for r in mine])
            target = (
                f">= {rate_label}: {verdict(median(rate) >= TARGET_RATE)}; "
                f"p99 < {TARGET_P99_MS:.0f} ms at {CONNECTIONS} conn.: "
                f"{verdict(closed_p99 < TARGET_P99_MS)}, at {rate_label}: "
                f"{verdict(median(p99) < TARGET_P99_MS)}"
            )
        t.add(
            endpoint,
            LOGGING[level],
            spread(rate, "{:,.0f}"),
            closed_lat,
            spread(cpu, "{:,.0f}"),
            spread(p50, "{:.1f}"),
            spread(p99, "{:.1f}"),
            target,
        )
    behind = [r for r in rounds if r.opened["rate"] < 0.95 * TARGET_RATE]
    t.notes += [
        f"requests / s: a closed loop of {CONNECTIONS} kept-alive connections, each sending its "
        "next request when the answer is in (as `wrk -c16` does), after a warm-up; p50 / p99 "
        "of that same loop.",
        f"at {rate_label}: an open loop scheduling {rate_label} whatever the server does, on up "
        f"to {OPEN_CONNECTIONS} connections, latency counted from when each request was due "
        "(so a server that falls behind shows it).",
        "server CPU / request: the server process's CPU time (/proc) during the closed loop, "
        "over the requests answered.",
        "The load generator (benchmarks/loadgen.py) runs in its own process on the same "
        "machine; it used 12-18 % of a core at these rates.",
    ]
    if behind:
        t.notes.append(
            f"In {len(behind)} of {len(rounds)} open-loop runs the server answered fewer than "
            f"95 % of the scheduled {rate_label} within the run: it was saturated, and the "
            "p99 includes the backlog."
        )
    return t
