"""Serving an emulator on loopback with the standard library only.

``http.server.ThreadingHTTPServer`` answers each connection on its own thread; the emulator's
lock keeps its state consistent. A ``drop_after`` fault closes the socket without writing a
byte, which a client sees exactly as it would see a real server hang up.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from atlas_digitalocean.emulator.config import EmulatorConfig
from atlas_digitalocean.emulator.core import Emulator
from atlas_digitalocean.emulator.faults import ConnectionDropped

logger = logging.getLogger(__name__)

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed ACK each answer on a kept-alive connection could wait ~40 ms, a delay no real
    # API server adds (measured in benchmarks/: all droplets active at 1.24 x L, 1.07 without).
    disable_nagle_algorithm = True
    server: _Server

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            # Each chunk is "<hex size>[;extensions]\r\n<data>\r\n"; size 0 ends the body.
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            content = self._read_body()
        except ValueError:
            self.close_connection = True  # the framing is lost; this connection cannot go on
            self._write(httpx.Response(400, json={"id": "bad_request", "message": "bad framing"}))
            return
        host = self.headers.get("host") or f"{self.server.server_name}:{self.server.server_port}"
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        request = httpx.Request(
            self.command, f"http://{host}{self.path}", headers=headers, content=content
        )
        try:
            response = self.server.emulator.handle(request)
        except ConnectionDropped:
            self.close_connection = True  # the socket closes with nothing written
            return
        except Exception:
            logger.exception("the emulator failed on %s %s", self.command, self.path)
            response = httpx.Response(500, json={"id": "server_error", "message": "emulator bug"})
        self._write(response)

    def _write(self, response: httpx.Response) -> None:
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class ServedEmulator:
    """An emulator answering on a loopback socket; close it (or use ``with``) when done."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        raw_host, port = server.server_address[:2]
        host = raw_host.decode() if isinstance(raw_host, bytes) else raw_host
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def emulator(self) -> Emulator:
        return self._server.emulator

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> ServedEmulator:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    *,
    emulator: Emulator | None = None,
    allow_remote: bool = False,
) -> ServedEmulator:
    """Serve an emulator on ``host:port`` (port 0 picks a free one) in a background thread.

    :param emulator: serve this emulator instead of a new one built from ``config``.
    :param allow_remote: permit a non-loopback ``host``. The emulator accepts any token by
        default and is no place for real credentials, so exposing it must be a choice.
    """
    if not (allow_remote or is_loopback(host)):
        raise ValueError(f"refusing to serve on non-loopback host {host!r} without allow_remote")
    if emulator is not None and config is not None:
        raise ValueError("pass either config or emulator, not both")
    server = _Server((host, port), emulator or Emulator(config))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
        name=f"do-emulator-{server.server_address[1]}",
    )  # fmt: skip
    thread.start()
    return ServedEmulator(server, thread)
