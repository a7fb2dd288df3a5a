"""Bounded connections for ``atlas serve``: what one socket may cost before it is answered.

uvicorn's parsers leave a request head unbounded in time, and httptools in size too: a client
could send a 32 MB header (read in full, and answered) or hold thousands of sockets open
halfway through one (slowloris), without ever authenticating. The protocol classes here are
uvicorn's own, HttpToolsProtocol (when httptools is installed, as with the ``server`` extra)
or H11Protocol, with :class:`~atlas.server.settings.ConnectionLimits` applied *before* the
parser sees the bytes:

- **head size**: bytes are fed to the parser only while the head read so far fits
  ``header_bytes``; the byte that would exceed it is never parsed, the client gets
  ``431 HEADERS_TOO_LARGE`` and the connection is closed. (One read of the socket, at most
  256 KiB, is held in memory while it is counted; a head that follows a request body in the
  same read is counted from the next read.)
- **head time**: a connection has ``header_timeout`` seconds to send a complete head, from
  its opening, or on a kept-alive connection from the first byte of its next request; then it
  is closed. Time the server spends answering an earlier (pipelined) request does not count.
- **idle time**: uvicorn's keep-alive timeout, ``keepalive_timeout`` seconds.
- **connections**: a request on a connection opened while ``max_connections`` others were
  open is answered ``503 SERVER_BUSY`` (``Retry-After: 1``) and its connection closed; the
  connections already being served keep being served.

What the limits refuse (heads too large or too slow, connections over the limit) is logged at
INFO, counted over ten seconds, so an attack is a line, not thousands.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from atlas.server.errors import ApiError
from atlas.server.settings import ConnectionLimits

if TYPE_CHECKING:
    from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
    from uvicorn.server import Protocols, ServerState

__all__ = ["PARSERS", "Parser", "connection_options", "protocol_class"]

Parser = Literal["auto", "httptools", "h11"]
PARSERS: tuple[Parser, ...] = ("auto", "httptools", "h11")
#: Seconds over which refusals are counted before they are logged, as one line.
TALLY_SECONDS = 10.0

log = logging.getLogger("atlas.server.connections")
_BUSY = json.dumps(
    ApiError(
        503, "SERVER_BUSY", "the server has as many connections as it serves; retry shortly"
    ).body(None)
).encode()


def connection_options(limits: ConnectionLimits, parser: Parser = "auto") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` that apply ``limits`` with ``parser``."""
    return {
        "http": protocol_class(limits, parser),
        # uvicorn annotates it int, and hands it to loop.call_later, which takes any seconds.
        "timeout_keep_alive": limits.keepalive_timeout,
        # h11's own buffer bound, the same as ours: the bytes it is given never exceed it.
        "h11_max_incomplete_event_size": limits.header_bytes,
    }


def protocol_class(limits: ConnectionLimits, parser: Parser = "auto") -> type[asyncio.Protocol]:
    """uvicorn's protocol for ``parser`` (``auto``: httptools when installed, else h11),
    bounded by ``limits``."""
    if parser == "auto":
        parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    base = _httptools_protocol() if parser == "httptools" else _h11_protocol()
    attributes = {"limits": limits, "tally": _Tally(), "__module__": __name__}
    return type(f"Bounded{base.__name__}", (base,), attributes)


class _Tally:
    """Counts what the limits refused, and logs the counts once per :data:`TALLY_SECONDS`."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def note(self, loop: asyncio.AbstractEventLoop, what: str) -> None:
        if not self.counts:
            loop.call_later(TALLY_SECONDS, self.flush)
        self.counts[what] += 1

    def flush(self) -> None:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        log.info("connection limits, in %g s: %s", TALLY_SECONDS, counts, extra=dict(self.counts))
        self.counts.clear()


class _Bounded(asyncio.Protocol):
    """The limits, around one of uvicorn's protocols (which follows this class in the MRO).

    A subclass says where a head ends (:meth:`_head_done`), whether the next bytes belong to
    a head (:meth:`_awaiting_head`) and whether an answer is being sent
    (:meth:`_answering`).
    """

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    tally: ClassVar[_Tally] = _Tally()

    if TYPE_CHECKING:  # set by uvicorn's protocol
        transport: asyncio.Transport
        loop: asyncio.AbstractEventLoop
        connections: set[Protocols]
        server_state: ServerState

    _head_bytes = 0  # of the head being read, fed to the parser
    _heads = 0  # heads parsed on this connection
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # uvicorn has just counted this connection among its own.
        if len(self.connections) > self.limits.max_connections:
            self.app = _server_busy
            self.tally.note(self.loop, "over the connection limit")
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._awaiting_head():
            self._arm()  # the next request on a kept-alive connection begins
        while data:
            room = self.limits.header_bytes - self._head_bytes
            if not self._awaiting_head() or len(data) <= room:
                if self._awaiting_head():
                    self._head_bytes += len(data)
                super().data_received(data)
                return
            heads = self._heads
            part, data = data[:room], data[room:]
            self._head_bytes += len(part)
            if part:
                super().data_received(part)
            if self.transport.is_closing():
                return
            if self._heads == heads:  # the head is still open, and more of it is waiting
                self._too_large()
                return

    def _awaiting_head(self) -> bool:
        raise NotImplementedError

    def _answering(self) -> bool:
        raise NotImplementedError

    def _head_done(self) -> None:
        self._heads += 1
        self._head_bytes = 0
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._answering():  # the server holds up the next request, not the client
            self._arm()
            return
        self.tally.note(self.loop, "header timeout")
        self.transport.close()

    def _default_headers(self) -> list[tuple[bytes, bytes]]:
        """uvicorn's ``server`` and ``date``, as on every other answer."""
        return self.server_state.default_headers

    def _too_large(self) -> None:
        self.tally.note(self.loop, "header too large")
        if self._answering():  # a pipelined head: an answer now would cut into another one
            self.transport.close()
            return
        message = f"the request line and headers exceed {self.limits.header_bytes} bytes"
        body = json.dumps(ApiError(431, "HEADERS_TOO_LARGE", message).body(None)).encode()
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self._default_headers()]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"cache-control: no-store\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


async def _server_busy(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """The answer on a connection over the limit: 503, in the API's error shape."""
    del scope, receive
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_BUSY)).encode()),
                (b"retry-after", b"1"),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BUSY, "more_body": False})


@functools.cache
def _httptools_protocol() -> type[_Bounded]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415

    class HttpTools(_Bounded, HttpToolsProtocol):
        """httptools calls back as it parses: a head ends at ``on_headers_complete``, and the
        next one starts after ``on_message_complete``."""

        _in_head = True

        def _awaiting_head(self) -> bool:
            return self._in_head

        def _answering(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_done()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head = True
            super().on_message_complete()

    return HttpTools


@functools.cache
def _h11_protocol() -> type[_Bounded]:
    import h11  # noqa: PLC0415
    from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: PLC0415

    class H11(_Bounded, H11Protocol):
        """h11 is asked for events: a head has ended when uvicorn made a new request cycle of
        it; until the body is read the client's state is ``SEND_BODY``."""

        def _awaiting_head(self) -> bool:
            return self.conn.their_state is not h11.SEND_BODY

        def _answering(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:
                self._head_done()

    return H11
