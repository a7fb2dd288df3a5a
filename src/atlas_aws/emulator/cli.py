"""``atlas emulator --provider aws`` (or ``python -m atlas_aws.emulator``): serve moto behind
the fidelity layer on loopback until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from atlas_aws.emulator.layer import FidelityConfig
from atlas_aws.emulator.server import AwsEmulator

__all__ = ["main"]


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve an EC2 emulator (moto in server mode behind atlas's fidelity "
        "layer) on loopback. Every access key id is an account of its own.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8998, help="port (default 8998; 0 = any)")
    parser.add_argument(
        "--pending-seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="how long a launched instance stays pending (default 5)",
    )
    parser.add_argument(
        "--invisible-seconds",
        type=float,
        default=1.0,
        metavar="S",
        help="how long a launched instance is missing from lists and unknown by id (default 1)",
    )
    parser.add_argument(
        "--db-creating-seconds",
        type=float,
        default=60.0,
        metavar="S",
        help="how long a new RDS DB instance shows creating (default 60)",
    )
    parser.add_argument(
        "--db-deleting-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="how long a deleted RDS DB instance shows deleting (default 30)",
    )
    parser.add_argument(
        "--provisioning-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="how long a new load balancer stays provisioning (default 30)",
    )
    parser.add_argument(
        "--release-seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="how long a deleted load balancer's target groups answer ResourceInUse (default 5)",
    )
    parser.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="never answer RequestLimitExceeded for request volume",
    )
    parser.add_argument(
        "--no-idempotency",
        action="store_true",
        help="launch again for a repeated ClientToken, as plain moto does",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding a non-loopback address (the emulator has no real security)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "atlas emulator --provider aws") -> int:
    """Serve until SIGINT or SIGTERM; returns the process exit status."""
    args = _parser(prog).parse_args(argv)
    times = ("pending", "invisible", "db_creating", "db_deleting")
    negative = [t for t in times if getattr(args, f"{t}_seconds") < 0]
    if negative:
        names = ", ".join(f"--{t.replace('_', '-')}-seconds" for t in negative)
        print(f"error: {names} must be >= 0", file=sys.stderr)
        return 2
    if args.provisioning_seconds < 0 or args.release_seconds < 0:
        print("error: --provisioning-seconds and --release-seconds must be >= 0", file=sys.stderr)
        return 2
    config = FidelityConfig(
        pending_seconds=args.pending_seconds,
        invisible_seconds=args.invisible_seconds,
        db_creating_seconds=args.db_creating_seconds,
        db_deleting_seconds=args.db_deleting_seconds,
        provisioning_seconds=args.provisioning_seconds,
        release_seconds=args.release_seconds,
        idempotency=not args.no_idempotency,
        rate_limits=not args.no_rate_limit,
    )
    try:
        emulator = AwsEmulator(args.host, args.port, config, allow_remote=args.allow_remote).start()
    except (ValueError, OSError, SystemExit) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    print(f"EC2 emulator listening on {emulator.url} (set AWS_ENDPOINT_URL to it)", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.stop()
    return 0
