"""``atlas serve``: the HTTP API on uvicorn (needs the ``server`` extra).

Listens on ``--host``/``$HOST`` (default 127.0.0.1) and ``--port``/``$PORT`` (default 3003),
logs JSON lines at ``--log-level``/``$LOG_LEVEL``. Without ``ATLAS_JWT_SECRET`` or
``ATLAS_API_KEYS_FILE`` it serves one ``default`` workspace, says so, and refuses any address
but a loopback one. ``--sandbox`` serves against the plugins' in-process fake clouds.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from atlas.cli.usage import command_help
from atlas.exceptions import PluginError
from atlas.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from atlas.providers.declarations import ProviderInfo

__all__ = ["add_serve_command"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
#: Seconds open connections (event streams) get to finish once a shutdown begins.
GRACEFUL_SECONDS = 5


def add_serve_command(sub: Any, providers: Sequence[ProviderInfo] = ()) -> None:
    """Register ``atlas serve`` on an argparse subparsers object (``providers``: the installed
    ones, whose variables its help lists)."""
    p = sub.add_parser(
        "serve",
        help="serve the HTTP API (the 'server' extra)",
        **command_help("serve", providers),
    )
    p.add_argument("--host", help="address to listen on (default: $HOST or 127.0.0.1)")
    p.add_argument("--port", help="port, 1-65535 (default: $PORT or 3003)")
    p.add_argument(
        "--state",
        help="the state store: a file, or a postgresql:// URL "
        "(default: $ATLAS_STATE or .atlas/state.db)",
    )
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="serve against the providers' in-process emulators, in memory; nothing is kept",
    )
    p.add_argument("--log-level", choices=LOG_LEVELS, help="default: $LOG_LEVEL or info")
    p.add_argument(
        "--new-api-key",
        metavar="WORKSPACE",
        help="print a new API key for WORKSPACE, and its entry for the key file, then exit",
    )
    p.set_defaults(run=_serve)


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    try:
        import uvicorn  # noqa: PLC0415 - the server extra is optional

        from atlas.server import create_app, new_api_key, settings_from_env  # noqa: PLC0415
        from atlas.server.auth import key_file_entry  # noqa: PLC0415
        from atlas.server.connections import connection_options  # noqa: PLC0415
        from atlas.server.logs import configure_logging  # noqa: PLC0415
        from atlas.server.settings import DEFAULT_PORT, refuse_open_bind  # noqa: PLC0415
    except ImportError as exc:
        sys.stderr.write(
            f"atlas serve needs the server extra ({exc.name} is missing): "
            "pip install 'atlas-infra[server]'\n"
        )
        return EXIT_FAILED
    if args.new_api_key:
        key = new_api_key()
        try:
            entry = key_file_entry(args.new_api_key, key)
        except ValueError as exc:
            sys.stderr.write(f"atlas serve: {exc}\n")
            return EXIT_INVALID
        out.write(f"API key (shown once): {key}\nkey file entry: {json.dumps(entry)}\n")
        return EXIT_OK
    from atlas.runtime import default_registry  # noqa: PLC0415
    from atlas.store import SQLiteStore, open_store  # noqa: PLC0415

    env = os.environ
    host = args.host or env.get("HOST") or "127.0.0.1"
    level = (args.log_level or env.get("LOG_LEVEL") or "info").lower()
    try:
        port = _port(args.port, env.get("PORT"), DEFAULT_PORT)
        if level not in LOG_LEVELS:
            raise ValueError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        registry = default_registry()
        extra = _sandbox(registry) if args.sandbox else {}
        in_memory = args.sandbox and not args.state  # a fake cloud is forgotten at exit
        store = SQLiteStore(":memory:") if in_memory else open_store(args.state)
        settings = settings_from_env(env, store=store, registry=registry, **extra)
        refuse_open_bind(host, settings.auth)
    except ValueError as exc:
        sys.stderr.write(f"atlas serve: {exc}\n")
        return EXIT_INVALID
    # Bound before the banner, so that "listening" is true when it is printed; uvicorn
    # serves on this very socket.
    sock = _bind_or_say(host, port)
    if sock is None:
        store.close()
        return EXIT_FAILED
    configure_logging(level)
    _banner(out, host, port, settings)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,  # the app logs each request, with its id
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        **connection_options(settings.connections),
    )
    # What was loaded to start (modules, catalogs, the app) lives as long as the process: the
    # collector need not scan it again in every full collection, a pause of tens of ms.
    gc.collect()
    gc.freeze()
    with _quiet_exit():
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            sock.close()
            store.close()
    return EXIT_OK


def _banner(out: TextIO, host: str, port: int, settings: Any) -> None:
    auth = ", ".join(settings.auth.modes()) or "none: workspace 'default', loopback callers only"
    out.write(f"atlas serve: http://{host}:{port} (authentication: {auth})\n")
    if settings.sandbox:
        out.write(f"atlas serve: sandbox, {settings.sandbox}\n")
    out.flush()


def _port(given: str | None, from_env: str | None, default: int) -> int:
    """The port to listen on, from ``--port``, else ``$PORT``, else the default."""
    where, text = ("--port", given) if given is not None else ("PORT", from_env)
    if text is None or text == "":
        return default
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{where} must be a whole number from 1 to 65535, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{where} must be from 1 to 65535, not {port}")
    return port


def _bind_or_say(host: str, port: int) -> socket.socket | None:
    try:
        return _bind(host, port)
    except OSError as exc:
        sys.stderr.write(f"atlas serve: cannot listen on {host}:{port}: {_why(exc)}\n")
        return None


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port``, as uvicorn would bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Named TCP, the accepted sockets are too, and asyncio sets TCP_NODELAY on them only
    # then: without it every answer on a kept-alive connection after the first waited for
    # the client's delayed ACK (uvicorn writes the head and the body apart), 40 ms each.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _why(exc: OSError) -> str:
    """The reason in words: ``address already in use``, ``cannot assign requested address``."""
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    reason = exc.strerror or str(exc)
    return reason[0].lower() + reason[1:] if reason else "unknown error"


class _Stopped(Exception):
    """SIGINT or SIGTERM, once uvicorn has shut down gracefully and passes the signal on."""


def _stop(signum: int, frame: object) -> None:  # noqa: ARG001 - a signal handler's signature
    raise _Stopped(signum)


@contextlib.contextmanager
def _quiet_exit() -> Iterator[None]:
    """Uvicorn re-raises the stopping signal after its graceful shutdown; ending here
    instead lets the store close and the command exit 0, without a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _sandbox(registry: ProviderRegistry) -> dict[str, Any]:
    providers: dict[str, Any] = {}
    described: list[str] = []
    for name in registry.names():
        sandbox = registry.sandbox(name)
        if sandbox is not None:
            providers[name] = sandbox.provider
            described.append(f"{name}: {sandbox.description}")
    if not providers:
        raise PluginError("no installed plugin offers a sandbox")
    return {"shared_providers": providers, "sandbox": "; ".join(described)}
