"""A stand-in for the ControlVector Context Manager, served on loopback: secrets per
workspace, read with the caller's JWT (verified with the shared secret), as the real one does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

PREFIX = "/api/v1/context/secret/credential/"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.server.seen.append(auth)
        try:
            claims = jwt.decode(auth.removeprefix("Bearer "), self.server.secret, ["HS256"])
        except jwt.InvalidTokenError:
            self._send(401, {"error": "Unauthorized"})
            return
        key = self.path.removeprefix(PREFIX)
        value = self.server.secrets.get((claims["workspace_id"], key))
        if not self.path.startswith(PREFIX) or value is None:
            self._send(404, {"success": False, "error": "not found"})
            return
        self._send(200, {"success": True, "data": {"value": value}})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: str, secrets: Mapping[tuple[str, str], str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.secrets = dict(secrets)
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def context_manager(secret: str, secrets: Mapping[tuple[str, str], str]) -> Iterator[_Server]:
    """Serve ``secrets`` (``(workspace, key) -> value``) until the block ends."""
    server = _Server(secret, secrets)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
