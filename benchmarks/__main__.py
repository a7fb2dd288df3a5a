"""``python -m benchmarks [--quick] [--only SUITE,...]``: run the suites, print the tables.

Suites: ``provisioning`` (1 and 2: atlas and the peer libraries, N droplets), ``stack`` (3),
``engine`` (4), ``server`` (5), ``gaps`` (6: atlas under other public
settings, to show what would close a missed target), ``startup`` (7: the CPU cost of
``atlas --help`` and ``atlas estimate FILE``), ``connections`` (8: ``atlas serve`` under
hostile connections, and the CPU cost of its bounds), ``critical-path`` (9: ``atlas apply`` of
the example stack against its critical path), ``bigplans`` (10: plans of 1,000 to 50,000
resources in the library and served, and eight 1 MiB plans at once beside ``/health``).
``replicas`` (11: three ``atlas serve`` replicas on one PostgreSQL database, 30 copies of the
example stack, one replica killed with SIGKILL; needs PostgreSQL, see tests/postgres.py).
``aws-instances`` (12: N instances on the AWS emulator by atlas, boto3 and libcloud's EC2
driver). ``portable`` (13: ``atlas estimate --compare`` of a 1,000-resource portable spec across
every provider and region).
``--markdown FILE`` also writes the tables,
with the date, the machine and the run time, as recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import (
    aws_instances,
    bigplans,
    calibrate,
    connections,
    critical_path,
    engine,
    gaps,
    portable,
    provisioning,
    replicas,
    server,
    stack,
    startup,
)
from benchmarks.harness import emit

SUITES = (
    "provisioning",
    "stack",
    "engine",
    "server",
    "gaps",
    "startup",
    "connections",
    "critical-path",
    "bigplans",
    "replicas",
    "aws-instances",
    "portable",
)
#: What runs without --only; gaps is for full runs.
DEFAULT = SUITES
QUICK = (
    "provisioning", "stack", "engine", "server", "startup", "connections", "critical-path",
    "bigplans", "aws-instances", "portable",
)  # fmt: skip


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer N, copies and runs (~1.5 min)")
    p.add_argument("--only", help=f"comma-separated suites ({', '.join(SUITES)})")
    p.add_argument("--runs", type=int, help="runs per figure (full 3, quick 1)")
    p.add_argument("--boot", type=float, default=3.0, help="droplet boot latency L (s)")
    p.add_argument("--sizes", type=_ints, help="N for atlas (full 10,100,500; quick 10,100)")
    p.add_argument("--peer-sizes", type=_ints, help="N for the peers (full 10,100; quick 10)")
    p.add_argument("--peers", default=",".join(provisioning.PEERS), help="peer libraries")
    p.add_argument("--copies", type=int, help="concurrent stacks (full 20, quick 3)")
    p.add_argument("--engine-sizes", type=_ints, help="spec sizes (full 100,1000,10000)")
    p.add_argument(
        "--load-seconds", type=float, help="seconds of load per server run (full 5, quick 2)"
    )
    p.add_argument("--bigplan-sizes", type=_ints, help="large plan sizes (full 1000,10000,50000)")
    p.add_argument(
        "--replica-stacks", type=int, help="stacks through the replicas (full 30, quick 6)"
    )
    p.add_argument("--aws-n", type=int, help="instances on the AWS emulator (full 100, quick 10)")
    p.add_argument(
        "--aws-pending", type=float, default=2.0, help="AWS launches pending for (s; default 2)"
    )
    p.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = p.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (1 if quick else 3)
    args.sizes = args.sizes or ([10, 100] if quick else [10, 100, 500])
    args.peer_sizes = (
        args.peer_sizes if args.peer_sizes is not None else [10] if quick else [10, 100]
    )
    args.copies = args.copies or (3 if quick else 20)
    args.load_seconds = args.load_seconds or (2.0 if quick else 5.0)
    args.engine_sizes = args.engine_sizes or ([100, 1000] if quick else [100, 1000, 10_000])
    args.replica_stacks = args.replica_stacks or (6 if quick else 30)
    args.aws_n = args.aws_n or (10 if quick else 100)
    args.bigplan_sizes = args.bigplan_sizes or ([1000, 10_000] if quick else list(bigplans.SIZES))
    if args.only is None:
        args.only = list(QUICK if quick else DEFAULT)
    else:
        args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SUITES)
    if unknown:
        p.error(f"unknown suites: {', '.join(sorted(unknown))}; choose from {', '.join(SUITES)}")
    args.peers = [x for x in args.peers.split(",") if x]
    return args


def machine() -> str:
    return (
        f"{platform.system()} {platform.release()}, {platform.machine()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    began = time.perf_counter()
    mode = "quick" if args.quick else "full"
    header = (
        f"atlas benchmarks ({mode}), {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"{machine()}"
    )
    header += "\n\n" + calibrate.speed_line()
    if {"provisioning", "stack", "gaps", "critical-path"} & set(args.only):
        header += "\n" + calibrate.line()
    print(header + "\n", flush=True)
    texts: list[str] = []
    if "provisioning" in args.only:
        print("## Provisioning N droplets (atlas and peers)", flush=True)
        rounds = provisioning.run_all(
            args.sizes,
            args.peer_sizes,
            args.runs,
            boot=args.boot,
            peers=args.peers,
        )
        texts.append(emit(provisioning.atlas_table(rounds, args.sizes, args.boot)))
        tools = ["atlas", *args.peers]
        texts.append(emit(provisioning.routes_table(rounds, args.sizes, tools)))
        if args.peer_sizes and args.peers:
            peer_sizes = [n for n in args.sizes if n in args.peer_sizes]
            texts.append(emit(provisioning.peers_table(rounds, peer_sizes, args.peers, args.boot)))
    if "stack" in args.only:
        print(f"## Mixed stack: {args.copies} copies at once", flush=True)
        pairs = stack.run_all(args.copies, args.runs)
        texts.append(emit(stack.table(pairs, args.copies)))
    if "engine" in args.only:
        print("## Cost engine and planner", flush=True)
        runs = 3 if args.quick else 5
        texts.append(emit(engine.table(engine.run_all(args.engine_sizes, runs), runs)))
    if "server" in args.only:
        print("## HTTP server", flush=True)
        rounds5 = server.run_all(args.runs, args.load_seconds)
        texts.append(emit(server.table(rounds5, args.runs, args.load_seconds)))
    if "gaps" in args.only:
        print("## What would close the gaps", flush=True)
        texts.append(emit(gaps.table(gaps.run_all(args.runs, boot=args.boot), args.boot)))
    if "startup" in args.only:
        print("## CLI startup CPU", flush=True)
        runs = 5 if args.quick else 11
        texts.append(emit(startup.table(startup.run_all(runs), runs)))
    if "connections" in args.only:
        print("## Hostile connections", flush=True)
        sizes = [200] if args.quick else [200, 2000]
        texts.append(emit(connections.hostile_table(connections.run_hostile(sizes))))
        cost = connections.run_cost(args.runs, args.load_seconds)
        texts.append(emit(connections.cost_table(cost, args.runs, args.load_seconds)))
    texts += _later_suites(args)
    took = time.perf_counter() - began
    footer = f"Run time: {took / 60:.1f} min ({mode} mode)."
    print(footer, flush=True)
    if args.markdown is not None:
        args.markdown.write_text("\n".join([header, "", *texts, footer, ""]))
    return 0


def _later_suites(args: argparse.Namespace) -> list[str]:
    """The tables of the suites added last (9 to 12), if asked for."""
    texts = []
    if "critical-path" in args.only:
        print("## Critical path of examples/stack.yaml", flush=True)
        texts.append(emit(critical_path.table(critical_path.run_all(args.runs))))
    if "bigplans" in args.only:
        print("## Large plans, and the event loop beside them", flush=True)
        texts += [emit(table) for table in bigplans.run_all(args.bigplan_sizes, args.runs)]
    if "replicas" in args.only:
        # One run, whatever --runs says: each takes minutes, bounded by the rate limit.
        print(f"## Replicas: {args.replica_stacks} stacks through 3 replicas", flush=True)
        texts.append(emit(replicas.table(replicas.run_all(args.replica_stacks))))
    if "aws-instances" in args.only:
        print(f"## AWS: {args.aws_n} instances (atlas, boto3, libcloud)", flush=True)
        runs = aws_instances.run_all(args.aws_n, args.aws_pending, args.runs)
        texts.append(emit(aws_instances.table(runs, args.aws_n, args.aws_pending)))
    if "portable" in args.only:
        print("## Placing a portable spec", flush=True)
        runs13 = 3 if args.quick else 5
        texts.append(emit(portable.table(portable.run_all(runs=runs13), runs13)))
    return texts


if __name__ == "__main__":
    sys.exit(main())
