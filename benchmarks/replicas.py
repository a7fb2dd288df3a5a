"""Benchmark 11: issue 15's acceptance at full size. Three ``atlas serve`` replicas on one
fresh PostgreSQL database (JWT authentication), 30 copies of ``examples/stack.yaml`` (each
with its own name and VPC range) created through the replicas in turn against the emulator
in a process of its own, with its default latencies and DigitalOcean's real rate limits; one
replica is killed with SIGKILL once an operation it accepted is running. The harness
(starting, killing, checking, tearing down) is ``tests/replicas.py``, which the suite's
smaller version uses too.

Takeover time runs from the kill until the last of the killed replica's unfinished operations
is first seen changed by a survivor (operations are read every ``interval`` seconds, so it is
that precise). Run alone::

    python -m benchmarks.replicas --infrastructures 30 --replicas 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from benchmarks.harness import PER_MINUTE, Table, emit
from tests.replicas import Outcome, cluster, stack_spec, takeover_seconds, verify

#: How long a replica's claim lasts without a heartbeat, in this run.
LEASE = 10.0
#: Seconds the survivors get, from the kill, to claim every orphan before the run stops
#: waiting for them (and reports them unfinished).
TAKEOVER_WITHIN = 120.0 + 6 * LEASE
#: The whole run's bound: 30 stacks need about 1,000 requests, four minutes at 250 a minute.
TIMEOUT = 1800.0


@attrs.frozen
class ReplicasRun:
    infrastructures: int
    replicas: int
    killed: bool
    completed: int
    operations: int
    wall_s: float | None
    requests: int
    throttled: int
    busiest: int
    takeover_s: float | None
    slowest_post_s: float
    problems: tuple[str, ...]


def measure(
    infrastructures: int, replicas: int = 3, *, kill: bool = True, lease: float = LEASE
) -> ReplicasRun:
    specs = [stack_spec(i) for i in range(infrastructures)]
    with cluster(replicas, lease=lease, droplet_limit=max(100, 5 * infrastructures)) as c:
        start = time.time()
        c.create_all(specs)
        orphans = c.kill_while_running(1 % replicas) if kill else {}
        ops = c.wait_all(TIMEOUT, orphans=orphans, takeover_within=TAKEOVER_WITHIN, interval=1.0)
        infras = c.infrastructures()
        took = takeover_seconds(c, orphans) if kill else None
        run = c.finish()
    outcome = Outcome(c.submissions, ops, infras, run, orphans)
    return ReplicasRun(
        infrastructures=infrastructures,
        replicas=replicas,
        killed=kill,
        completed=sum(1 for op in ops.values() if op["status"] == "completed"),
        operations=len(ops),
        wall_s=_wall(ops, start),
        requests=len(run.requests),
        throttled=run.throttled,
        busiest=run.busiest_minute,
        takeover_s=took,
        slowest_post_s=max(s.answered_in for s in c.submissions),
        problems=tuple(verify(outcome)),
    )


def _wall(ops: Mapping[str, Mapping[str, Any]], start: float) -> float | None:
    """From the first POST to the last operation's end, as the store recorded it."""
    ends = [op.get("finished_at") for op in ops.values()]
    if not ends or any(end is None for end in ends):
        return None
    last = max(dt.datetime.fromisoformat(str(end).replace("Z", "+00:00")) for end in ends)
    return last.timestamp() - start


def run_all(infrastructures: int, replicas: int = 3) -> list[ReplicasRun]:
    result = measure(infrastructures, replicas)
    print(f"  {replicas} replicas, {infrastructures} stacks, one killed: {_summary(result)}")
    return [result]


def _summary(run: ReplicasRun) -> str:
    return f"{run.completed}/{run.operations} completed, {len(run.problems)} problem(s)"


def _seconds(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.1f}"


def table(runs: Sequence[ReplicasRun]) -> Table:
    t = Table(
        title="11. Replicas: copies of examples/stack.yaml through replicas on one database",
        headers=["replicas", "infrastructures", "operations completed", "wall (s)",
                 "requests", "429s", f"busiest minute (/{PER_MINUTE})", "takeover (s)",
                 "slowest POST (s)"],
    )  # fmt: skip
    for run in runs:
        t.add(
            run.replicas,
            run.infrastructures,
            f"{run.completed}/{run.operations}",
            _seconds(run.wall_s, "unfinished"),
            run.requests,
            run.throttled,
            run.busiest,
            _seconds(run.takeover_s, "none") if run.killed else "no kill",
            f"{run.slowest_post_s:.1f}",
        )
    t.notes.append(
        f"One PostgreSQL database, lease {LEASE:g} s (ATLAS_LEASE_SECONDS); the emulator in "
        "its own process with its default latencies and DigitalOcean's limits."
    )
    for run in runs:
        t.notes += [f"MISSED: {p}" for p in run.problems[:20]]
        if len(run.problems) > 20:
            t.notes.append(f"... and {len(run.problems) - 20} more problems")
    return t


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replicas", description=__doc__)
    parser.add_argument("--infrastructures", type=int, default=30)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--no-kill", action="store_true", help="keep every replica alive")
    args = parser.parse_args(argv)
    run = measure(args.infrastructures, args.replicas, kill=not args.no_kill)
    emit(table([run]))
    return 1 if run.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
