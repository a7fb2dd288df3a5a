"""What one connection may cost ``atlas serve``: heads bounded in size and time, idle
kept-alive connections closed, connections beyond a limit refused with 503.

Every test opens the sockets itself against a real server on loopback: uvicorn in a thread
with the protocol ``atlas serve`` uses, for each parser (httptools, as the ``server`` extra
installs, and h11 without it), and ``atlas serve`` itself for the acceptance figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from atlas.cli import main
from atlas.cli.serve import _bind
from atlas.server import connections
from atlas.server.connections import Parser, connection_options
from atlas.server.settings import ConnectionLimits
from tests.atlas.server.serving import Server

pytestmark = pytest.mark.loopback

PARSERS: tuple[Parser, ...] = ("httptools", "h11")
#: A head that is never finished: the request line and one header, then nothing.
HALF_HEAD = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
#: What a client may send beyond the limit before it sees the server's verdict: the test
#: sends 4 KiB at a time and waits up to 0.2 s for an answer after each, so this allows the
#: server 3 s of lag on a busy machine. A server that reads the whole head sends nothing.
SLACK = 64 * 1024
CHUNK = 4096


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/slow`` answers after a second and a half; anything else at once."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(1.5)
    body = b'{"ok": true}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"12")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def served(parser: Parser, **limits: Any) -> Iterator[int]:
    """uvicorn in a thread, bounded as ``atlas serve`` bounds it; its port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="off",
        **connection_options(ConnectionLimits(**limits), parser),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start in 10 s"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def request(path: str = "/", **headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer with a Content-Length body: status, headers (lower-case names), body. Read
    a byte at a time up to the body, so that a pipelined answer after it stays unread."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        more = sock.recv(1)
        assert more, f"closed before an answer: {head!r}"
        head += more
    status_line, *lines = head.decode("latin-1").strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    body = b""
    while len(body) < int(headers["content-length"]):
        more = sock.recv(int(headers["content-length"]) - len(body))
        assert more, "closed in the middle of a body"
        body += more
    return int(status_line.split()[1]), headers, body


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until the server closes (a reset after an answer keeps what was read)."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while more := sock.recv(65536):
            data += more
    return data


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closes ``sock`` before ``deadline`` (monotonic), sending nothing."""
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            try:
                return sock.recv(1) == b""
            except ConnectionResetError:
                return True
    return False


def send_head_until_refused(port: int, total: int, limit: int) -> tuple[int, bytes]:
    """Send a head of ``total`` bytes 4 KiB at a time, as long as the server lets it (past
    ``limit``, waiting for its verdict after each): the bytes sent before the verdict, and
    what the server answered (``b""``: it just closed). Past ``limit + SLACK`` it sends the
    rest at once: the test has failed by then, and need not fail slowly."""
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        sent = 43
        while sent < min(total, limit + SLACK + CHUNK):
            if select.select([sock], [], [], 0.2 if sent > limit else 0.005)[0]:
                return sent, read_to_end(sock)
            try:
                sock.sendall(b"a" * CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                return sent, b""
            sent += CHUNK
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"a" * (total - sent) + b"\r\n\r\n")
            sent = total
        return sent, read_to_end(sock)


def head_of(size: int) -> bytes:
    """A complete request head of exactly ``size`` bytes."""
    start, end = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


@pytest.mark.parametrize("parser", PARSERS)
def test_a_head_of_the_limit_is_served_and_one_byte_more_is_431(parser: Parser) -> None:
    with served(parser, header_bytes=4096) as port:
        with connect(port) as sock:
            sock.sendall(head_of(4096))
            assert read_answer(sock)[0] == 200
        with connect(port) as sock:
            sock.sendall(head_of(4097))
            status, headers, body = read_answer(sock)
            assert read_to_end(sock) == b""  # and then closed
    assert (status, headers["connection"]) == (431, "close")
    assert json.loads(body) == {
        "error": "HeadersTooLarge",
        "message": "the request line and headers exceed 4096 bytes",
        "code": "HEADERS_TOO_LARGE",
    }


@pytest.mark.parametrize("parser", PARSERS)
def test_a_32_mb_header_is_refused_after_the_limits_worth(parser: Parser) -> None:
    with served(parser, header_bytes=16_384) as port:
        sent, answer = send_head_until_refused(port, 32_000_000, 16_384)
        with connect(port) as sock:  # and the server serves on
            sock.sendall(request())
            assert read_answer(sock)[0] == 200
    assert 16_384 < sent <= 16_384 + SLACK
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")


@pytest.mark.parametrize("parser", PARSERS)
def test_connections_that_stop_mid_head_are_closed_after_the_header_timeout(
    parser: Parser, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "TALLY_SECONDS", 0.5)
    caplog.set_level(logging.INFO, logger="atlas.server.connections")
    with served(parser, header_timeout=1.0) as port:
        began = time.monotonic()
        socks = [connect(port) for _ in range(200)]
        try:
            for sock in socks[20:]:  # the first twenty send nothing at all
                sock.sendall(HALF_HEAD)
            with connect(port) as other:  # meanwhile, a whole request is served
                other.sendall(request())
                assert read_answer(other)[0] == 200
            assert not any(closed_by_server(s, began + 0.9) for s in socks[:5])
            closed = [closed_by_server(s, began + 6.0) for s in socks]
            took = time.monotonic() - began
        finally:
            for sock in socks:
                sock.close()
        deadline = time.monotonic() + 5
        while tallied(caplog, "header timeout") < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert all(closed), f"{closed.count(False)} of 200 still open after {took:.1f} s"
    # Counted, not one line each: the first line says how many in how long.
    lines = [r for r in caplog.records if r.name == "atlas.server.connections"]
    assert 1 <= len(lines) <= 4
    assert lines[0].getMessage().startswith("connection limits, in 0.5 s: ")
    assert tallied(caplog, "header timeout") == 200


def tallied(caplog: pytest.LogCaptureFixture, what: str) -> int:
    """The refusals of one kind the connection-limit log lines have counted so far."""
    records = [r for r in caplog.records if r.name == "atlas.server.connections"]
    return sum(int(r.__dict__.get(what, 0)) for r in records)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_kept_alive_connection_is_closed_once_idle(parser: Parser) -> None:
    with served(parser, keepalive_timeout=1.0) as port, connect(port) as sock:
        sock.sendall(request())
        assert read_answer(sock)[0] == 200
        time.sleep(0.5)
        sock.sendall(request())  # kept alive: served again
        assert read_answer(sock)[0] == 200
        answered = time.monotonic()
        assert not closed_by_server(sock, answered + 0.5)
        assert closed_by_server(sock, answered + 6.0)


@pytest.mark.parametrize("parser", PARSERS)
def test_the_next_head_on_a_kept_alive_connection_has_the_header_timeout(
    parser: Parser,
) -> None:
    # The first byte of the next request stops the idle timer; the head timer takes over.
    with served(parser, header_timeout=1.0, keepalive_timeout=30) as port, connect(port) as sock:
        sock.sendall(request())
        assert read_answer(sock)[0] == 200
        began = time.monotonic()
        sock.sendall(HALF_HEAD)
        assert not closed_by_server(sock, began + 0.9)
        assert closed_by_server(sock, began + 6.0)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_slow_answer_does_not_count_against_a_pipelined_head(parser: Parser) -> None:
    with served(parser, header_timeout=0.5) as port, connect(port) as sock:
        sock.sendall(request("/slow"))
        time.sleep(0.1)
        sock.sendall(request())  # complete, but waits 1.4 s for the slow answer to end
        assert read_answer(sock)[0] == 200
        assert read_answer(sock)[0] == 200


@pytest.mark.parametrize("parser", PARSERS)
def test_connections_over_the_limit_get_503_and_the_others_are_served(parser: Parser) -> None:
    with served(parser, max_connections=3) as port:
        first = [connect(port) for _ in range(3)]
        try:
            for sock in first:
                sock.sendall(request())
                assert read_answer(sock)[0] == 200
            with connect(port) as over:
                over.sendall(request())
                status, headers, body = read_answer(over)
                assert read_to_end(over) == b""
            for sock in first:  # the three keep being served
                sock.sendall(request())
                assert read_answer(sock)[0] == 200
            first.pop().close()
            # Once the server has seen one go, a new connection takes its place.
            deadline, again = time.monotonic() + 5, 503
            while again == 503 and time.monotonic() < deadline:
                with connect(port) as sock:
                    sock.sendall(request())
                    again = read_answer(sock)[0]
        finally:
            for sock in first:
                sock.close()
    assert (status, headers["retry-after"], headers["connection"]) == (503, "1", "close")
    assert json.loads(body)["code"] == "SERVER_BUSY"
    assert again == 200


def test_atlas_serve_under_slowloris_and_a_32_mb_header() -> None:
    """The acceptance figures, against ``atlas serve`` as started in production (httptools):
    a 32 MB header is refused after the limit's worth, 200 connections that stop mid-head are
    closed by the header timeout, and ``/api/v1/health`` stays quick meanwhile."""
    env = {"ATLAS_HEADER_TIMEOUT": "5", "ATLAS_MAX_HEADER_BYTES": "8192"}
    server = Server(env, "--sandbox")
    try:
        began = time.monotonic()
        socks = [connect(server.port) for _ in range(200)]
        for sock in socks:
            sock.sendall(HALF_HEAD)
        try:
            sent, answer = send_head_until_refused(server.port, 32_000_000, 8192)
            latencies = []
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for _ in range(50):
                    start = time.perf_counter()
                    assert client.get("/api/v1/health").status_code == 200
                    latencies.append(time.perf_counter() - start)
            polled = time.monotonic() - began
            assert not any(closed_by_server(s, began + 4.9) for s in socks[:5])
            closed = [closed_by_server(s, began + 15.0) for s in socks]
        finally:
            for sock in socks:
                sock.close()
    finally:
        assert server.stop() == 0
    assert 8192 < sent <= 8192 + SLACK
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    assert all(closed), f"{closed.count(False)} of 200 still open after 15 s"
    assert polled < 4.9, f"the polls took {polled:.1f} s, outlasting the slow heads"
    # 100 ms is the target (benchmarks/connections.py measures it); a shared machine is noisy.
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 0.5, f"p99 {p99 * 1000:.0f} ms; all: {sorted(latencies)}"
    # Each poll reuses the connection: an answer held for the client's delayed ACK takes 40 ms.
    assert statistics.median(latencies) < 0.025, sorted(latencies)


def test_atlas_serve_listens_so_that_answers_are_not_held_for_acks() -> None:
    """asyncio sets TCP_NODELAY only on accepted sockets whose protocol is TCP by name; the
    socket ``atlas serve`` binds must say so, or each answer on a kept-alive connection
    waits 40 ms for the client's delayed ACK (uvicorn writes head and body apart)."""
    with _bind("127.0.0.1", 0) as listening:
        listening.listen()
        with socket.create_connection(listening.getsockname()[:2]):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.type == socket.SOCK_STREAM
                assert accepted.proto == socket.IPPROTO_TCP


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ATLAS_MAX_HEADER_BYTES", "16k", "must be a positive whole number of bytes, not '16k'"),
        ("ATLAS_MAX_HEADER_BYTES", "512", "must be at least 1024 bytes, not 512"),
        ("ATLAS_MAX_HEADER_BYTES", "²", "must be a positive whole number of bytes, not '²'"),
        ("ATLAS_HEADER_TIMEOUT", "0", "must be a positive number of seconds, not '0'"),
        ("ATLAS_HEADER_TIMEOUT", "soon", "must be a positive number of seconds, not 'soon'"),
        ("ATLAS_HEADER_TIMEOUT", "nan", "must be a positive number of seconds, not 'nan'"),
        ("ATLAS_KEEPALIVE_TIMEOUT", "-5", "must be a positive number of seconds, not '-5'"),
        ("ATLAS_KEEPALIVE_TIMEOUT", "inf", "must be a positive number of seconds, not 'inf'"),
        ("ATLAS_MAX_CONNECTIONS", "0", "must be a positive whole number of connections, not '0'"),
        ("ATLAS_MAX_CONNECTIONS", "1.5", "must be a positive whole number of connections"),
    ],
)
def test_serve_refuses_a_bad_limit_naming_it(
    name: str,
    value: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    with socket.socket() as taken:  # were the value accepted, serving would fail, not hang
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("PORT", str(taken.getsockname()[1]))
        assert main(["serve", "--sandbox"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"atlas serve: {name} {message}")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert out == ""


def test_limits_come_from_the_environment() -> None:
    assert ConnectionLimits.from_env({}) == ConnectionLimits()
    env = {
        "ATLAS_MAX_HEADER_BYTES": " 32768 ",
        "ATLAS_HEADER_TIMEOUT": "2.5",
        "ATLAS_KEEPALIVE_TIMEOUT": "1",
        "ATLAS_MAX_CONNECTIONS": "50",
    }
    assert ConnectionLimits.from_env(env) == ConnectionLimits(
        header_bytes=32768, header_timeout=2.5, keepalive_timeout=1.0, max_connections=50
    )
