"""A real webhook receiver on a loopback socket: an HTTP server on 127.0.0.1, on a port the
system picks, in a thread of its own. It does what the webhook docs ask of a receiver: checks
the signature over the raw body before reading any JSON (refusing a bad one with 401), then
answers from a script (the last status repeats), and records every request it was sent.

Beside :class:`tests.atlas.events.fakes.Receiver` (an ``httpx.MockTransport``, nothing on the
wire): this one is for tests that want the sink's requests to cross a real socket.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import attrs

from atlas.events import verify_signature

__all__ = ["Delivery", "LoopbackReceiver"]

PATH = "/hooks/atlas"


@attrs.frozen
class Delivery:
    """One request as the receiver saw it, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    #: Whether the signature verified, against the receiver's own clock.
    verified: bool
    status: int

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-Atlas-Delivery", "")

    @property
    def event_type(self) -> str:
        return self.headers.get("X-Atlas-Event", "")

    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)  # the raw bytes: what the signature covers
        receiver = self.server.receiver
        verified = verify_signature(
            receiver.secret,
            self.headers.get("X-Atlas-Timestamp", ""),
            body,
            self.headers.get("X-Atlas-Signature", ""),
            now=receiver.now(),
        )
        status = receiver.answer() if verified else 401
        receiver.record(Delivery(self.path, dict(self.headers), body, verified, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads the deliveries, not a log


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: LoopbackReceiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver


class LoopbackReceiver:
    """Serves until the ``with`` block ends; :attr:`url` is where to send.

    :param statuses: the answer to each verified request in turn, the last one repeating
        (204 when none is given).
    :param secret: the signing secret the sender shares.
    :param now: the receiver's clock (Unix seconds) for the signature's timestamp check.
    """

    def __init__(self, *statuses: int, secret: str, now: Callable[[], float] = time.time) -> None:
        self.statuses = list(statuses) or [204]
        self.secret = secret
        self.now = now
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._answered = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        assert self._server is not None, "the receiver serves inside its with block"
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def answer(self) -> int:
        with self._lock:
            self._answered += 1
            return self.statuses[min(self._answered, len(self.statuses)) - 1]

    def record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)
