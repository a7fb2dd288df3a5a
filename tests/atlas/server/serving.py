"""``atlas serve`` in a child process, and an operation's event stream read over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.atlas.server.conformance import parse_sse

__all__ = ["Server", "follow", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``atlas serve`` in a child process."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1", **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "atlas", "serve", *args],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"atlas serve did not start: {self.stderr}")
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops a service; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        self.stdout, self.stderr = out, err
        return self.proc.returncode


def follow(client: httpx.Client, operation_id: str) -> list[dict[str, str]]:
    """The operation's event stream, read as it arrives, until it ends."""
    with client.stream("GET", f"/api/v1/operations/{operation_id}/events", timeout=60) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    return parse_sse(text)
