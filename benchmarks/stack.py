"""Benchmark 3: copies of examples/stack.yaml (VPC, 4 droplets, volume, database, load
balancer, firewall) applied concurrently by one ``AsyncAtlas`` (one token, so one client-side
rate limiter), then destroyed concurrently, against the served emulator with its default
latencies (droplet 3 s, database 10 s, load balancer 5 s, volume and firewall 1 s) and
DigitalOcean's real rate limits. Each run also applies a single copy alone, so the cost of
concurrency is a ratio taken within the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs

from atlas_digitalocean.emulator import Latencies, RequestRecord
from benchmarks.harness import (
    PER_MINUTE,
    Table,
    emulator_config,
    median,
    run_worker,
    served,
    spread,
    throttled,
)


@attrs.frozen
class StackRun:
    copies: int
    start: float
    active: float
    end: float
    records: tuple[RequestRecord, ...]
    limiter: dict[str, float]

    @property
    def apply_s(self) -> float:
        return self.active - self.start

    @property
    def destroy_s(self) -> float:
        return self.end - self.active

    @property
    def apply_calls(self) -> int:
        return sum(1 for r in self.records if r.at <= self.active)

    @property
    def destroy_calls(self) -> int:
        return len(self.records) - self.apply_calls

    @property
    def throttled(self) -> int:
        return throttled(self.records)

    def routes(self) -> Counter[str]:
        return Counter(r.key for r in self.records)


def measure(copies: int) -> StackRun:
    config = emulator_config(droplet_limit=max(100, 5 * copies), latencies=Latencies())
    with served(config) as emu:
        marks = run_worker(["atlas-stacks", "--url", emu.url, "--n", str(copies)])
        records = tuple(emu.emulator.log.records)
        if not emu.emulator.is_empty():
            raise RuntimeError(f"{copies} stacks: destroy left objects behind")
    return StackRun(
        copies, marks["start"], marks["active"], marks["end"], records, marks["limiter"]
    )


def run_all(copies: int, runs: int) -> list[tuple[StackRun, StackRun]]:
    """``runs`` rounds of (one copy alone, ``copies`` copies at once)."""
    rounds = []
    for i in range(1, runs + 1):
        pair = (measure(1), measure(copies))
        for run in pair:
            print(
                f"  run {i}/{runs}  {run.copies:>2} stack(s)  apply {run.apply_s:6.2f} s  "
                f"destroy {run.destroy_s:6.2f} s  calls {len(run.records):5d}  "
                f"429s {run.throttled}  client waited {run.limiter['time_waited']:.1f} s",
                flush=True,
            )
        rounds.append(pair)
    return rounds


def table(rounds: Sequence[tuple[StackRun, StackRun]], copies: int) -> Table:
    runs = len(rounds)
    t = Table(
        f"3. Mixed stack at scale: {copies} copies of examples/stack.yaml applied concurrently "
        f"- median (min-max) of {runs} run{'s' * (runs > 1)}",
        [
            "copies",
            "apply (s)",
            "x one copy",
            "destroy (s)",
            "calls: apply + destroy",
            "calls / copy",
            "busiest minute",
            "client-side waiting (s)",
            "429s",
        ],
    )
    for index, label in ((0, "1 (alone)"), (1, str(copies))):
        mine = [pair[index] for pair in rounds]
        ratio = [pair[index].apply_s / pair[0].apply_s for pair in rounds]
        n = mine[0].copies
        t.add(
            label,
            spread([r.apply_s for r in mine]),
            spread(ratio),
            spread([r.destroy_s for r in mine]),
            f"{median([r.apply_calls for r in mine]):.0f} + "
            f"{median([r.destroy_calls for r in mine]):.0f}",
            f"{median([len(r.records) / n for r in mine]):.1f}",
            f"{median([busiest_minute(r.records) for r in mine]):.0f} / {PER_MINUTE}",
            spread([r.limiter["time_waited"] for r in mine], "{:.1f}"),
            f"{median([r.throttled for r in mine]):.0f}",
        )
    top = rounds[-1][1].routes().most_common(6)
    t.notes += [
        "apply: from the start of the concurrent applies until the last returns (all active); "
        "destroy likewise.",
        "busiest minute: most requests the emulator received in any sliding 60 s window.",
        "client-side waiting: summed over requests held back by atlas's rate limiter "
        "(`RateLimiter.stats.time_waited`), so it can exceed the wall time.",
        f"Busiest routes ({copies} copies, last run): "
        + ", ".join(f"`{k}` {v}" for k, v in top)
        + ".",
    ]
    return t


def busiest_minute(records: Sequence[RequestRecord]) -> int:
    times = sorted(r.at for r in records)
    best, lo = 0, 0
    for hi, at in enumerate(times):
        while times[lo] <= at - 60.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
