"""A loopback HTTP/1.1 load generator in its own process: ``python -m benchmarks.loadgen``.

Two ways to load a server, both over kept-alive connections opened before the clock starts:

- ``closed``: ``--connections C`` clients, each sending its next request as soon as the last
  answer is read, for ``--duration`` seconds. Its rate is the most the server can answer at
  that concurrency; its latencies include the queueing that concurrency causes.
- ``open``: requests *scheduled* at ``--rate`` per second, whatever the server does, sent on
  whichever connection is free (up to ``--connections``). Latency is counted from the moment a
  request was due, not from when a connection became free, so a server that falls behind shows
  it in its latencies instead of silently lowering the load (no "coordinated omission").

It speaks just enough HTTP/1.1 for the JSON answers it asks for (status line, headers,
``Content-Length`` body; anything else is an error) so that the client costs far less CPU than
the server it measures. It prints one JSON line: requests, seconds, latencies in milliseconds
(p50, p90, p99, max), status counts, and the CPU seconds per second used over the measured
window by itself and by ``--watch-pid`` (the server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class Connection:
    """One kept-alive connection sending a fixed request and reading its answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        """Send ``request``, read the whole answer, return its status code."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected from these endpoints")
        if length is None:
            raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def build_request(method: str, path: str, host: str, body: bytes) -> bytes:
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Accept: application/json",
        "User-Agent: atlas-benchmarks-loadgen",
    ]
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()

    def add(self, seconds: float, status: int) -> None:
        self.latencies.append(seconds)
        self.statuses[status] += 1


async def closed_loop(
    conns: Sequence[Connection], request: bytes, duration: float, rec: Recorder
) -> float:
    loop = asyncio.get_running_loop()
    stop = loop.time() + duration

    async def client(conn: Connection) -> None:
        while (sent := loop.time()) < stop:
            status = await conn.exchange(request)
            rec.add(loop.time() - sent, status)

    began = loop.time()
    await asyncio.gather(*(client(c) for c in conns))
    return loop.time() - began


async def open_loop(
    conns: Sequence[Connection], request: bytes, duration: float, rate: float, rec: Recorder
) -> float:
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for conn in conns:
        idle.put_nowait(conn)
    total = int(rate * duration)
    began = loop.time()

    async def one(due: float) -> None:
        conn = await idle.get()
        try:
            status = await conn.exchange(request)
        finally:
            idle.put_nowait(conn)
        rec.add(loop.time() - due, status)

    tasks: set[asyncio.Task[None]] = set()
    sent = 0
    while sent < total:
        now = loop.time()
        due = began + sent / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        while sent < total and began + sent / rate <= now:
            task = asyncio.create_task(one(began + sent / rate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
    await asyncio.gather(*tasks)
    return loop.time() - began


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far (Linux ``/proc``); NaN
    where there is no ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    body = Path(args.body_file).read_bytes() if args.body_file else b""
    request = build_request(args.method, args.path, f"{args.host}:{args.port}", body)
    conns = [await Connection.open(args.host, args.port) for _ in range(args.connections)]
    try:
        if args.warmup > 0:  # wake the server's caches and this process's allocator
            await closed_loop(conns, request, args.warmup, Recorder())
        rec = Recorder()
        cpu = os.times()
        watched = cpu_seconds(args.watch_pid) if args.watch_pid else float("nan")
        if args.mode == "closed":
            elapsed = await closed_loop(conns, request, args.duration, rec)
        else:
            elapsed = await open_loop(conns, request, args.duration, args.rate, rec)
        after = os.times()
        if args.watch_pid:
            watched = cpu_seconds(args.watch_pid) - watched
    finally:
        for conn in conns:
            conn.close()
    lat = sorted(x * 1000 for x in rec.latencies)
    return {
        "mode": args.mode,
        "requests": len(lat),
        "seconds": elapsed,
        "rate": len(lat) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(lat, 0.50),
        "p90_ms": percentile(lat, 0.90),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1] if lat else float("nan"),
        "mean_ms": statistics.fmean(lat) if lat else float("nan"),
        "statuses": {str(k): v for k, v in sorted(rec.statuses.items())},
        "client_cpu": ((after.user - cpu.user) + (after.system - cpu.system)) / elapsed,
        "server_cpu": watched / elapsed,
    }


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--method", default="GET")
    p.add_argument("--path", required=True)
    p.add_argument("--body-file", help="the request body (JSON)")
    p.add_argument("--mode", choices=("closed", "open"), default="closed")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=float, default=5.0, help="seconds measured")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of load before")
    p.add_argument("--rate", type=float, default=1000.0, help="requests/s (open mode)")
    p.add_argument("--watch-pid", type=int, help="report this process's CPU use (the server)")
    args = p.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        p.error("the load generator only loads loopback servers")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    print(json.dumps(asyncio.run(run(parse(argv)))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
