"""Table 6: atlas's provisioning under other public settings, to show what would close a
missed target without guessing. Every variant is reachable by a user today:

- ``poll``: ``OpsSettings(poll_interval=...)`` (or ``$DIGITALOCEAN_POLL_INTERVAL``);
- ``split``: the N droplets written as 8 resources instead of one, so the executor creates
  them side by side (it runs up to 8 independent resources at once) instead of one batch of
  ten after another; it stands in for concurrent batch creates inside one resource.
"""

from __future__ import annotations

import math

from benchmarks.harness import Table, median, spread
from benchmarks.provisioning import Run, measure

#: label, poll interval (None: the default), the fleet split into 8 resources
VARIANTS: tuple[tuple[str, float | None, bool], ...] = (
    ("default (one resource, poll 1 s)", None, False),
    ("poll 0.5 s", 0.5, False),
    ("poll 2 s", 2.0, False),
    ("8 resources (concurrent creates)", None, True),
    ("8 resources, poll 0.5 s", 0.5, True),
)
SIZES = (100, 500)


def run_all(runs: int, *, boot: float) -> dict[tuple[str, int], list[Run]]:
    results: dict[tuple[str, int], list[Run]] = {}
    for i in range(1, runs + 1):
        for n in SIZES:
            for label, poll, split in VARIANTS:
                per = math.ceil(n / 8) if split else None
                run = measure("atlas", n, boot=boot, poll=poll, split=per)
                print(
                    f"  run {i}/{runs}  N={n:<4} {label:<34} active {run.active_s:6.2f} s  "
                    f"calls {run.calls:4d}  429s {run.throttled}",
                    flush=True,
                )
                results.setdefault((label, n), []).append(run)
    return results


def table(results: dict[tuple[str, int], list[Run]], boot: float) -> Table:
    runs = len(next(iter(results.values())))
    t = Table(
        f"6. What would close the gaps: atlas under other public settings, L = {boot:g} s "
        f"- median (min-max) of {runs} run{'s' * (runs > 1)}",
        ["N", "variant", "all active ÷ L", "÷ rate-limit floor", "calls / droplet", "429s"],
    )
    for n in SIZES:
        for label, *_ in VARIANTS:
            mine = results[(label, n)]
            t.add(
                n,
                label,
                spread([r.active_s / boot for r in mine]),
                spread([r.active_s / r.floor for r in mine]),
                spread([r.per_droplet for r in mine], "{:.3f}"),
                f"{median([r.throttled for r in mine]):.0f}",
            )
    t.notes.append(
        "Not targets in themselves: evidence for the library changes recommended in "
        "benchmarks/README.md."
    )
    return t
