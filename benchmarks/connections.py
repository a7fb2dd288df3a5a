"""Benchmark 8: ``atlas serve`` under hostile connections, and what bounding them costs.

*Hostile* runs ``atlas serve --sandbox --log-level warning`` with its default connection
limits (16 KiB heads, 10 s to send one, 1,000 connections) in a child process, and attacks it
from this one, over loopback, with no credentials:

- one 32 MB header, sent 4 KiB at a time with a short wait for an answer after each: the bytes
  sent before the server's verdict (431, or the connection closed);
- eight 32 MB headers at once, at full speed: the bytes each client got to send before the
  server closed it (the kernel's socket buffers included), and the server's memory (VmRSS
  before, VmHWM after, from ``/proc``);
- N connections that send half a request head and stop (slowloris): how long until the server
  has closed all of them, and ``/api/v1/health`` meanwhile, polled 50 times on a connection
  opened before the attack (p50 / p99 / max), then 50 times on new connections (statuses).

*Cost* serves the same app with uvicorn's own protocols and with atlas's bounded ones, for
httptools and for h11, and loads ``GET /api/v1/health`` with :mod:`benchmarks.loadgen` (16
kept-alive connections, closed loop): requests per second and the server's CPU time per
request. ``python -m benchmarks.connections --serve PROTOCOL --port P`` is that server.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from benchmarks.harness import Table, child_env, median, run_module, spread, verdict

HEADER = 32_000_000
HALF_HEAD = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
POLLS = 50
TARGET_HEALTH_MS = 100.0
TARGET_CLOSED_S = 15.0
PROTOCOLS = ("httptools", "bounded httptools", "h11", "bounded h11")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@attrs.define
class Child:
    proc: subprocess.Popen[bytes]
    port: int


@contextlib.contextmanager
def child(command: Sequence[str], workdir: Path, port: int) -> Iterator[Child]:
    """A server in a child process, until it answers ``/api/v1/health``."""
    with (workdir / "server.log").open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=child_env()
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), _connect(port) as sock:
                if _exchange(sock, HEALTH)[0] == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (workdir / "server.log").read_text()[-2000:]
                raise RuntimeError(f"{command} did not come up:\n{log}")
            time.sleep(0.1)
        yield Child(proc, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def atlas_serve(workdir: Path) -> contextlib.AbstractContextManager[Child]:
    port = _free_port()
    command = [sys.executable, "-m", "atlas", "serve", "--sandbox", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    return child(command, workdir, port)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, float]:
    """Send ``request``, read one Content-Length answer: its status and the seconds taken."""
    began = time.perf_counter()
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            raise ConnectionError("closed before an answer")
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), time.perf_counter() - began


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in KiB (Linux)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    return out


def paced_header(port: int) -> dict[str, Any]:
    """One 32 MB header, 4 KiB at a time, looking for an answer after each piece."""
    with _connect(port) as sock:
        began = time.perf_counter()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        sent, verdict_ = 43, "read it all"
        while sent < HEADER:
            if select.select([sock], [], [], 0.02)[0]:
                try:
                    answer = sock.recv(64)
                    verdict_ = answer.split(b"\r\n")[0].decode() if answer else "closed"
                except ConnectionResetError:
                    verdict_ = "reset"
                break
            try:
                sock.sendall(b"a" * 4096)
            except OSError:
                verdict_ = "reset"
                break
            sent += 4096
        return {"sent": sent, "verdict": verdict_, "seconds": time.perf_counter() - began}


def blasted_headers(port: int, pid: int, clients: int = 8) -> dict[str, Any]:
    """``clients`` 32 MB headers at once, at full speed."""
    before = _memory(pid)
    sent = [0] * clients

    def blast(i: int) -> None:
        with _connect(port) as sock:
            piece = b"a" * 65536
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
                while sent[i] < HEADER:
                    sock.sendall(piece)
                    sent[i] += len(piece)
            except OSError:
                pass

    threads = [threading.Thread(target=blast, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = _memory(pid)
    return {"sent": sent, "rss_before": before.get("VmRSS"), "hwm_after": after.get("VmHWM")}


def slowloris(port: int, n: int) -> dict[str, Any]:
    """``n`` half-sent heads; /health on a connection opened before them, and on new ones."""
    with _connect(port) as kept:
        _exchange(kept, HEALTH)
        began = time.monotonic()
        socks = [_connect(port) for _ in range(n)]
        for sock in socks:
            sock.sendall(HALF_HEAD)
        opened = time.monotonic() - began
        kept_ms: list[float] = []
        for _ in range(POLLS):
            kept_ms.append(_exchange(kept, HEALTH)[1] * 1000)
            time.sleep(0.02)
        fresh: Counter[str] = Counter()
        fresh_ms: list[float] = []
        for _ in range(POLLS):
            try:
                with _connect(port) as sock:
                    status, seconds = _exchange(sock, HEALTH)
                fresh[str(status)] += 1
                fresh_ms.append(seconds * 1000)
            except OSError:
                fresh["closed"] += 1
        polled = time.monotonic() - began
        left = _wait_closed(socks, began + 60)
        closed_after = time.monotonic() - began
        for sock in socks:
            sock.close()
    return {
        "n": n,
        "opened_s": opened,
        "polled_s": polled,
        "left_open": left,
        "closed_after_s": closed_after,
        "kept_ms": kept_ms,
        "fresh": dict(fresh),
        "fresh_ms": fresh_ms,
    }


def _wait_closed(socks: Sequence[socket.socket], deadline: float) -> int:
    """Wait until the server has closed every one of ``socks`` (or ``deadline``, monotonic);
    how many are still open. (epoll: ``select`` stops at 1,024 descriptors.)"""
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_READ)
        left = len(socks)
        while left and (wait := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(min(wait, 1.0)):
                with contextlib.suppress(OSError):
                    key.fileobj.recv(1)  # type: ignore[union-attr]
                sel.unregister(key.fileobj)
                left -= 1
    return left


def run_hostile(sizes: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"slowloris": []}
    with tempfile.TemporaryDirectory(prefix="atlas-bench-conn-") as tmp:
        with atlas_serve(Path(tmp)) as server:
            print("  32 MB header, paced", flush=True)
            out["paced"] = paced_header(server.port)
            print("  8 x 32 MB headers at once", flush=True)
            out["blasted"] = blasted_headers(server.port, server.proc.pid)
        for n in sizes:
            with atlas_serve(Path(tmp)) as server:  # a fresh server: no tally of the above
                print(f"  {n:,} slowloris connections", flush=True)
                out["slowloris"].append(slowloris(server.port, n))
    return out


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def hostile_table(result: dict[str, Any]) -> Table:
    t = Table(
        "8a. atlas serve under hostile connections (default limits, no credentials)",
        ["attack", "what the client got to send", "server's answer", "/health meanwhile",
         "target"],
    )  # fmt: skip
    paced = result["paced"]
    t.add(
        "one 32 MB header, 4 KiB at a time",
        f"{paced['sent']:,} bytes",
        f"{paced['verdict']} after {paced['seconds']:.2f} s",
        "-",
        f"<= 16 KiB + one piece: {verdict(paced['sent'] <= 16_384 + 8192)}",
    )
    blasted = result["blasted"]
    growth = (blasted["hwm_after"] - blasted["rss_before"]) / 1024
    t.add(
        "8 x 32 MB headers at once, full speed",
        f"{min(blasted['sent']):,}-{max(blasted['sent']):,} bytes each",
        f"server memory {blasted['rss_before'] / 1024:.0f} MiB before, "
        f"peak {blasted['hwm_after'] / 1024:.0f} MiB",
        "-",
        f"no growth beyond 10 MiB: {verdict(growth <= 10)}",
    )
    for s in result["slowloris"]:
        kept = s["kept_ms"]
        fresh = ", ".join(f"{k}: {v}" for k, v in sorted(s["fresh"].items()))
        p99 = _pct(kept, 0.99)
        all_closed = s["left_open"] == 0 and s["closed_after_s"] <= TARGET_CLOSED_S
        t.add(
            f"{s['n']:,} connections stop mid-head",
            f"{s['n']:,} x {len(HALF_HEAD)} bytes (opened in {s['opened_s']:.1f} s)",
            f"all closed after {s['closed_after_s']:.1f} s"
            if not s["left_open"]
            else f"{s['left_open']} still open after {s['closed_after_s']:.0f} s",
            f"kept-alive p50 / p99 / max {statistics.median(kept):.1f} / {p99:.1f} / "
            f"{max(kept):.1f} ms; new connections: {fresh}, p50 "
            f"{statistics.median(s['fresh_ms']) if s['fresh_ms'] else float('nan'):.1f} ms",
            f"closed within {TARGET_CLOSED_S:.0f} s: {verdict(all_closed)}; p99 < "
            f"{TARGET_HEALTH_MS:.0f} ms: {verdict(p99 < TARGET_HEALTH_MS)}",
        )
    t.notes += [
        "The full-speed figure includes what the kernel buffered for the server before it "
        "closed (socket buffers on loopback reach megabytes); the server itself parses at most "
        "16 KiB of a head and holds one 256 KiB read of it.",
        f"/health is polled {POLLS} times, 20 ms apart, while every slow connection is open "
        "(all polls end before the 10 s header timeout), then on 50 new connections. Beyond "
        "ATLAS_MAX_CONNECTIONS (1,000) new connections are answered 503 until the header "
        "timeout frees their places; connections opened before keep being served.",
    ]
    return t


# -- the cost of the bounds -----------------------------------------------------------------------


def serve(protocol: str, port: int) -> None:
    """The app as ``atlas serve`` builds it (no sandbox, in-memory store) on uvicorn with
    ``protocol``: one of :data:`PROTOCOLS`."""
    import uvicorn  # noqa: PLC0415 - only the child serves
    from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: PLC0415
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415

    from atlas.runtime import default_registry  # noqa: PLC0415
    from atlas.server import Settings, create_app  # noqa: PLC0415
    from atlas.server.connections import connection_options  # noqa: PLC0415
    from atlas.server.logs import configure_logging  # noqa: PLC0415
    from atlas.store import SQLiteStore  # noqa: PLC0415

    settings = Settings(store=SQLiteStore(":memory:"), registry=default_registry())
    parser = "h11" if protocol.endswith("h11") else "httptools"
    if protocol.startswith("bounded"):
        options = connection_options(settings.connections, parser)
    else:
        options = {"http": H11Protocol if parser == "h11" else HttpToolsProtocol}
    configure_logging("warning")
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False,
        **options,
    )  # fmt: skip
    uvicorn.Server(config).run()


def run_cost(runs: int, duration: float) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {p: [] for p in PROTOCOLS}
    with tempfile.TemporaryDirectory(prefix="atlas-bench-cost-") as tmp:
        for run in range(runs):
            for protocol in PROTOCOLS:  # interleaved, so a noisy minute hits every variant
                print(f"  {protocol}, run {run + 1}/{runs}", flush=True)
                port = _free_port()
                command = [sys.executable, "-m", "benchmarks.connections", "--serve", protocol,
                           "--port", str(port)]  # fmt: skip
                with child(command, Path(tmp), port) as server:
                    args = ["--port", str(port), "--path", "/api/v1/health", "--mode", "closed",
                            "--connections", "16", "--duration", str(duration),
                            "--warmup", str(min(1.0, duration / 2)),
                            "--watch-pid", str(server.proc.pid)]  # fmt: skip
                    results[protocol].append(run_module("benchmarks.loadgen", args, timeout=600))
    return results


def cost_table(results: dict[str, list[dict[str, Any]]], runs: int, duration: float) -> Table:
    t = Table(
        f"8b. The cost of the bounds: GET /api/v1/health, 16 kept-alive connections - median "
        f"(min-max) of {runs} run{'s' * (runs > 1)} of {duration:g} s",
        ["uvicorn protocol", "requests / s", "server CPU / request (µs)", "p99 (ms)",
         "CPU vs httptools"],
    )  # fmt: skip
    base = [r["server_cpu"] / r["rate"] for r in results["httptools"]]
    for protocol in PROTOCOLS:
        mine = results[protocol]
        cpu = [r["server_cpu"] / r["rate"] * 1e6 for r in mine]
        t.add(
            protocol if protocol.startswith("bounded") else f"{protocol} (uvicorn's own)",
            spread([r["rate"] for r in mine], "{:,.0f}"),
            spread(cpu, "{:,.0f}"),
            spread([r["p99_ms"] for r in mine], "{:.1f}"),
            # within each run, then the median, as every ratio here
            f"{median([c / 1e6 / b for c, b in zip(cpu, base, strict=True)]):.2f}x",
        )
    t.notes.append(
        "`atlas serve` runs *bounded httptools* when httptools is installed (the `server` "
        "extra), else *bounded h11*. Each variant serves the same app in its own process; the "
        "variants are interleaved within each run."
    )
    return t


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.connections")
    p.add_argument("--serve", choices=PROTOCOLS, required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    serve(args.serve, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
