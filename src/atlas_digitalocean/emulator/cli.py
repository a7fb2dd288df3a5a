"""``python -m atlas_digitalocean.emulator``: serve an emulator until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from atlas_digitalocean.emulator.config import EmulatorConfig, RateLimits
from atlas_digitalocean.emulator.offerings import OPEN_REGIONS
from atlas_digitalocean.emulator.server import serve


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a stateful DigitalOcean API v2 emulator on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8999, help="port (default 8999; 0 = any)")
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply every transition latency by X (0 = immediate)",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="never answer 429 for request volume"
    )
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="TOKEN",
        help="accept only this bearer token (repeatable; default: any non-empty token)",
    )
    parser.add_argument("--seed", type=int, help="seed identifiers for reproducible runs")
    account = parser.add_mutually_exclusive_group()
    account.add_argument(
        "--used-account",
        action="store_true",
        help="start as an account that has used every open region: each already has its "
        "default VPC (default: a fresh account, with no VPC anywhere, where DigitalOcean makes "
        "a region's first VPC its default)",
    )
    account.add_argument(
        "--fresh-account",
        action="store_true",
        help="start as a fresh account (the default; kept for scripts that ask for it)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding a non-loopback address (the emulator has no real security)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "atlas emulator") -> int:
    """Serve until SIGINT or SIGTERM; returns the process exit status."""
    args = _parser(prog).parse_args(argv)
    if args.latency_scale < 0:
        print("error: --latency-scale must be >= 0", file=sys.stderr)
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s")
    config = EmulatorConfig(
        latency_scale=args.latency_scale,
        rate_limits=RateLimits(enabled=not args.no_rate_limit),
        tokens=args.tokens,
        seed=args.seed,
        default_vpc_regions=OPEN_REGIONS if args.used_account else (),
    )
    try:
        served = serve(args.host, args.port, config, allow_remote=args.allow_remote)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    print(f"DigitalOcean API emulator listening on {served.url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        served.close()
    return 0
